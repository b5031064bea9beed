"""Ticket-open spike through the waiting room: ten times the admission capacity arrives at once.

Concert 1 gets a per-concert override (admit_per_sec = A, max_active = M) for the duration of the
test, because the spike needs more seats than concert 2 has; the override and every q:{1}:* key
are deleted afterwards (and the next module's reset flushes Redis anyway). Users 1..500 arrive
within 1 s, ten times the inlet of A = 50/s (one thread each), then poll at pollAfterSeconds;
every admitted user charges, holds its own seat of schedule 1 and pays. Checks: no 5xx, every
answer to a join is WAITING/ACTIVE or a 429 with Retry-After, the admitted users' requests (status, charge, hold,
confirm) have p95 < 100 ms as nginx measures them ($request_time in the access log, matched by
X-Request-Id), never more than M sessions at once, everybody buys a seat, and the bank invariant
holds. The client-side figures are printed too (they add this test's own 500 Python threads).

The latency target is a separate test over the same run: on a shared 2-core machine another
user's compiler can take both cores, so it skips (printing the figures and the CPU the rest of the
machine used) when processes outside the stack and this test used more than half a core."""
from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from helpers import clear_queue, redis_cli, Client, Db, Response, Stack, children_of, wait_until

pytestmark = [pytest.mark.usefixtures("fresh_data"), pytest.mark.slow]

CONCERT, SCHEDULE = 1, 1
ADMIT_PER_SEC, MAX_ACTIVE = 50, 100
USERS = list(range(1, 501))             # 500 arrivals within 1 s: 10 x the inlet of A = 50/s
ARRIVAL_SECONDS = 1.0
DEADLINE_SECONDS = 50.0
OTHERS_MAX_CORES = 0.5          # the rest of the machine's CPU above which latency is not judged
RUN: dict[str, Any] = {}        # figures of the spike, for the latency test
CLK_TCK = os.sysconf("SC_CLK_TCK")


def stack_pids(stack: Stack) -> set[int]:
    pids: set[int] = set()
    for pidfile in (stack.dir / "run").glob("*.pid"):
        try:
            todo = [int(pidfile.read_text().strip())]
        except (OSError, ValueError):
            continue
        while todo:
            p = todo.pop()
            if p not in pids:
                pids.add(p)
                todo += children_of(p)
    return pids


