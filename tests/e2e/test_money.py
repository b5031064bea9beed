"""Layer 3, money: the bank invariant under thousands of concurrent charges and confirms,
double-click confirms, idempotent replays and the balance cache staying coherent under reads.
Users: 101..200 (invariant), 301 (double click), 311..325 (idempotency), 331..332 (cache)."""
from __future__ import annotations

import json
import random
import subprocess
import threading
import time

import pytest

from helpers import Client, hold_seat, Db, assert_problem, new_key, queue_token, run_parallel

pytestmark = pytest.mark.usefixtures("fresh_data")

CONCERT = 1
SCHEDULE = 1


def buy(client: Client, user: int, seat: int, key: str | None = None):
    """Hold and confirm one seat of schedule 1; returns (hold response, confirm response)."""
    hold = hold_seat(client, user, SCHEDULE, seat, CONCERT)
    assert hold.status == 201, hold
    return hold, client.confirm(user, hold.json()["reservationId"], key)


def ledger_sum(db: Db, user: int, entry_type: str | None = None) -> int:
    cond = f" AND entry_type = '{entry_type}'" if entry_type else ""
    return db.int(f"SELECT COALESCE(SUM(amount), 0) FROM wallet_ledger WHERE user_id = {user}{cond}")


def count(db: Db, sql: str) -> int:
    return db.int(f"SELECT COUNT(*) FROM {sql}")



# ---- (a) the bank invariant ---------------------------------------------------------------


@pytest.mark.slow
def test_bank_invariant_under_concurrent_charges_and_confirms(client: Client, db: Db) -> None:
    users = list(range(101, 201))
    seats = list(range(1, 601))                 # schedule 1, six seats per user
    rng = random.Random(20260101)
    ops: list[tuple] = []
    for i, user in enumerate(users):
        ops += [("charge", user, rng.randrange(10_000, 150_001, 1000)) for _ in range(20)]
        ops += [("buy", user, seat) for seat in seats[i * 6:(i + 1) * 6]]
    rng.shuffle(ops)

    def run(op: tuple):
        if op[0] == "charge":
            return op, client.charge(op[1], op[2]), None
        hold, confirm = buy(client, op[1], op[2])
        return op, confirm, hold

    started = time.monotonic()
    results = run_parallel(run, ops, threads=48)
    elapsed = time.monotonic() - started

    charged: dict[int, int] = {u: 0 for u in users}
    paid: dict[int, int] = {u: 0 for u in users}
    n_charges = n_payments = 0
    confirm_statuses: dict[int, int] = {}
    for op, r, hold in results:
        if op[0] == "charge":
            assert r.status == 200, (op, r)
            assert r.json()["userId"] == op[1]
            charged[op[1]] += op[2]
            n_charges += 1
            continue
        confirm_statuses[r.status] = confirm_statuses.get(r.status, 0) + 1
        if r.status == 200:
            doc = r.json()
            assert doc["status"] == "CONFIRMED" and doc["amount"] == hold.json()["price"], r
            assert doc["reservationId"] == hold.json()["reservationId"]
            paid[op[1]] += doc["amount"]
            n_payments += 1
        else:
            # Too poor at that moment, or (only under a very slow run) the 3 s hold expired.
            assert r.status in (402, 409), (op, r)
            assert_problem(r, r.status)
    assert n_charges == 2000
    assert confirm_statuses.get(200, 0) >= len(seats) // 2, (confirm_statuses, elapsed)

    ids = ",".join(map(str, users))
    # Per user: balance == charges - payments == ledger sum, and never negative.
    rows = db.rows(
        f"SELECT w.user_id, w.balance,"
        f" (SELECT COALESCE(SUM(amount),0) FROM wallet_ledger l WHERE l.user_id = w.user_id),"
        f" (SELECT COALESCE(SUM(amount),0) FROM wallet_ledger l WHERE l.user_id = w.user_id"
        f"   AND entry_type = 'CHARGE'),"
        f" (SELECT COALESCE(SUM(amount),0) FROM payments p WHERE p.user_id = w.user_id)"
        f" FROM wallets w WHERE w.user_id IN ({ids})")
    assert len(rows) == len(users)
    for user_s, balance_s, ledger_s, charges_s, payments_s in rows:
        user, balance, ledger, charges, payments = map(int, (user_s, balance_s, ledger_s, charges_s, payments_s))
        assert balance >= 0, user
        assert balance == ledger, (user, balance, ledger)
        assert charges == charged[user], (user, charges, charged[user])
        assert payments == paid[user], (user, payments, paid[user])
        assert balance + payments == charges, user

    assert count(db, f"payments WHERE user_id IN ({ids})") == n_payments
    assert count(db, f"wallet_ledger WHERE user_id IN ({ids}) AND entry_type = 'CHARGE'") == n_charges
    assert count(db, f"wallet_ledger WHERE user_id IN ({ids}) AND entry_type = 'PAYMENT'") == n_payments
    # One event per money movement, written in the same transaction.
    assert count(db, f"outbox WHERE aggregate_id IN ({ids}) AND event_type = 'PaymentCompleted'") \
        == n_payments
    assert count(db, f"outbox WHERE aggregate_id IN ({ids}) AND event_type = 'WalletCharged'") \
        == n_charges
    assert db.int(f"SELECT COALESCE(SUM(JSON_VALUE(payload, '$.amount')), 0) FROM outbox"
                  f" WHERE aggregate_id IN ({ids}) AND event_type = 'WalletCharged'") \
        == sum(charged.values())
    assert db.int(f"SELECT COALESCE(SUM(JSON_VALUE(payload, '$.amount')), 0) FROM outbox"
                  f" WHERE aggregate_id IN ({ids}) AND event_type = 'PaymentCompleted'") \
        == sum(paid.values())
    assert count(db, "outbox WHERE event_id IS NULL OR event_id = ''") == 0
    assert db.int("SELECT COUNT(*) - COUNT(DISTINCT event_id) FROM outbox") == 0
    # Sold seats are exactly the paid ones, each with its confirmed reservation.
    seat_ids = f"{seats[0]} AND {seats[-1]}"
    assert count(db, f"seats WHERE id BETWEEN {seat_ids} AND status = 'SOLD'") == n_payments
    assert count(db, f"seats s JOIN reservations r ON r.id = s.reservation_id WHERE s.id BETWEEN"
                     f" {seat_ids} AND s.status = 'SOLD' AND r.status = 'CONFIRMED'") == n_payments
    db.assert_bank_invariant()
    # And the API agrees with the database for every user (the cache is coherent).
    for user in users:
        assert client.balance_of(user) == charged[user] - paid[user], user


