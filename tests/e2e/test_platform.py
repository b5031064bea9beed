"""Layer 1 through nginx: catalog shape, operations endpoints, metrics, request ids and the
problem+json answers of the gateway and the workers."""
from __future__ import annotations

import re

import pytest

from helpers import (Client, Db, Stack, assert_problem, fcgi_request, make_jwt, new_key,
                     parse_prometheus, pool_metrics, run_parallel, wait_until)

pytestmark = pytest.mark.usefixtures("fresh_data")

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ---- catalog ----------------------------------------------------------------------------


def catalog_window(stack: Stack) -> float:
    """The per-process catalog cache window, plus slack: after the module's reset, every worker
    shows the fresh data within it."""
    return int(stack.env.get("TICKETING_CATALOG_CACHE_MS", "1000")) / 1000 + 3


def test_concert_shape(client: Client, stack: Stack) -> None:
    def all_available():
        r = client.get("/api/concerts/1")
        return r if all(s["seatsAvailable"] == s["seatsTotal"] for s in r.json()["schedules"]) else None

    r = wait_until(all_available, catalog_window(stack), 0.05, "the catalog to show the reset data")
    assert r.status == 200, r
    assert r.content_type.startswith("application/json")
    doc = r.json()
    assert doc["id"] == 1 and isinstance(doc["title"], str) and doc["title"]
    assert [s["id"] for s in doc["schedules"]] == [1, 2]
    for s in doc["schedules"]:
        assert set(s) >= {"id", "startsAt", "seatsTotal", "seatsAvailable"}
        assert RFC3339.match(s["startsAt"]), s
        assert isinstance(s["seatsTotal"], int) and isinstance(s["seatsAvailable"], int)
        assert 0 <= s["seatsAvailable"] <= s["seatsTotal"]
    by_id = {s["id"]: s for s in doc["schedules"]}
    assert by_id[1]["seatsTotal"] >= 1000 and by_id[1]["seatsAvailable"] == by_id[1]["seatsTotal"]
    assert by_id[2]["seatsTotal"] == 100


def test_seat_map_shape(client: Client, stack: Stack, db: Db) -> None:
    def all_available():
        r = client.get("/api/concerts/1/schedules/1/seats")
        return r if {s["status"] for s in r.json()["seats"]} == {"AVAILABLE"} else None

    r = wait_until(all_available, catalog_window(stack), 0.05, "the seat map to show the reset data")
    assert r.status == 200, r
    doc = r.json()
    assert doc["scheduleId"] == 1
    seats = doc["seats"]
    assert len(seats) == db.int("SELECT COUNT(*) FROM seats WHERE schedule_id = 1")
    for seat in seats:
        assert set(seat) >= {"id", "price", "status"}
        assert isinstance(seat["id"], int) and isinstance(seat["price"], int) and seat["price"] > 0
        assert seat["status"] in ("AVAILABLE", "HELD", "SOLD")
    assert {s["status"] for s in seats} == {"AVAILABLE"}
    assert len({s["id"] for s in seats}) == len(seats)


def test_seat_map_of_a_schedule_of_another_concert_is_404(client: Client) -> None:
    assert_problem(client.get("/api/concerts/1/schedules/3/seats"), 404)
    assert client.get("/api/concerts/2/schedules/3/seats").status == 200


# ---- operations -------------------------------------------------------------------------


def test_health(client: Client) -> None:
    r = client.get("/health")
    assert r.status == 200, r
    assert r.json()["status"] == "ok"


def test_ready(client: Client) -> None:
    r = client.get("/ready")
    assert r.status == 200, r
    doc = r.json()
    assert doc.get("mysql") == "up" and doc.get("redis") == "up", doc


