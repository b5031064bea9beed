"""At MariaDB's connection limit: the stack refuses a pools x children that cannot fit, and a pool
whose children cannot connect answers a fast 503 problem+json, never a hang.

The server side is staged on the test's own stack: max_connections goes down to 10 (MariaDB's
minimum) and client loops take every free slot, so the pools restarted meanwhile find none.
"""
import http.client
import json
import os
import signal
import subprocess
import time

GRABBERS = 12


def post_charge(stack, user, token, key):
    conn = http.client.HTTPConnection(stack.host, int(stack.port), timeout=30)
    start = time.monotonic()
    conn.request('POST', f'/api/wallet/{user}/charge', body=json.dumps({'amount': 100}),
                 headers={'Authorization': f'Bearer {token}', 'Idempotency-Key': key,
                          'Content-Type': 'application/json'})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheader('Content-Type'), body, time.monotonic() - start


def test_scale_refuses_more_connections_than_the_server_allows(stack):
    pools = stack.pools()
    max_conn = int(stack.root_sql('SELECT @@GLOBAL.max_connections').strip())
    children = max_conn // 2  # two pools of these already exceed the limit
    env = dict(stack.env, TICKETING_WORKERS=str(children))
    r = subprocess.run([os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'stack'),
                        'scale', str(pools + 2)], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert 'max_connections' in r.stderr, r.stderr
    assert f'worker-{pools + 1}' not in stack.stack('status').stdout


def test_children_without_a_connection_answer_503_fast(stack):
    pools = stack.pools()
    user = 3
    token = stack.tokens(user, user)[user]
    original = stack.root_sql('SELECT @@GLOBAL.max_connections').strip()
    before = stack.sql(f'SELECT balance FROM wallets WHERE user_id = {user}')[0][0]
    env = dict(stack.env, MYSQL_PWD=stack.env['TICKETING_DB_PASSWORD'])
    grab = (f"while true; do mariadb --no-defaults --protocol=TCP -h {stack.env['TICKETING_DB_HOST']}"
            f" -P {stack.env['TICKETING_DB_PORT']} -u {stack.env['TICKETING_DB_USER']}"
            " -e 'SELECT SLEEP(120)' >/dev/null 2>&1; sleep 0.01; done")
    grabbers = []
    try:
        stack.root_sql('SET GLOBAL max_connections = 10')
        grabbers = [subprocess.Popen(['bash', '-c', grab], env=env, start_new_session=True)
                    for _ in range(GRABBERS)]
        time.sleep(1)
        # One pool at a time: each loses its connections and restarts into a full server.
        stack.stack('restart', 'workers')
        time.sleep(0.5)
        answers = [post_charge(stack, user, token, f'limit-{time.time_ns()}-{i}') for i in range(20)]
    finally:
        for g in grabbers:
            os.killpg(g.pid, signal.SIGTERM)
            g.wait()
        stack.root_sql(f'SET GLOBAL max_connections = {original}')
        stack.stack('restart', 'workers')

    for status, ctype, body, seconds in answers:
        assert status == 503, body
        assert ctype.startswith('application/problem+json')
        assert json.loads(body)['status'] == 503
        assert seconds < 2.0, f'{seconds:.2f}s: a hang, not a fast 503'
    slowest = max(a[3] for a in answers)
    assert stack.sql(f'SELECT balance FROM wallets WHERE user_id = {user}')[0][0] == before
    # Once the slots are back, the restarted pools serve again.
    status, _, body, _ = post_charge(stack, user, token, f'limit-after-{time.time_ns()}')
    assert status == 200, body
    print(f'{len(answers)} charges at the connection limit: all 503 problem+json, slowest '
          f'{slowest * 1000:.1f} ms; {pools} pool(s) serve again after the limit is restored')