# ---- (c) double-click confirm -------------------------------------------------------------


def test_double_click_confirm_pays_once(client: Client, db: Db) -> None:
    user, seat, clicks = 301, 701, 8
    assert client.charge(user, 1_000_000).status == 200
    hold = hold_seat(client, user, SCHEDULE, seat, CONCERT)
    assert hold.status == 201, hold
    reservation, price = hold.json()["reservationId"], hold.json()["price"]
    barrier = threading.Barrier(clicks)

    def click(_):
        barrier.wait()
        return client.confirm(user, reservation)           # a different key each click

    results = run_parallel(click, range(clicks), threads=clicks)
    statuses = sorted(r.status for r in results)
    assert statuses == [200] + [409] * (clicks - 1), results
    for r in results:
        if r.status == 409:
            assert_problem(r, 409)
    paid = next(r for r in results if r.status == 200).json()
    assert paid["balance"] == 1_000_000 - price and paid["amount"] == price
    assert client.balance_of(user) == 1_000_000 - price
    assert count(db, f"payments WHERE reservation_id = {reservation}") == 1
    assert count(db, f"wallet_ledger WHERE user_id = {user} AND entry_type = 'PAYMENT'") == 1
    assert count(db, f"outbox WHERE aggregate_id = {user} AND event_type = 'PaymentCompleted'") == 1
    assert db.value(f"SELECT status FROM seats WHERE id = {seat}") == "SOLD"
    r = client.reservation(user, reservation)
    assert r.status == 200 and r.json()["status"] == "CONFIRMED", r


# ---- (d) idempotency ------------------------------------------------------------------------


def test_charge_replay_returns_the_first_response(client: Client, db: Db) -> None:
    user, key = 311, new_key()
    first = client.charge(user, 5000, key)
    second = client.charge(user, 5000, key)
    assert first.status == second.status == 200
    assert second.body == first.body
    assert first.headers.get("idempotent-replayed") is None
    assert second.headers.get("idempotent-replayed") == "true"
    assert client.balance_of(user) == 5000
    assert count(db, f"wallet_ledger WHERE user_id = {user}") == 1
    assert count(db, f"outbox WHERE aggregate_id = {user}") == 1