def test_metrics_is_prometheus_text_with_required_families(client: Client) -> None:
    r = client.get("/metrics")
    assert r.status == 200, r
    assert r.content_type.startswith("text/plain"), r.content_type
    m = parse_prometheus(r.body.decode())
    assert m.types.get("ticketing_http_requests_total") == "counter"
    assert m.types.get("ticketing_http_request_duration_seconds") == "histogram"
    for name in ("ticketing_worker_restarts_total", "ticketing_db_errors_total",
                 "ticketing_redis_errors_total"):
        assert m.types.get(name) == "counter", name
        assert m.value(name) is not None and m.value(name) >= 0, name
    for name in ("ticketing_outbox_backlog", "ticketing_outbox_oldest_pending_age_seconds"):
        assert m.types.get(name) == "gauge", name
        assert m.value(name) is not None and m.value(name) >= 0, name


def test_metrics_count_requests_per_route_and_status(client: Client, stack: Stack) -> None:
    def counts(route: str, status: str) -> float:
        return sum(pool_metrics(stack, p).value("ticketing_http_requests_total", route=route,
                                                status=status) or 0
                   for p in range(1, stack.pools + 1))

    before_ok, before_404 = counts("concert", "200"), counts("concert", "404")
    for _ in range(10):
        assert client.get("/api/concerts/1").status == 200
    for _ in range(3):
        assert client.get("/api/concerts/77").status == 404
    assert counts("concert", "200") - before_ok == 10
    assert counts("concert", "404") - before_404 == 3


def test_metrics_histograms_are_cumulative(client: Client, stack: Stack) -> None:
    client.get("/api/concerts/1")
    for pool in range(1, stack.pools + 1):
        m = pool_metrics(stack, pool)
        routes = {l["route"] for n, l, _ in m.samples
                  if n == "ticketing_http_request_duration_seconds_bucket"}
        assert {"concert", "seats", "balance", "charge", "confirm", "temporary_assign"} <= routes
        for route in routes:
            buckets = [(float(l["le"]), v) for n, l, v in m.samples
                       if n == "ticketing_http_request_duration_seconds_bucket" and l["route"] == route]
            assert buckets[-1][0] == float("inf"), route
            assert [b for b, _ in buckets] == sorted(b for b, _ in buckets), route
            values = [v for _, v in buckets]
            assert values == sorted(values), f"buckets of {route} are not cumulative"
            count = m.value("ticketing_http_request_duration_seconds_count", route=route)
            assert count == values[-1], route
            assert m.value("ticketing_http_request_duration_seconds_sum", route=route) >= 0


def test_outbox_backlog_gauge_matches_the_table(client: Client, stack: Stack, db: Db) -> None:
    assert client.charge(1, 1000).status == 200
    pending_before = db.int("SELECT COUNT(*) FROM outbox WHERE status = 'PENDING'")
    backlog = pool_metrics(stack, 1).value("ticketing_outbox_backlog")
    pending_after = db.int("SELECT COUNT(*) FROM outbox WHERE status = 'PENDING'")
    # A relay may publish meanwhile: the gauge lies between the two readings.
    assert pending_after <= backlog <= pending_before


# ---- request ids ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/api/concerts/1", "/api/nope", "/nope.html",
                                  "/api/wallet/1/balance"])
def test_every_response_has_a_generated_request_id(client: Client, path: str) -> None:
    r = client.get(path)
    rid = r.headers.get("x-request-id", "")
    assert re.fullmatch(r"[0-9a-f]{32}", rid), (path, r.status, rid)


def test_request_ids_are_unique(client: Client) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize("path", ["/health", "/api/concerts/999", "/nope.html"])
def test_valid_client_request_id_is_echoed(client: Client, path: str) -> None:
    rid = "e2e-Req.42_" + new_key()[-12:]
    r = client.get(path, headers={"X-Request-Id": rid})
    assert r.headers.get("x-request-id") == rid, r.headers


@pytest.mark.parametrize("bad", ["has space", "semi;colon", "x" * 65, "quote\"d", "ünïcode"])
def test_unsafe_client_request_id_is_replaced(client: Client, bad: str) -> None:
    r = client.get("/health", headers={"X-Request-Id": bad.encode("utf-8").decode("latin-1")})
    assert r.status == 200
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers.get("x-request-id", "")), r.headers


