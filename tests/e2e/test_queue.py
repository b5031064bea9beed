"""The waiting room (issue 4) against the real Redis, MariaDB and nginx of the running stack:
idempotent join, positions moving up to ACTIVE at the configured rate, no over-admission under
concurrent joins, token binding (forged, another user's, another concert's, a replaced entry),
the gate of temporary-assign, abandoned sessions and entries, and payment ending a session.

Everything runs on concert 2 (schedule 3, 50 seats) with a per-concert override
(`HSET q:{2}:config admit_per_sec N max_active M`), so concert 1 keeps the stack's defaults for
the other modules; every test starts and ends with the q:{2}:* keys deleted.
Users: 1..52 (rate), 101..300 (over-admission), 401..420 (tokens), 501..540 (idle, payment).
Seats of schedule 3 (ids 1101..1150): 1101..1109 (tokens), 1110..1119 (payment)."""
from __future__ import annotations

import base64
import json
import math
import subprocess
import threading
import time
from typing import Any

import pytest

from helpers import clear_queue, redis_cli, Client, Response, Stack, assert_problem, pool_metrics, run_parallel, wait_until

pytestmark = [pytest.mark.usefixtures("fresh_data"), pytest.mark.slow]

CONCERT = 2
SCHEDULE = 3
SEAT = 1100                 # seat ids of schedule 3 are SEAT + 1 .. SEAT + 50 (read in the fixture)
OTHER_CONCERT = 1


# ---- Redis and queue helpers (module-local: helpers.py belongs to the suite's owner) -------






def configure(stack: Stack, concert: int, admit_per_sec: int, max_active: int) -> None:
    redis_cli(stack, "HSET", f"q:{{{concert}}}:config", "admit_per_sec", str(admit_per_sec),
              "max_active", str(max_active))


def active_count(stack: Stack, concert: int = CONCERT) -> int:
    return int(redis_cli(stack, "ZCARD", f"q:{{{concert}}}:active") or 0)


def join(client: Client, user: int, concert: int = CONCERT) -> Response:
    return client.post("/api/queue/token", {"concertId": concert}, user=user)


def status(client: Client, user: int, token: str) -> Response:
    return client.get("/api/queue/status", user=user, headers={"X-Queue-Token": token})


def doc_of(r: Response, *ok: int) -> dict[str, Any]:
    assert r.status in ok, r
    d = r.json()
    assert d["status"] in ("WAITING", "ACTIVE", "EXPIRED"), d
    return d


def tamper(token: str, part: int, index: int) -> str:
    """The token with one base64url character of part `part` (0 prefix, 1 payload, 2 MAC)
    replaced: a character in the middle changes a whole byte, never only padding bits."""
    parts = token.split(".")
    s = parts[part]
    c = s[index]
    parts[part] = s[:index] + ("B" if c != "B" else "C") + s[index + 1:]
    return ".".join(parts)


@pytest.fixture(autouse=True)
def clean_concert(stack: Stack, client: Client) -> Any:
    global SEAT
    SEAT = min(client.seat_map(CONCERT, SCHEDULE)) - 1
    clear_queue(stack, CONCERT)
    yield
    clear_queue(stack, CONCERT)


# ---- 1. idempotent join; positions move up at the configured rate -----------------------


def test_join_is_idempotent_and_the_estimate_follows_the_configured_rate(client: Client, stack: Stack) -> None:
    rate = 5
    configure(stack, CONCERT, rate, 0)          # nobody admitted: positions stand still
    users = list(range(1, 13))
    first = [join(client, u) for u in users]
    for i, r in enumerate(first, 1):
        d = doc_of(r, 201)
        assert set(d) >= {"token", "status", "position", "estimatedWaitSeconds", "pollAfterSeconds",
                          "concertId"}, d
        assert d["concertId"] == CONCERT and d["status"] == "WAITING" and "activeUntil" not in d, d
        assert d["position"] == i, d
        assert d["estimatedWaitSeconds"] >= 1, d
        assert 1 <= d["pollAfterSeconds"] <= 5, d
    again = join(client, users[6])
    assert again.status == 200, again
    a, f = again.json(), first[6].json()
    assert (a["token"], a["position"], a["status"]) == (f["token"], f["position"], "WAITING"), (a, f)
    s = doc_of(status(client, users[6], f["token"]), 200)
    assert (s["status"], s["position"]) == ("WAITING", 7), s


def test_estimate_before_admissions_uses_the_concerts_configured_rate(client: Client, stack: Stack) -> None:
    rate = 5
    configure(stack, CONCERT, rate, 0)          # nobody admitted: the configured rate applies
    for i, u in enumerate(range(41, 53), 1):
        d = doc_of(join(client, u), 201)
        assert (d["status"], d["position"]) == ("WAITING", i), d
        assert d["estimatedWaitSeconds"] == math.ceil(i / rate), d