def test_replay_after_later_changes_still_returns_the_first_body(client: Client) -> None:
    user, key = 312, new_key()
    first = client.charge(user, 1000, key)
    assert first.json()["balance"] == 1000
    assert client.charge(user, 2000).status == 200
    again = client.charge(user, 1000, key)
    assert (again.status, again.body) == (first.status, first.body)
    assert client.balance_of(user) == 3000


def test_same_key_with_a_different_body_is_422(client: Client, db: Db) -> None:
    user, key = 313, new_key()
    assert client.charge(user, 1000, key).status == 200
    assert_problem(client.charge(user, 1001, key), 422)
    assert client.balance_of(user) == 1000
    assert count(db, f"wallet_ledger WHERE user_id = {user}") == 1


def test_same_key_on_another_endpoint_is_422(client: Client, db: Db) -> None:
    user, key = 314, new_key()
    assert client.charge(user, 500_000, key).status == 200
    hold = hold_seat(client, user, SCHEDULE, 702, CONCERT)
    assert hold.status == 201, hold
    assert_problem(client.confirm(user, hold.json()["reservationId"], key), 422)
    assert client.balance_of(user) == 500_000
    assert count(db, f"payments WHERE user_id = {user}") == 0


def test_keys_are_scoped_per_user(client: Client) -> None:
    key = new_key()
    a = client.charge(315, 700, key)
    b = client.charge(316, 700, key)
    assert a.status == b.status == 200
    assert b.headers.get("idempotent-replayed") is None
    assert a.json()["userId"] == 315 and b.json()["userId"] == 316
    assert client.balance_of(315) == client.balance_of(316) == 700


@pytest.mark.slow
def test_concurrent_requests_with_one_key_charge_once(client: Client, db: Db) -> None:
    user, key, n = 317, new_key(), 16
    barrier = threading.Barrier(n)

    def send(_):
        barrier.wait()
        return client.charge(user, 4321, key)

    results = run_parallel(send, range(n), threads=n)
    assert {r.status for r in results} == {200}, results
    assert len({r.body for r in results}) == 1, "replays must return the first body"
    fresh = [r for r in results if r.headers.get("idempotent-replayed") != "true"]
    assert len(fresh) == 1, "exactly one request did the work"
    assert client.balance_of(user) == 4321
    assert count(db, f"wallet_ledger WHERE user_id = {user}") == 1
    assert count(db, f"outbox WHERE aggregate_id = {user}") == 1


def test_confirm_replay_returns_the_first_response(client: Client, db: Db) -> None:
    user, key = 318, new_key()
    assert client.charge(user, 300_000).status == 200
    hold, first = buy(client, user, 703, key)
    assert first.status == 200, first
    again = client.confirm(user, hold.json()["reservationId"], key)
    assert (again.status, again.body) == (200, first.body)
    assert again.headers.get("idempotent-replayed") == "true"
    assert client.balance_of(user) == 300_000 - hold.json()["price"]
    assert count(db, f"payments WHERE user_id = {user}") == 1


@pytest.mark.slow
def test_concurrent_confirms_with_one_key_pay_once(client: Client, db: Db) -> None:
    user, key, n = 319, new_key(), 12
    assert client.charge(user, 300_000).status == 200
    hold = hold_seat(client, user, SCHEDULE, 704, CONCERT)
    reservation = hold.json()["reservationId"]
    barrier = threading.Barrier(n)

    def send(_):
        barrier.wait()
        return client.confirm(user, reservation, key)

    results = run_parallel(send, range(n), threads=n)
    assert {r.status for r in results} == {200}, results
    assert len({r.body for r in results}) == 1
    assert client.balance_of(user) == 300_000 - hold.json()["price"]
    assert count(db, f"payments WHERE user_id = {user}") == 1
    assert count(db, f"outbox WHERE aggregate_id = {user} AND event_type = 'PaymentCompleted'") == 1


