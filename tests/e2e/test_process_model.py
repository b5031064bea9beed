"""Layer 4, the process model under load: a worker child killed with SIGKILL is respawned by its
master and costs at most its in-flight request; a pool stopped with SIGTERM drains while nginx
sends new requests to the other pool, and `scripts/stack up` brings it back.
Users 701..732 (load)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest

from helpers import (Client, Db, Stack, children_of, fcgi_request, new_key, pool_metrics,
                     process_alive, wait_until)

pytestmark = [pytest.mark.usefixtures("fresh_data"), pytest.mark.slow]

POOL = 1


def child_roles(stack: Stack, pool: int) -> dict[int, str]:
    """pid -> worker|housekeeper, from the master's "child started" log lines (latest wins)."""
    roles: dict[int, str] = {}
    for line in stack.pool_log(pool).read_text(errors="replace").splitlines():
        if '"child started"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        roles[int(entry["child_pid"])] = entry["child_role"]
    return roles


def server_children(stack: Stack, pool: int) -> set[int]:
    master = stack.pid_of(f"worker-{pool}")
    assert master, f"worker-{pool} is not running"
    roles = child_roles(stack, pool)
    return {pid for pid in children_of(master) if roles.get(pid) == "worker"}


class Load:
    """Threads sending requests through nginx until stopped; every response is recorded."""

    def __init__(self, client: Client, threads: int, request):
        self.client, self.request = client, request
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.results: list[tuple[str, int, bytes]] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        n = 0
        while not self.stop_flag.is_set():
            try:
                what, r = self.request(i, n)
                outcome = (what, r.status, r.body[:200])
            except Exception as e:  # a transport error is a failed request too
                outcome = ("error", 0, repr(e).encode())
            with self.lock:
                self.results.append(outcome)
            n += 1

    def done(self) -> int:
        with self.lock:
            return len(self.results)

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def wait_for(self, more: int, timeout: float = 30) -> None:
        target = self.done() + more
        wait_until(lambda: self.done() >= target, timeout, 0.02, f"{more} more requests")

    def __exit__(self, *exc) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def failures(self) -> list:
        return [r for r in self.results if not 200 <= r[1] < 300]


def restarts(stack: Stack, pool: int) -> float:
    return pool_metrics(stack, pool).value("ticketing_worker_restarts_total") or 0


def test_a_killed_worker_child_is_respawned_and_costs_at_most_its_requests_in_flight(
        client: Client, stack: Stack) -> None:
    kills = 3
    master = stack.pid_of(f"worker-{POOL}")
    assert master, "pool 1 is not running"
    restarts_before = restarts(stack, POOL)

    def request(i: int, n: int):
        user = 701 + i
        if n % 2:
            return "balance", client.balance(user)
        return "seats", client.get("/api/concerts/1/schedules/1/seats")

    killed: list[int] = []
    with Load(client, 16, request) as load:
        load.wait_for(200)
        for _ in range(kills):
            before = server_children(stack, POOL)
            assert len(before) == int(stack.env.get("TICKETING_WORKERS", "1"))
            victim = sorted(before)[len(killed) % len(before)]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            wait_until(lambda: not process_alive(victim), 5, 0.01, f"child {victim} to die")
            replaced = wait_until(
                lambda: (lambda now: now if len(now) == len(before) and victim not in now
                         and now - before else None)(server_children(stack, POOL)),
                10, 0.02, "the master to respawn the child")
            assert len(replaced - before) == 1
            load.wait_for(200)
        assert stack.pid_of(f"worker-{POOL}") == master, "the master itself must survive"
    # A child serves one request per thread at a time: a kill loses at most those.
    threads = int(stack.env.get("TICKETING_THREADS", "1"))
    failures = load.failures()
    assert len(failures) <= kills * threads, \
        f"{len(failures)} failed of {len(load.results)}: {failures[:5]}"
    assert len(load.results) >= 800
    wait_until(lambda: restarts(stack, POOL) >= restarts_before + kills, 5, 0.05,
               "ticketing_worker_restarts_total to count the kills")
    # The respawned children serve: straight to the pool, every request succeeds.
    for _ in range(20):
        assert fcgi_request(stack.pool_socket(POOL), "GET", "/health").status == 200


