"""Layer 3, authorization: every user-scoped endpoint refuses another user's token (403) and a
missing one (401), and a refused request moves nothing. Users 601..604, seats 1041..1042."""
from __future__ import annotations

import itertools

import pytest

from helpers import Client, hold_seat, Db, assert_problem, new_key, queue_token

pytestmark = pytest.mark.usefixtures("fresh_data")

OWNER, INTRUDER = 601, 602
CONCERT, SCHEDULE = 1, 2
_next_seat = itertools.count(1041)


@pytest.fixture
def owned(client: Client) -> dict:
    """OWNER has money and a fresh hold (its own seat: holds last only seconds in the test stack)."""
    assert client.charge(OWNER, 200_000).status == 200
    seat = next(_next_seat)
    hold = hold_seat(client, OWNER, SCHEDULE, seat, CONCERT)
    assert hold.status == 201, hold
    return {"reservation": hold.json()["reservationId"], "seat": seat}


def money_state(db: Db, owned: dict | None = None) -> list:
    seat = owned["seat"] if owned else 0
    return db.rows(f"SELECT (SELECT balance FROM wallets WHERE user_id = {OWNER}),"
                   f" (SELECT COUNT(*) FROM wallet_ledger), (SELECT COUNT(*) FROM payments),"
                   f" (SELECT COUNT(*) FROM outbox), (SELECT status FROM seats WHERE id = {seat})")


def test_balance_of_another_user_is_403(client: Client, owned) -> None:
    assert_problem(client.get(f"/api/wallet/{OWNER}/balance", user=INTRUDER), 403)


def test_balance_without_token_is_401(client: Client, owned) -> None:
    assert_problem(client.get(f"/api/wallet/{OWNER}/balance"), 401)


def test_charging_another_users_wallet_is_403_and_moves_nothing(client: Client, db: Db, owned) -> None:
    before = money_state(db, owned)
    r = client.post(f"/api/wallet/{OWNER}/charge", {"amount": 1000}, user=INTRUDER, key=new_key())
    assert_problem(r, 403)
    assert money_state(db, owned) == before


def test_charge_without_token_is_401(client: Client, db: Db, owned) -> None:
    before = money_state(db, owned)
    assert_problem(client.post(f"/api/wallet/{OWNER}/charge", {"amount": 1000}, key=new_key()), 401)
    assert money_state(db, owned) == before


def test_reading_another_users_reservation_is_403(client: Client, owned) -> None:
    assert_problem(client.reservation(INTRUDER, owned["reservation"]), 403)


def test_reservation_without_token_is_401(client: Client, owned) -> None:
    assert_problem(client.get(f"/api/reservations/{owned['reservation']}"), 401)


def test_confirming_another_users_reservation_is_403_and_moves_nothing(client: Client, db: Db,
                                                                      owned) -> None:
    assert client.charge(INTRUDER, 1_000_000).status == 200
    before = money_state(db, owned)
    assert_problem(client.confirm(INTRUDER, owned["reservation"]), 403)
    assert money_state(db, owned) == before
    assert client.balance_of(INTRUDER) == 1_000_000
    # The refusal spoiled nothing: the owner still pays.
    paid = client.confirm(OWNER, owned["reservation"])
    assert paid.status == 200, paid


def test_confirm_without_token_is_401(client: Client, db: Db, owned) -> None:
    before = money_state(db, owned)
    r = client.post("/api/reservations/confirm", {"reservationId": owned["reservation"]}, key=new_key())
    assert_problem(r, 401)
    assert money_state(db, owned) == before


def test_hold_without_token_is_401(client: Client, db: Db) -> None:
    before = db.snapshot()
    r = client.post("/api/reservations/temporary-assign", {"scheduleId": SCHEDULE, "seatId": 1099})
    assert_problem(r, 401)
    assert db.snapshot() == before


def test_hold_without_a_queue_token_is_403(client: Client, db: Db) -> None:
    before = db.snapshot()
    r = client.post("/api/reservations/temporary-assign", {"scheduleId": SCHEDULE, "seatId": 1099},
                    user=603)
    assert_problem(r, 403)
    assert db.snapshot() == before


def test_hold_with_another_users_queue_token_is_403(client: Client, db: Db) -> None:
    tok = queue_token(client, 604, CONCERT)
    before = db.snapshot()
    r = client.post("/api/reservations/temporary-assign", {"scheduleId": SCHEDULE, "seatId": 1098},
                    user=605, headers={"X-Queue-Token": tok})
    assert_problem(r, 403)
    assert db.snapshot() == before


def test_queue_status_with_another_users_token_is_403(client: Client) -> None:
    tok = queue_token(client, 606, CONCERT)
    assert_problem(client.get("/api/queue/status", user=607, headers={"X-Queue-Token": tok}), 403)


def test_joining_the_queue_twice_returns_the_same_entry(client: Client) -> None:
    first = client.post("/api/queue/token", {"concertId": 2}, user=608)
    again = client.post("/api/queue/token", {"concertId": 2}, user=608)
    assert (first.status, again.status) == (201, 200), (first, again)
    for r in (first, again):
        assert set(r.json()) >= {"token", "status", "position", "estimatedWaitSeconds"}
        assert r.json()["status"] in ("WAITING", "ACTIVE")
    assert again.json()["position"] == first.json()["position"]
    assert again.json()["token"] == first.json()["token"]