def test_a_replayed_402_stays_402_and_a_new_key_pays(client: Client, db: Db) -> None:
    user, key = 320, new_key()
    hold = hold_seat(client, user, SCHEDULE, 705, CONCERT)
    assert hold.status == 201, hold
    reservation = hold.json()["reservationId"]
    poor = client.confirm(user, reservation, key)
    assert_problem(poor, 402)
    assert db.value(f"SELECT status FROM seats WHERE id = 705") == "HELD"
    assert count(db, f"payments WHERE user_id = {user}") == 0
    assert client.charge(user, 200_000).status == 200
    again = client.confirm(user, reservation, key)
    assert (again.status, again.body) == (402, poor.body)
    paid = client.confirm(user, reservation)
    assert paid.status == 200, paid
    assert client.balance_of(user) == 200_000 - hold.json()["price"]


def test_confirm_of_an_unknown_reservation_is_404_and_moves_nothing(client: Client, db: Db) -> None:
    user = 321
    assert client.charge(user, 10_000).status == 200
    assert_problem(client.confirm(user, 987_654_321), 404)
    assert client.balance_of(user) == 10_000
    assert count(db, f"wallet_ledger WHERE user_id = {user}") == 1


def test_charge_over_the_balance_cap_is_refused_and_moves_nothing(client: Client, db: Db) -> None:
    user = 322
    cap = int(db.env.get("TICKETING_MAX_BALANCE", "1000000000000"))
    # Reaching the cap through the API takes 100,000 maximal charges: start the wallet near it
    # (with its ledger row, so the bank invariant still holds).
    db.rows(f"UPDATE wallets SET balance = {cap - 5}, version = version + 1 WHERE user_id = {user};"
            f" INSERT INTO wallet_ledger (user_id, entry_type, amount, balance_after, created_at)"
            f" VALUES ({user}, 'CHARGE', {cap - 5}, {cap - 5}, UTC_TIMESTAMP(3))")
    before = db.snapshot()
    r = client.charge(user, 10)
    assert_problem(r, 409)
    after = db.snapshot()
    for name in ("wallet_sum", "wallet_versions", "ledger", "outbox"):
        assert after[name] == before[name], name
    assert client.charge(user, 5).status == 200
    assert client.balance_of(user) == cap


# ---- (f) cache coherence --------------------------------------------------------------------


@pytest.mark.slow
def test_balance_reads_see_every_acknowledged_change(client: Client, db: Db) -> None:
    user, readers = 331, 8
    stop = threading.Event()
    charges_done = threading.Event()
    seen: list[list[tuple[bool, int]]] = [[] for _ in range(readers)]
    errors: list[str] = []

    def read(i: int) -> None:
        while not stop.is_set():
            in_charge_phase = not charges_done.is_set()
            r = client.balance(user)
            if r.status != 200:
                errors.append(repr(r))
                return
            seen[i].append((in_charge_phase, r.json()["balance"]))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    for t in threads:
        t.start()
    acked = [0]
    try:
        # Charges only: the balance only grows, so no reader may ever see it go down.
        for i in range(40):
            r = client.charge(user, 100_000 + i)
            assert r.status == 200, r
            acked.append(r.json()["balance"])
            assert client.balance_of(user) == acked[-1], f"stale balance after charge {i}"
        charges_done.set()
        # Then confirms: every acknowledged debit is visible at once.
        for seat in range(720, 730):
            _, r = buy(client, user, seat)
            assert r.status == 200, r
            acked.append(r.json()["balance"])
            assert client.balance_of(user) == acked[-1], f"stale balance after paying seat {seat}"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert sum(len(v) for v in seen) >= 200, "the readers barely ran"
    allowed = set(acked)
    for values in seen:
        balances = [b for _, b in values]
        assert set(balances) <= allowed, f"a reader saw balances that never existed: {set(balances) - allowed}"
        growing = [b for in_charges, b in values if in_charges]
        assert growing == sorted(growing), "a reader saw the balance go back during charges"
    assert int(db.value(f"SELECT balance FROM wallets WHERE user_id = {user}")) == acked[-1]


def test_balance_is_right_after_its_cache_entry_vanishes(client: Client, stack, db: Db) -> None:
    user = 332
    assert client.charge(user, 12_345).status == 200
    assert client.balance_of(user) == 12_345
    deleted = subprocess.run(["redis-cli", "-h", stack.env.get("TICKETING_REDIS_HOST", "127.0.0.1"),
                              "-p", stack.env["TICKETING_REDIS_PORT"], "DEL", f"bal:{user}"],
                             capture_output=True, text=True)
    assert deleted.returncode == 0, deleted.stderr
    assert client.balance_of(user) == 12_345
    assert client.charge(user, 5).status == 200
    assert client.balance_of(user) == 12_350