# ---- problem+json -----------------------------------------------------------------------


def test_unknown_api_route_is_404_problem(client: Client) -> None:
    assert_problem(client.get("/api/no/such/route"), 404)


def test_unknown_static_path_is_404_problem_from_nginx(client: Client) -> None:
    assert_problem(client.get("/definitely-not-here.html"), 404)


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/api/concerts/1", "GET"),
    ("DELETE", "/api/concerts/1/schedules/1/seats", "GET"),
    ("GET", "/api/wallet/1/charge", "POST"),
    ("PUT", "/api/wallet/1/balance", "GET"),
    ("GET", "/api/reservations/confirm", "POST"),
    ("GET", "/api/reservations/temporary-assign", "POST"),
    ("POST", "/health", "GET"),
])
def test_wrong_method_is_405_with_allow(client: Client, method: str, path: str, allow: str) -> None:
    r = client.request(method, path, raw=b"{}" if method in ("POST", "PUT") else None, user=1)
    assert_problem(r, 405)
    assert allow in [m.strip() for m in r.headers.get("allow", "").split(",")], r.headers


def test_malformed_json_is_400_problem(client: Client) -> None:
    r = client.post("/api/wallet/1/charge", raw=b'{"amount": 10', user=1, key=new_key())
    assert_problem(r, 400)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "multipart/form-data; boundary=x"])
def test_non_json_body_is_415_problem(client: Client, content_type: str | None) -> None:
    r = client.post("/api/wallet/1/charge", raw=b'{"amount": 10}', content_type=content_type,
                    user=1, key=new_key())
    assert_problem(r, 415)


def test_json_with_charset_is_accepted(client: Client) -> None:
    r = client.post("/api/wallet/2/charge", raw=b'{"amount": 10}',
                    content_type="application/json; charset=utf-8", user=2, key=new_key())
    assert r.status == 200, r


def test_body_over_the_worker_limit_is_413_problem(client: Client) -> None:
    body = b'{"amount": 10, "pad": "' + b"x" * 20_000 + b'"}'
    assert 16 * 1024 < len(body) < 64 * 1024
    r = client.post("/api/wallet/1/charge", raw=body, user=1, key=new_key())
    assert_problem(r, 413)


def test_body_over_the_nginx_limit_is_413_problem(client: Client) -> None:
    body = b'{"amount": 10, "pad": "' + b"x" * 70_000 + b'"}'
    r = client.post("/api/wallet/1/charge", raw=body, user=1, key=new_key(), fresh=True)
    assert_problem(r, 413)


def test_direct_fastcgi_body_over_limit_is_413(stack: Stack) -> None:
    # The worker's own limit, without nginx in front: CONTENT_LENGTH alone decides.
    r = fcgi_request(stack.pool_socket(1), "POST", "/api/wallet/1/charge", body=b"x" * 17_000)
    assert r.status == 413
    assert r.headers["content-type"] == "application/problem+json"


# ---- throttling -------------------------------------------------------------------------


def test_a_flood_from_one_token_is_throttled_with_429_problem(client: Client, stack: Stack) -> None:
    token = "Bearer " + make_jwt(stack.secret, "3")
    n = 120

    def send(_):
        # amount 0 is refused by the worker (400): nothing moves whichever way this goes.
        return client.post("/api/wallet/3/charge", {"amount": 0}, token=token, key=new_key())

    results = run_parallel(send, range(n), threads=24)
    statuses = {r.status for r in results}
    assert statuses <= {400, 429}, statuses
    throttled = [r for r in results if r.status == 429]
    assert throttled, "120 writes at once with one token were not throttled"
    for r in throttled[:5]:
        assert_problem(r, 429)
        assert int(r.headers.get("retry-after", "0")) >= 1, r.headers
    # Another user's requests are not affected.
    assert client.charge(4, 10).status == 200