def test_a_gracefully_stopped_pool_loses_no_request_and_comes_back(
        client: Client, stack: Stack, db: Db) -> None:
    if stack.pools < 2:
        pytest.skip("needs TICKETING_POOLS >= 2 (nginx fails over to the other pool)")
    master = stack.pid_of(f"worker-{POOL}")
    assert master, "pool 1 is not running"
    charged = Counter()

    def request(i: int, n: int):
        user = 711 + i
        if n % 3 == 0:
            r = client.charge(user, 100)
            if r.status == 200:
                with load.lock:
                    charged[user] += 1
            return "charge", r
        if n % 3 == 1:
            return "balance", client.balance(user)
        return "concert", client.get("/api/concerts/1")

    load = Load(client, 16, request)
    with load:
        load.wait_for(300)
        os.kill(master, signal.SIGTERM)
        grace = int(stack.env.get("TICKETING_SHUTDOWN_GRACE_SECONDS", "30"))
        wait_until(lambda: not process_alive(master), grace + 5, 0.02, "pool 1's master to exit")
        load.wait_for(500)
    failures = load.failures()
    assert failures == [], f"{len(failures)} of {len(load.results)} failed: {failures[:5]}"
    by_kind = Counter(kind for kind, *_ in load.results)
    assert by_kind["charge"] >= 100, by_kind
    # Every acknowledged charge happened exactly once.
    ids = ",".join(str(u) for u in range(711, 727))
    rows = dict(db.rows(f"SELECT user_id, COUNT(*) FROM wallet_ledger WHERE user_id IN ({ids})"
                        f" GROUP BY user_id"))
    assert {int(u): int(n) for u, n in rows.items()} == dict(charged)
    for user, n in charged.items():
        assert client.balance_of(user) == 100 * n

    proc = stack.run_script("up", timeout=180)
    if proc.returncode != 0:
        # Leave a serving stack behind for the modules that follow, then fail.
        stack.run_script("restart", f"worker-{POOL}", timeout=120)
    assert proc.returncode == 0, "scripts/stack up failed:\n" + proc.stdout + proc.stderr
    new_master = wait_until(lambda: stack.pid_of(f"worker-{POOL}"), 30, 0.1, "pool 1 to restart")
    assert new_master != master
    assert fcgi_request(stack.pool_socket(POOL), "GET", "/health").status == 200

    # nginx sends requests to both pools again (after its fail_timeout for the stopped one).
    def served(pool: int) -> float:
        return pool_metrics(stack, pool).value("ticketing_http_requests_total", route="concert") or 0

    start = {p: served(p) for p in (1, 2)}

    def both_pools_serve() -> bool:
        for _ in range(20):
            assert client.get("/api/concerts/1").status == 200
        return all(served(p) > start[p] for p in (1, 2))

    wait_until(both_pools_serve, 20, 0.2, "nginx to use both pools again")


def test_requests_waiting_on_the_database_do_not_stop_their_child_serving_others(
        stack: Stack, client: Client, db: Db) -> None:
    """Poll slots (workers/process/child.cpp): only a few threads of a child (one per CPU) wait
    for requests at a time, and a thread about to wait on the database hands its place to an
    idle one. Here more charges than the child has poll threads wait on a row lock held by
    another session, and the same child still answers /health and a cached balance at once;
    once the lock goes, every charge is applied exactly once. Users 741 (locked) and 742."""
    locked, other = 741, 742
    socket_path = stack.pool_socket(POOL)
    assert client.balance(other).status == 200  # cached from here on
    before = client.balance_of(locked)
    env = dict(os.environ, MYSQL_PWD=db.env.get("TICKETING_DB_PASSWORD", "ticketing"))
    holder = subprocess.Popen(
        ["mariadb", "--no-defaults", "--protocol=TCP", "-h", db.env.get("TICKETING_DB_HOST", "127.0.0.1"),
         "-P", db.env.get("TICKETING_DB_PORT", "3307"), "-u", db.env.get("TICKETING_DB_USER", "ticketing"),
         "--batch", "--skip-column-names", "--unbuffered", db.env.get("TICKETING_DB_NAME", "ticketing"),
         "-e", f"BEGIN; SELECT 'locked' FROM wallets WHERE user_id = {locked} FOR UPDATE;"
               " SELECT SLEEP(2.5); ROLLBACK;"],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        results: list = [None] * 4

        def charge(i: int) -> None:
            body = json.dumps({"amount": 100}).encode()
            results[i] = fcgi_request(socket_path, "POST", f"/api/wallet/{locked}/charge", body,
                                      {"Authorization": f"Bearer {client.token(locked)}",
                                       "Idempotency-Key": new_key()}, timeout=20)

        charges = [threading.Thread(target=charge, args=(i,)) for i in range(len(results))]
        for t in charges:
            t.start()
        time.sleep(0.3)  # the charges are now waiting on the lock, in the child's threads
        slowest = 0.0
        for _ in range(10):
            for method, path, user in (("GET", "/health", None),
                                       ("GET", f"/api/wallet/{other}/balance", other)):
                headers = {"Authorization": f"Bearer {client.token(user)}"} if user else {}
                started = time.monotonic()
                r = fcgi_request(socket_path, method, path, headers=headers, timeout=10)
                slowest = max(slowest, time.monotonic() - started)
                assert r.status == 200, (path, r.status, r.body)
        assert slowest < 0.5, f"a request waited {slowest:.2f} s behind the locked charges"
        assert holder.poll() is None, "the lock was released before the probes ended"
        for t in charges:
            t.join(30)
    finally:
        holder.wait(30)
    assert [r.status for r in results] == [200] * len(results), [(r.status, r.body) for r in results]
    assert client.balance_of(locked) == before + 100 * len(results)
    db.assert_bank_invariant()