def cpu_sample(pids: set[int]) -> tuple[float, int, int]:
    """(monotonic time, busy ticks of the machine, ticks of `pids` and of this process)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    busy = sum(vals) - vals[3] - vals[4]
    ours = 0
    for p in pids:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            ours += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    t = os.times()
    ours += int((t.user + t.system + t.children_user + t.children_system) * CLK_TCK)
    return time.monotonic(), busy, ours






def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


@pytest.fixture
def concert_override(stack: Stack) -> Any:
    clear_queue(stack, CONCERT)
    redis_cli(stack, "HSET", f"q:{{{CONCERT}}}:config", "admit_per_sec", str(ADMIT_PER_SEC),
              "max_active", str(MAX_ACTIVE))
    yield
    clear_queue(stack, CONCERT)         # concert 1 back to the stack's defaults


def test_spike_of_ten_times_the_admission_capacity(client: Client, stack: Stack, db: Db,
                                                   concert_override: None) -> None:
    seat_ids = sorted(client.seat_map(CONCERT, SCHEDULE))[:len(USERS)]
    assert len(seat_ids) == len(USERS)
    seat_of = dict(zip(USERS, seat_ids))
    lock = threading.Lock()
    lat: dict[str, list[float]] = defaultdict(list)        # admitted users' requests, seconds
    join_lat: list[float] = []
    answers: dict[str, int] = defaultdict(int)            # kinds of answers seen
    problems: list[str] = []
    admitted_at: dict[int, float] = {}
    bought: dict[int, int] = {}
    samples: list[int] = []
    stop = threading.Event()
    barrier = threading.Barrier(len(USERS) + 1)
    rng = random.Random(4)
    delays = {u: rng.uniform(0, ARRIVAL_SECONDS) for u in USERS}
    t0: list[float] = []

    request_ids: dict[str, str] = {}                      # X-Request-Id -> kind, admitted ones

    def note(kind: str, r: Response, admitted: bool) -> None:
        took = r.received_at - r.sent_at
        with lock:
            answers[f"{kind} {r.status}"] += 1
            if admitted:
                lat[kind].append(took)
                if r.headers.get("x-request-id"):
                    request_ids[r.headers["x-request-id"]] = kind
            if r.status >= 500:
                problems.append(f"{kind}: {r!r}")

    def user(u: int) -> None:
        barrier.wait(60)
        time.sleep(delays[u])
        end = t0[0] + DEADLINE_SECONDS
        token = None
        active = False
        while time.monotonic() < end and not stop.is_set():
            if token is None:
                r = client.post("/api/queue/token", {"concertId": CONCERT}, user=u)
                note("join", r, False)
                with lock:
                    join_lat.append(r.received_at - r.sent_at)
                if r.status == 429:
                    if not r.headers.get("retry-after"):
                        problems.append(f"429 without Retry-After: {r!r}")
                    time.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                if r.status not in (200, 201):
                    problems.append(f"join {u}: {r!r}")
                    return
                d = r.json()
            else:
                r = client.get("/api/queue/status", user=u, headers={"X-Queue-Token": token})
                note("status", r, active)
                if r.status != 200:
                    problems.append(f"status {u}: {r!r}")
                    return
                d = r.json()
            if d["status"] not in ("WAITING", "ACTIVE", "EXPIRED") or (token is None and d["status"] == "EXPIRED"):
                problems.append(f"user {u}: {d}")
                return
            token = d["token"]
            if d["status"] == "EXPIRED":            # left the line (polled too late): join again
                with lock:
                    answers["rejoined"] += 1
                token = None
                continue
            if d["status"] == "WAITING":
                time.sleep(d["pollAfterSeconds"])
                continue
            active = True
            with lock:
                admitted_at.setdefault(u, time.monotonic() - t0[0])
            # Admitted: a status refresh, then charge, hold and pay.
            note("status", client.get("/api/queue/status", user=u, headers={"X-Queue-Token": token}), True)
            r = client.charge(u, 150_000)
            note("charge", r, True)
            h = client.hold(u, SCHEDULE, seat_of[u], token)
            note("hold", h, True)
            if h.status != 201:
                problems.append(f"hold {u}: {h!r}")
                return
            c = client.confirm(u, h.json()["reservationId"])
            note("confirm", c, True)
            if c.status != 200:
                problems.append(f"confirm {u}: {c!r}")
                return
            with lock:
                bought[u] = seat_of[u]
            return
        problems.append(f"user {u} did not finish within {DEADLINE_SECONDS}s")

    def sample() -> None:
        while not stop.is_set():
            try:
                samples.append(int(redis_cli(stack, "ZCARD", f"q:{{{CONCERT}}}:active") or 0))
            except (AssertionError, ValueError, subprocess.SubprocessError):
                pass
            time.sleep(0.05)

    pids = stack_pids(stack)
    cpu0 = cpu_sample(pids)
    log_path = stack.dir / "logs" / "nginx-access.log"
    log_start = log_path.stat().st_size if log_path.exists() else 0
    threads = [threading.Thread(target=user, args=(u,), daemon=True) for u in USERS]
    for t in threads:
        t.start()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    barrier.wait(60)
    t0.append(time.monotonic())
    for t in threads:
        t.join(max(0.1, t0[0] + DEADLINE_SECONDS + 15 - time.monotonic()))
    stop.set()
    sampler.join(5)
    wall = time.monotonic() - t0[0]
    cpu1 = cpu_sample(pids)
    # Busy ticks include the stack, this test and redis-cli samplers (children of this process
    # once reaped); what remains is the rest of the machine.
    others_cores = max(0.0, ((cpu1[1] - cpu0[1]) - (cpu1[2] - cpu0[2])) / CLK_TCK / (cpu1[0] - cpu0[0]))

    # The same requests as nginx timed them (the access log is flushed every second).
    server: dict[str, list[float]] = defaultdict(list)

    def read_access_log() -> bool:
        server.clear()
        path = stack.dir / "logs" / "nginx-access.log"
        with open(path, errors="replace") as f:
            f.seek(max(0, log_start))
            for line in f:
                if '"request_id"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                kind = request_ids.get(entry.get("request_id", ""))
                if kind:
                    server[kind].append(float(entry["request_time"]))
        return sum(map(len, server.values())) >= len(request_ids)

    wait_until(read_access_log, 15, 0.5, "nginx to log the admitted users' requests")
    server_all = [x for v in server.values() for x in v]
    admitted_times = sorted(admitted_at.values())
    figures = {k: (len(v), pct(v, 0.5) * 1000, pct(v, 0.95) * 1000, max(v) * 1000) for k, v in lat.items()}
    all_admitted = [x for v in lat.values() for x in v]
    print(f"\n[spike] {len(USERS)} users arriving within {ARRIVAL_SECONDS}s; admit {ADMIT_PER_SEC}/s, "
          f"max active {MAX_ACTIVE}; done in {wall:.1f}s")
    print(f"[spike] answers: {dict(sorted(answers.items()))}")
    print(f"[spike] joins: p50 {pct(join_lat, 0.5) * 1000:.1f} ms, p95 {pct(join_lat, 0.95) * 1000:.1f} ms, "
          f"max {max(join_lat) * 1000:.1f} ms")
    for k, (n, p50, p95, mx) in sorted(figures.items()):
        sv = server.get(k, [])
        print(f"[spike] admitted {k:<8} n={n:<4} client p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  max {mx:6.1f} ms"
              f" | nginx p50 {pct(sv, 0.5) * 1000:6.1f} ms  p95 {pct(sv, 0.95) * 1000:6.1f} ms")
    print(f"[spike] admitted requests overall: nginx p95 {pct(server_all, 0.95) * 1000:.1f} ms, client p95 "
          f"{pct(all_admitted, 0.95) * 1000:.1f} ms; "
          f"admissions from {admitted_times[0]:.1f}s to {admitted_times[-1]:.1f}s "
          f"({len(admitted_times) / max(0.1, admitted_times[-1] - admitted_times[0]):.0f}/s); "
          f"max sampled active sessions {max(samples) if samples else '-'}; purchases {len(bought)}")
    print(f"[spike] CPU used by the rest of the machine meanwhile: {others_cores:.2f} cores")
    RUN.update(server_p95=pct(server_all, 0.95), client_p95=pct(all_admitted, 0.95),
               per_kind={k: round(pct(v, 0.95) * 1000, 1) for k, v in server.items()},
               others_cores=others_cores)

    assert not problems, problems[:10]
    assert not [k for k in answers if k.split()[-1].startswith("5")], answers
    assert len(bought) == len(USERS), f"{len(USERS) - len(bought)} users did not buy"
    assert samples and max(samples) <= MAX_ACTIVE, max(samples)
    # Admissions follow the inlet: not faster than A/s plus one banked second.
    assert admitted_times[-1] >= (len(USERS) - 2 * ADMIT_PER_SEC) / ADMIT_PER_SEC * 0.9
    # The database agrees: every seat sold once, every user paid once, the bank balances.
    ids = ",".join(map(str, seat_ids))
    assert db.int(f"SELECT COUNT(*) FROM seats WHERE id IN ({ids}) AND status = 'SOLD'") == len(USERS)
    assert db.int(f"SELECT COUNT(DISTINCT user_id) FROM payments WHERE user_id BETWEEN "
                  f"{USERS[0]} AND {USERS[-1]}") == len(USERS)
    db.assert_bank_invariant()


def test_spike_admitted_users_p95_below_100_ms() -> None:
    if "server_p95" not in RUN:
        pytest.skip("the spike did not run")
    figures = (f"nginx p95 {RUN['server_p95'] * 1000:.1f} ms {RUN['per_kind']}, client p95 "
               f"{RUN['client_p95'] * 1000:.1f} ms, rest of the machine {RUN['others_cores']:.2f} cores")
    if RUN["server_p95"] >= 0.100 and RUN["others_cores"] > OTHERS_MAX_CORES:
        pytest.skip(f"latency not judged, the machine was busy with other work: {figures}")
    assert RUN["server_p95"] < 0.100, figures
