"""Layer 2: a catalog of bad requests. Each must get the right 4xx as problem+json and change
nothing: wallets, ledger, payments, reservations, outbox, idempotency keys and seat states are
compared before and after in the database."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from helpers import Client, Db, Stack, assert_problem, make_jwt, new_key, queue_token

pytestmark = pytest.mark.usefixtures("fresh_data")

USER = 11      # the caller of every case; owns nothing
OTHER = 12
SECRET_PLACEHOLDER = "<secret>"


@dataclass
class Case:
    id: str
    method: str
    path: str
    status: int
    body: Any = None            # JSON-encoded unless raw is set
    raw: bytes | None = None
    content_type: str | None = "application/json"
    auth: str | None = "user"   # "user", None (no header), or a token kind from TOKENS
    key: str | None = "fresh"   # "fresh" = a new valid Idempotency-Key, None = no header
    xfail: str | None = None
    marks: list = field(default_factory=list)


def bad_tokens(secret: str) -> dict[str, str]:
    """Authorization header values that must all get 401."""
    other_secret = "not-the-secret-" + "x" * 20
    return {
        "missing-scheme": make_jwt(secret, str(USER)),
        "basic": "Basic dXNlcjpwYXNzd29yZA==",
        "empty-bearer": "Bearer ",
        "garbage": "Bearer not-a-jwt",
        "two-parts": "Bearer aGVsbG8.d29ybGQ",
        "four-parts": "Bearer " + make_jwt(secret, str(USER)) + ".eA",
        "expired": "Bearer " + make_jwt(secret, str(USER), ttl=-60),
        "no-exp": "Bearer " + make_jwt(secret, str(USER), ttl=None),
        "alg-none": "Bearer " + make_jwt(secret, str(USER), alg="none",
                                         header={"alg": "none", "typ": "JWT"}),
        "alg-none-signed": "Bearer " + make_jwt(secret, str(USER),
                                                header={"alg": "none", "typ": "JWT"}),
        "hs512": "Bearer " + make_jwt(secret, str(USER), alg="HS512",
                                      header={"alg": "HS512", "typ": "JWT"}),
        "bad-signature": "Bearer " + make_jwt(secret, str(USER), sign_with=other_secret),
        "tampered-sub": "Bearer " + _swap_payload(make_jwt(secret, str(USER)), str(OTHER)),
        "sub-not-numeric": "Bearer " + make_jwt(secret, "alice"),
        "sub-zero": "Bearer " + make_jwt(secret, "0"),
        "not-yet-valid": "Bearer " + make_jwt(secret, str(USER), extra={"nbf": 4_000_000_000}),
    }


def _swap_payload(token: str, sub: str) -> str:
    import base64
    head, _, sig = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": sub, "exp": 4_000_000_000}).encode())
    return f"{head}.{payload.rstrip(b'=').decode()}.{sig}"


CHARGE = f"/api/wallet/{USER}/charge"
BALANCE = f"/api/wallet/{USER}/balance"
HOLD = "/api/reservations/temporary-assign"
CONFIRM = "/api/reservations/confirm"


def amount_cases() -> list[Case]:
    values = {
        "zero": 0, "minus-one": -1, "over-max": 10_000_001, "fraction": 1.5, "string": "100",
        "null": None, "true": True, "array": [], "object": {}, "int64-overflow": 2**63,
        "int64-underflow": -(2**63) - 1, "huge-negative": -(2**62),
        "sql-drop": "1; DROP TABLE wallets", "sql-or": "1' OR '1'='1",
    }
    return [Case(f"charge-amount-{name}", "POST", CHARGE, 400, body={"amount": v})
            for name, v in values.items()]


def raw_charge_cases() -> list[Case]:
    deep_ok_size = b'{"amount":' + b"[" * 7000 + b"]" * 7000 + b"}"
    deep_10k = b'{"amount":' + b"[" * 10000 + b"]" * 10000 + b"}"
    return [
        Case("charge-amount-missing", "POST", CHARGE, 400, body={}),
        Case("charge-amount-wrong-case", "POST", CHARGE, 400, body={"Amount": 100}),
        Case("charge-body-array", "POST", CHARGE, 400, body=[{"amount": 100}]),
        Case("charge-body-number", "POST", CHARGE, 400, raw=b"100"),
        Case("charge-body-string", "POST", CHARGE, 400, raw=b'"amount"'),
        Case("charge-body-empty", "POST", CHARGE, 400, raw=b""),
        Case("charge-body-truncated", "POST", CHARGE, 400, raw=b'{"amount": 100'),
        Case("charge-body-trailing-garbage", "POST", CHARGE, 400, raw=b'{"amount": 100} x'),
        Case("charge-body-single-quotes", "POST", CHARGE, 400, raw=b"{'amount': 100}"),
        Case("charge-body-nan", "POST", CHARGE, 400, raw=b'{"amount": NaN}'),
        Case("charge-amount-hex", "POST", CHARGE, 400, raw=b'{"amount": 0x64}'),
        Case("charge-amount-leading-zero", "POST", CHARGE, 400, raw=b'{"amount": 0100}'),
        Case("charge-nesting-7000", "POST", CHARGE, 400, raw=deep_ok_size),
        Case("charge-nesting-10k", "POST", CHARGE, 413, raw=deep_10k),
        Case("charge-invalid-utf8-value", "POST", CHARGE, 400,
             raw=b'{"amount": 100, "note": "\xff\xfe"}'),
        Case("charge-invalid-utf8-key", "POST", CHARGE, 400, raw=b'{"am\xc3ount": 100}'),
        Case("charge-overlong-utf8", "POST", CHARGE, 400, raw=b'{"amount": 100, "n": "\xc0\xaf"}'),
        Case("charge-duplicate-keys", "POST", "/api/wallet/13/charge", 400, auth="user:13",
             raw=b'{"amount": 100, "amount": 200}'),
        Case("charge-huge-body", "POST", CHARGE, 413,
             raw=b'{"amount": 100, "pad": "' + b"a" * 30_000 + b'"}'),
        Case("charge-over-nginx-limit", "POST", CHARGE, 413,
             raw=b'{"amount": 100, "pad": "' + b"a" * 80_000 + b'"}'),
        Case("charge-text-plain", "POST", CHARGE, 415, body={"amount": 100}, content_type="text/plain"),
        Case("charge-no-content-type", "POST", CHARGE, 415, body={"amount": 100}, content_type=None),
        Case("charge-no-idempotency-key", "POST", CHARGE, 400, body={"amount": 100}, key=None),
        Case("charge-empty-idempotency-key", "POST", CHARGE, 400, body={"amount": 100}, key=""),
        Case("charge-key-with-space", "POST", CHARGE, 400, body={"amount": 100}, key="bad key"),
        Case("charge-key-sql", "POST", CHARGE, 400, body={"amount": 100}, key="k';DROP TABLE x;--"),
        Case("charge-key-slash", "POST", CHARGE, 400, body={"amount": 100}, key="a/b"),
        Case("charge-key-200-chars", "POST", CHARGE, 400, body={"amount": 100}, key="k" * 200),
        Case("charge-key-129-chars", "POST", CHARGE, 400, body={"amount": 100}, key="k" * 129),
        Case("charge-no-token", "POST", CHARGE, 401, body={"amount": 100}, auth=None),
        Case("charge-other-users-wallet", "POST", f"/api/wallet/{OTHER}/charge", 403,
             body={"amount": 100}),
    ]


def path_cases() -> list[Case]:
    cases = []
    for bad in ["0", "-1", "abc", "1e3", "01", "007", "1.0", "%20", "9223372036854775808",
                "99999999999999999999", "1;DROP%20TABLE%20wallets", "1'%20OR%20'1'='1"]:
        cases.append(Case(f"balance-path-{bad}", "GET", f"/api/wallet/{bad}/balance", 400))
        cases.append(Case(f"charge-path-{bad}", "POST", f"/api/wallet/{bad}/charge", 400,
                          body={"amount": 100}))
    for bad in ["0", "-1", "abc", "1e3", "01", "9223372036854775808"]:
        cases.append(Case(f"reservation-path-{bad}", "GET", f"/api/reservations/{bad}", 400))
        cases.append(Case(f"concert-path-{bad}", "GET", f"/api/concerts/{bad}", 400, auth=None))
        cases.append(Case(f"seats-schedule-path-{bad}", "GET",
                          f"/api/concerts/1/schedules/{bad}/seats", 400, auth=None))
        cases.append(Case(f"seats-concert-path-{bad}", "GET",
                          f"/api/concerts/{bad}/schedules/1/seats", 400, auth=None))
    cases += [
        Case("concert-unknown", "GET", "/api/concerts/9999", 404, auth=None),
        Case("seats-unknown-schedule", "GET", "/api/concerts/1/schedules/9999/seats", 404, auth=None),
        Case("seats-schedule-of-other-concert", "GET", "/api/concerts/2/schedules/1/seats", 404,
             auth=None),
        Case("reservation-unknown", "GET", "/api/reservations/987654321", 404),
        Case("reservation-no-token", "GET", "/api/reservations/1", 401, auth=None),
        Case("balance-no-token", "GET", BALANCE, 401, auth=None),
        Case("balance-other-user", "GET", f"/api/wallet/{OTHER}/balance", 403),
        Case("balance-unknown-wallet", "GET", "/api/wallet/500000/balance", 404, auth="user:500000"),
    ]
    return cases


def hold_cases() -> list[Case]:
    bodies = {
        "schedule-zero": {"scheduleId": 0, "seatId": 1},
        "schedule-negative": {"scheduleId": -1, "seatId": 1},
        "schedule-string": {"scheduleId": "1", "seatId": 1},
        "schedule-null": {"scheduleId": None, "seatId": 1},
        "schedule-fraction": {"scheduleId": 1.5, "seatId": 1},
        "schedule-missing": {"seatId": 1},
        "seat-missing": {"scheduleId": 1},
        "seat-zero": {"scheduleId": 1, "seatId": 0},
        "seat-overflow": {"scheduleId": 1, "seatId": 2**63},
        "seat-sql": {"scheduleId": 1, "seatId": "1' OR '1'='1"},
        "seat-array": {"scheduleId": 1, "seatId": [1]},
        "seat-bool": {"scheduleId": 1, "seatId": True},
    }
    cases = [Case(f"hold-{name}", "POST", HOLD, 400, body=b) for name, b in bodies.items()]
    cases += [
        Case("hold-malformed", "POST", HOLD, 400, raw=b'{"scheduleId":1,'),
        Case("hold-text-plain", "POST", HOLD, 415, body={"scheduleId": 1, "seatId": 1},
             content_type="text/plain"),
        Case("hold-no-token", "POST", HOLD, 401, body={"scheduleId": 1, "seatId": 1}, auth=None),
        Case("hold-unknown-schedule", "POST", HOLD, 404, body={"scheduleId": 9999, "seatId": 1}),
        Case("hold-seat-of-other-schedule", "POST", HOLD, 404, body={"scheduleId": 2, "seatId": 1}),
        Case("hold-unknown-seat", "POST", HOLD, 404, body={"scheduleId": 1, "seatId": 999999}),
    ]
    return cases


def confirm_cases() -> list[Case]:
    bodies = {
        "zero": {"reservationId": 0}, "negative": {"reservationId": -5},
        "string": {"reservationId": "abc"}, "numeric-string": {"reservationId": "1"},
        "null": {"reservationId": None}, "fraction": {"reservationId": 2.5},
        "overflow": {"reservationId": 2**63}, "missing": {}, "object": {"reservationId": {"id": 1}},
        "sql": {"reservationId": "1; DROP TABLE payments"},
    }
    cases = [Case(f"confirm-{name}", "POST", CONFIRM, 400, body=b) for name, b in bodies.items()]
    cases += [
        Case("confirm-no-idempotency-key", "POST", CONFIRM, 400, body={"reservationId": 1}, key=None),
        Case("confirm-key-200-chars", "POST", CONFIRM, 400, body={"reservationId": 1}, key="c" * 200),
        Case("confirm-key-newline", "POST", CONFIRM, 400, body={"reservationId": 1}, key="a\tb"),
        Case("confirm-no-token", "POST", CONFIRM, 401, body={"reservationId": 1}, auth=None),
        Case("confirm-form-encoded", "POST", CONFIRM, 415, raw=b"reservationId=1",
             content_type="application/x-www-form-urlencoded"),
        Case("confirm-huge-body", "POST", CONFIRM, 413,
             raw=b'{"reservationId": 1, "pad": "' + b"z" * 40_000 + b'"}'),
    ]
    return cases


def token_cases() -> list[Case]:
    kinds = ["missing-scheme", "basic", "empty-bearer", "garbage", "two-parts", "four-parts",
             "expired", "no-exp", "alg-none", "alg-none-signed", "hs512", "bad-signature",
             "tampered-sub", "sub-not-numeric", "sub-zero", "not-yet-valid"]
    cases = [Case(f"charge-token-{k}", "POST", CHARGE, 401, body={"amount": 100}, auth=k)
             for k in kinds]
    for k in ("expired", "alg-none", "hs512", "bad-signature", "no-exp"):
        cases.append(Case(f"balance-token-{k}", "GET", BALANCE, 401, auth=k))
        cases.append(Case(f"confirm-token-{k}", "POST", CONFIRM, 401, body={"reservationId": 1},
                          auth=k))
        cases.append(Case(f"hold-token-{k}", "POST", HOLD, 401,
                          body={"scheduleId": 1, "seatId": 1}, auth=k))
        cases.append(Case(f"reservation-token-{k}", "GET", "/api/reservations/1", 401, auth=k))
    return cases


CASES = amount_cases() + raw_charge_cases() + path_cases() + hold_cases() + confirm_cases() + \
    token_cases()


def _param(case: Case):
    marks = list(case.marks)
    if case.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
    return pytest.param(case, id=case.id, marks=marks)


def send(client: Client, stack: Stack, case: Case):
    headers: dict[str, str] = {}
    if case.auth == "user":
        headers["Authorization"] = f"Bearer {client.token(USER)}"
    elif case.auth and case.auth.startswith("user:"):
        headers["Authorization"] = f"Bearer {client.token(int(case.auth[5:]))}"
    elif case.auth is not None:
        headers["Authorization"] = bad_tokens(stack.secret)[case.auth]
    if case.path == HOLD and case.auth == "user":
        # Past the waiting room (when there is one), so the seat lookup decides.
        tok = queue_token(client, USER, 1)
        if tok:
            headers["X-Queue-Token"] = tok
    if case.key == "fresh":
        headers["Idempotency-Key"] = new_key()
    elif case.key is not None:
        headers["Idempotency-Key"] = case.key
    raw = case.raw
    if raw is None and case.body is not None:
        raw = json.dumps(case.body).encode()
    if raw is None and case.method == "POST":
        raw = b""
    return client.request(case.method, case.path, raw=raw, content_type=case.content_type,
                          headers=headers, fresh=len(raw or b"") > 60_000)


def test_catalog_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_request_is_rejected_and_changes_nothing(client: Client, stack: Stack, db: Db,
                                                     case: Case) -> None:
    before = db.snapshot()
    r = send(client, stack, case)
    assert_problem(r, case.status)
    assert db.snapshot() == before, f"{case.id} changed the database"


def test_the_bad_requests_left_the_users_balances_alone(client: Client) -> None:
    # Runs after the catalog (file order): the callers' wallets are still empty and readable.
    assert client.balance_of(USER) == 0
    assert client.balance_of(OTHER) == 0
