"""A worker pool added and removed under load (scripts/stack scale) loses no request.

Threads send balance reads and charges (each with its own Idempotency-Key) through nginx while
the stack grows by one pool and shrinks back. Every answer must be 2xx, and every charge must be
in the database exactly once: each user's balance moved by the sum of the charges answered 200,
and there is one idempotency key per charge.
"""
import http.client
import json
import os
import threading
import time
import uuid

THREADS = 8
USERS = 40
AMOUNT = 1000


def request(stack, method, path, token, body=None, key=None):
    conn = http.client.HTTPConnection(stack.host, int(stack.port), timeout=15)
    headers = {'Authorization': f'Bearer {token}', 'Connection': 'close'}
    if body is not None:
        headers['Content-Type'] = 'application/json'
    if key:
        headers['Idempotency-Key'] = key
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def load(stack, users, tokens, run, stop, results, tid):
    n = 0
    while not stop.is_set():
        user = users[(tid + n * THREADS) % len(users)]
        n += 1
        try:
            if n % 2:
                status, _ = request(stack, 'GET', f'/api/wallet/{user}/balance', tokens[user])
                results.append(('balance', user, None, status))
            else:
                key = f'{run}-{tid}-{n}'
                status, _ = request(stack, 'POST', f'/api/wallet/{user}/charge', tokens[user],
                                    json.dumps({'amount': AMOUNT}), key)
                results.append(('charge', user, key, status))
        except OSError as e:
            results.append(('error', user, repr(e), 0))


def upstreams_seen(stack, since):
    seen = set()
    with open(os.path.join(stack.dir, 'logs', 'nginx-access.log')) as f:
        f.seek(since)
        for line in f:
            try:
                seen.add(json.loads(line)['upstream_addr'].rsplit('/', 1)[-1])
            except (ValueError, KeyError):
                pass
    return seen


def test_add_and_remove_a_pool_under_load(stack):
    pools = stack.pools()
    last_user = int(stack.sql('SELECT MAX(id) FROM users')[0][0])
    users = list(range(last_user - USERS + 1, last_user + 1))
    tokens = stack.tokens(users[0], users[-1])
    before = dict((int(u), int(b)) for u, b in stack.sql(
        f'SELECT user_id, balance FROM wallets WHERE user_id >= {users[0]}'))
    log_path = os.path.join(stack.dir, 'logs', 'nginx-access.log')
    log_start = os.path.getsize(log_path)
    run = 'scale-' + uuid.uuid4().hex[:12]

    stop, results = threading.Event(), []
    threads = [threading.Thread(target=load, args=(stack, users, tokens, run, stop, results, t))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        grow = stack.stack('scale', str(pools + 1))
        time.sleep(2)
        during = len(results)
        shrink = stack.stack('scale', str(pools))
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join()
        stack.stack('scale', str(pools), check=False)
    time.sleep(1.5)  # nginx flushes its buffered access log every second

    bad = [r for r in results if not 200 <= r[3] < 300]
    assert not bad, f'{len(bad)} of {len(results)} requests not 2xx, e.g. {bad[:5]}'
    assert during > 100 and len(results) > during, (grow.stdout, shrink.stdout)
    new_pool = f'worker-{pools + 1}.sock'
    assert new_pool in upstreams_seen(stack, log_start), 'the added pool served nothing'

    charged = {}
    for kind, user, _, _ in results:
        if kind == 'charge':
            charged[user] = charged.get(user, 0) + AMOUNT
    after = dict((int(u), int(b)) for u, b in stack.sql(
        f'SELECT user_id, balance FROM wallets WHERE user_id >= {users[0]}'))
    for user in users:
        assert after[user] - before[user] == charged.get(user, 0), f'user {user}'
    charges = sum(1 for r in results if r[0] == 'charge')
    keys = int(stack.sql(f"SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE '{run}-%'")[0][0])
    assert keys == charges
    print(f'{len(results)} requests ({charges} charges) while scaling {pools} -> {pools + 1} -> '
          f'{pools} pools: all 2xx, every charge applied once')