@pytest.mark.slow
def test_positions_move_up_to_active_at_the_admission_rate(client: Client, stack: Stack) -> None:
    rate = 5
    configure(stack, CONCERT, rate, 0)
    users = list(range(1, 41))
    tokens = {u: doc_of(join(client, u), 201)["token"] for u in users}
    history: dict[int, list[tuple[float, str, int, int]]] = {u: [] for u in users}
    configure(stack, CONCERT, rate, 1000)       # open the inlet: `rate` per second
    opened = time.monotonic()

    def poll(u: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            d = doc_of(status(client, u, tokens[u]), 200)
            tokens[u] = d["token"]
            history[u].append((time.monotonic() - opened, d["status"], d["position"],
                               d["estimatedWaitSeconds"]))
            if d["status"] == "ACTIVE":
                assert d["activeUntil"] and d["pollAfterSeconds"] == 10, d
                return
            assert d["status"] == "WAITING", (u, d)
            assert d["position"] >= 1 and d["estimatedWaitSeconds"] >= 1, (u, d)
            assert 1 <= d["pollAfterSeconds"] <= 5, d
            time.sleep(d["pollAfterSeconds"])
        raise AssertionError(f"user {u} not ACTIVE after 60 s: {history[u][-3:]}")

    run_parallel(poll, users, threads=len(users))
    for u in users:
        positions = [p for _, st, p, _ in history[u] if st == "WAITING"]
        assert positions == sorted(positions, reverse=True), (u, history[u])
        assert history[u][-1][1] == "ACTIVE"
    # Once admissions are measured, the estimate is position / admissions per second over the
    # last seconds: between position / (2 x rate) and position / (rate / 3). (The very first
    # answers, before any measured second, use the configured rate.)
    measured = [(t, p, e) for u in users for t, st, p, e in history[u] if st == "WAITING" and t >= 1.5]
    assert len(measured) >= 20, history[users[-1]]
    for t, p, e in measured:
        assert p / (2 * rate) <= e <= math.ceil(p / (rate / 3)), (t, p, e)
    _, _, pos, est = history[users[-1]][1]
    # Admission cannot be faster than the bucket: `rate` banked plus `rate` per second.
    last_active = max(h[-1][0] for h in history.values())
    assert last_active >= (len(users) - 2 * rate) / rate, last_active
    print(f"\n[queue] {len(users)} users admitted at {rate}/s in {last_active:.1f}s; last in line "
          f"was at position {pos} after 1 s, estimate {est}s")


# ---- 2. no over-admission under concurrent joins ------------------------------------------


def test_no_over_admission_under_concurrent_joins(client: Client, stack: Stack) -> None:
    cap = 20
    users = list(range(101, 301))
    configure(stack, CONCERT, 10_000, cap)
    samples: list[int] = []
    sampler = subprocess.Popen(
        ["redis-cli", "-h", stack.env.get("TICKETING_REDIS_HOST", "127.0.0.1"),
         "-p", stack.env.get("TICKETING_REDIS_PORT", "6379"), "-r", "-1", "-i", "0.002",
         "ZCARD", f"q:{{{CONCERT}}}:active"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def read() -> None:
        assert sampler.stdout is not None
        for line in sampler.stdout:
            if line.strip().lstrip("-").isdigit():
                samples.append(int(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    def served() -> list[float]:
        return [pool_metrics(stack, p).value("ticketing_http_requests_total", route="queue_token") or 0
                for p in range(1, stack.pools + 1)]

    served_before = served()
    latest: dict[int, dict] = {}
    try:
        start = threading.Barrier(50)

        def go(u: int) -> None:
            if u < 151:
                start.wait(30)
            d = doc_of(join(client, u), 201)
            latest[u] = d
            for _ in range(2):
                time.sleep(0.2)
                latest[u] = doc_of(status(client, u, latest[u]["token"]), 200)

        run_parallel(go, users, threads=100)
        final = run_parallel(lambda u: doc_of(status(client, u, latest[u]["token"]), 200), users, threads=50)
    finally:
        time.sleep(0.1)
        sampler.terminate()
        sampler.wait(10)
        reader.join(10)
    n_samples = len(samples)
    joins_per_pool = [a - b for a, b in zip(served(), served_before)]
    assert sum(joins_per_pool) >= len(users), joins_per_pool
    if stack.pools > 1:
        assert all(n > 0 for n in joins_per_pool), f"not every pool served joins: {joins_per_pool}"
    assert n_samples >= 20, f"only {n_samples} ZCARD samples"
    assert max(samples) <= cap, f"ZCARD q:{{2}}:active reached {max(samples)} > {cap}"
    by_status: dict[str, list[dict]] = {}
    for d in final:
        by_status.setdefault(d["status"], []).append(d)
    assert len(by_status.get("ACTIVE", [])) == cap, {k: len(v) for k, v in by_status.items()}
    assert len(by_status.get("WAITING", [])) == len(users) - cap
    # Waiting positions are the line 1..180, each exactly once.
    assert sorted(d["position"] for d in by_status["WAITING"]) == list(range(1, len(users) - cap + 1))
    assert active_count(stack) == cap
    print(f"\n[queue] {len(users)} concurrent joins, cap {cap}: {n_samples} ZCARD samples, max "
          f"{max(samples)}; {cap} ACTIVE, {len(users) - cap} WAITING; joins per pool {joins_per_pool}")


# ---- 3. tokens -----------------------------------------------------------------------------


def test_forged_and_foreign_tokens_are_refused(client: Client, stack: Stack) -> None:
    configure(stack, CONCERT, 1000, 100)
    owner, other = 401, 402
    tok = doc_of(join(client, owner), 201)["token"]
    assert tok.startswith("q1.") and tok.count(".") == 2, tok
    payload = tok.split(".")[1]
    forged = {
        "mac byte flipped": tamper(tok, 2, 10),
        "payload byte flipped": tamper(tok, 1, 2),
        "payload of another user": "q1." + base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(
                f":{owner}:".encode(), f":{other}:".encode())).rstrip(b"=").decode() + "." + tok.split(".")[2],
        "garbage": "not-a-queue-token",
        "empty parts": "q1..",
        "a JWT": client.token(owner),
    }
    for what, bad in forged.items():
        for user in (owner, other):
            r = status(client, user, bad)
            assert_problem(r, 403)
            assert_problem(client.hold(user, SCHEDULE, SEAT + 1, bad), 403)
        assert bad != tok, what
    # Another user's genuine token: 403 for the status and for the gate.
    doc = assert_problem(status(client, other, tok), 403)
    assert "another user" in doc["detail"], doc
    assert_problem(client.hold(other, SCHEDULE, SEAT + 1, tok), 403)
    # A token of concert 1 does not open concert 2's seats.
    tok1 = doc_of(join(client, owner, OTHER_CONCERT), 200, 201)
    if tok1["status"] == "ACTIVE":
        doc = assert_problem(client.hold(owner, SCHEDULE, SEAT + 1, tok1["token"]), 403)
        assert "concert" in doc["detail"], doc
    else:
        assert_problem(client.hold(owner, SCHEDULE, SEAT + 1, tok1["token"]), 403)
    # No token at all.
    assert_problem(client.hold(owner, SCHEDULE, SEAT + 1), 403)
    # The owner with the right token holds the seat: the refusals above were about the token.
    assert client.hold(owner, SCHEDULE, SEAT + 1, tok).status == 201


def test_token_of_a_replaced_entry_reads_expired(client: Client, stack: Stack) -> None:
    configure(stack, CONCERT, 1000, 100)
    user = 403
    old = doc_of(join(client, user), 201)
    assert old["status"] == "ACTIVE", old
    assert client.charge(user, 200_000).status == 200
    held = client.hold(user, SCHEDULE, SEAT + 2, old["token"])
    assert held.status == 201, held
    paid = client.confirm(user, held.json()["reservationId"])
    assert paid.status == 200, paid
    ended = doc_of(status(client, user, old["token"]), 200)
    assert ended["status"] == "EXPIRED", ended
    doc = assert_problem(client.hold(user, SCHEDULE, SEAT + 3, old["token"]), 403)
    assert "ended" in doc["detail"], doc
    new = doc_of(join(client, user), 201)       # a new entry at the back
    assert new["token"] != old["token"] and new["status"] == "ACTIVE", new
    assert doc_of(status(client, user, old["token"]), 200)["status"] == "EXPIRED"
    assert_problem(client.hold(user, SCHEDULE, SEAT + 3, old["token"]), 403)
    assert doc_of(status(client, user, new["token"]), 200)["status"] == "ACTIVE"
    assert client.hold(user, SCHEDULE, SEAT + 3, new["token"]).status == 201


def test_waiting_user_cannot_hold_and_is_told_the_position(client: Client, stack: Stack) -> None:
    configure(stack, CONCERT, 1000, 1)
    assert doc_of(join(client, 410), 201)["status"] == "ACTIVE"
    w1 = doc_of(join(client, 411), 201)
    w2 = doc_of(join(client, 412), 201)
    assert (w1["status"], w1["position"], w2["status"], w2["position"]) == ("WAITING", 1, "WAITING", 2)
    doc = assert_problem(client.hold(412, SCHEDULE, SEAT + 5, w2["token"]), 403)
    assert "position 2" in doc["detail"], doc
    assert client.seat_map(CONCERT, SCHEDULE)[SEAT + 5] == "AVAILABLE"


# ---- 4. abandoned sessions and entries; payment ends a session ------------------------------


def idle_seconds(stack: Stack) -> int:
    return int(stack.env.get("TICKETING_QUEUE_IDLE_SECONDS", "30"))


def test_payment_ends_the_session_and_frees_the_slot(client: Client, stack: Stack) -> None:
    configure(stack, CONCERT, 1000, 1)
    payer, waiter = 501, 502
    p = doc_of(join(client, payer), 201)
    w = doc_of(join(client, waiter), 201)
    assert (p["status"], w["status"], w["position"]) == ("ACTIVE", "WAITING", 1), (p, w)
    assert client.charge(payer, 200_000).status == 200
    held = client.hold(payer, SCHEDULE, SEAT + 10, p["token"])
    assert held.status == 201, held
    assert doc_of(status(client, waiter, w["token"]), 200)["status"] == "WAITING"
    paid_at = time.monotonic()
    assert client.confirm(payer, held.json()["reservationId"]).status == 200
    assert doc_of(status(client, payer, p["token"]), 200)["status"] == "EXPIRED"

    def admitted() -> bool:
        d = doc_of(status(client, waiter, w["token"]), 200)
        w["token"] = d["token"]
        return d["status"] == "ACTIVE"

    wait_until(admitted, 10, 0.2, "the waiter to take the paid session's slot")
    # At once, not after the idle timeout of the payer's session.
    assert time.monotonic() - paid_at < 4 * idle_seconds(stack), "slot freed only by the idle timeout"
    assert client.hold(waiter, SCHEDULE, SEAT + 11, w["token"]).status == 201


def test_abandoned_sessions_and_entries_are_released(client: Client, stack: Stack) -> None:
    idle = idle_seconds(stack)
    if idle > 10:
        pytest.skip(f"TICKETING_QUEUE_IDLE_SECONDS={idle}: the stack needs a short idle time (5)")
    configure(stack, CONCERT, 1000, 2)
    gone1, gone2 = 511, 512                 # admitted, then stop acting
    quitter = 513                           # waits first in line, then stops polling
    waiters = [514, 515]                    # keep polling
    for u in (gone1, gone2):
        assert doc_of(join(client, u), 201)["status"] == "ACTIVE"
    last_seen_active = time.monotonic()
    q = doc_of(join(client, quitter), 201)
    assert (q["status"], q["position"]) == ("WAITING", 1), q
    quit_at = time.monotonic()
    toks = {}
    for i, u in enumerate(waiters, 2):
        d = doc_of(join(client, u), 201)
        assert (d["status"], d["position"]) == ("WAITING", i), d
        toks[u] = d["token"]
    moved_up: dict[int, float] = {}
    active_at: dict[int, float] = {}
    deadline = time.monotonic() + 4 * idle + 20
    while len(active_at) < len(waiters) and time.monotonic() < deadline:
        wait = 1
        for i, u in enumerate(waiters, 1):
            if u in active_at:
                continue
            d = doc_of(status(client, u, toks[u]), 200)
            toks[u] = d["token"]
            now = time.monotonic()
            if d["status"] == "ACTIVE":
                active_at[u] = now
            else:
                assert d["status"] == "WAITING", d
                assert d["position"] in (i, i + 1), (u, d)
                if d["position"] == i:
                    moved_up.setdefault(u, now)
                wait = min(wait, d["pollAfterSeconds"])
        time.sleep(wait)
    assert len(active_at) == len(waiters), f"waiters not admitted within 4 x {idle}s + 20s: {active_at}"
    # The quitter left the line after about `idle` seconds without a poll; the others moved up.
    for u in waiters:
        assert u in moved_up, f"user {u} never moved up while the quitter was gone"
        assert moved_up[u] - quit_at >= idle - 1, (u, moved_up[u] - quit_at)
    # The silent sessions ended after about 4 x idle, not before.
    for u, t in active_at.items():
        assert t - last_seen_active >= 4 * idle - 1, (u, t - last_seen_active)
    for u in (gone1, gone2):
        tok = doc_of(join(client, u), 201)     # ended: a new entry at the back
        assert tok["status"] == "WAITING", tok
    # The quitter's old token reads EXPIRED (its entry left the line).
    assert doc_of(status(client, quitter, q["token"]), 200)["status"] == "EXPIRED"
    print(f"\n[queue] idle {idle}s: quitter left after "
          f"{min(moved_up.values()) - quit_at:.1f}s, silent sessions freed after "
          f"{min(active_at.values()) - last_seen_active:.1f}s")
