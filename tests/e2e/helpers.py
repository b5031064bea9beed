"""Shared helpers of the end-to-end suite: the stack's settings, an HTTP client through nginx,
HS256 tokens, database snapshots over the mariadb CLI, a minimal FastCGI client that talks to
one worker pool directly, a Prometheus text parser and bounded polling."""
from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import re
import shlex
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO_ROOT / "scripts" / "stack"

# ---- the stack's settings ---------------------------------------------------------------

_EXPORT_RE = re.compile(r"^export (TICKETING_[A-Z0-9_]+)=(.*)$")


def load_stack_env(stack_dir: str) -> dict[str, str]:
    """The `export NAME=value` lines of $STACK/env (values are bash %q-quoted)."""
    env: dict[str, str] = {}
    path = Path(stack_dir) / "env"
    for line in path.read_text().splitlines():
        m = _EXPORT_RE.match(line)
        if not m:
            continue
        words = shlex.split(m.group(2)) if m.group(2) else [""]
        env[m.group(1)] = words[0] if words else ""
    return env


@dataclass
class Stack:
    dir: Path
    env: dict[str, str]

    @property
    def http_port(self) -> int:
        return int(os.environ.get("TICKETING_HTTP_PORT") or self.env.get("TICKETING_HTTP_PORT", "8080"))

    @property
    def secret(self) -> str:
        return self.env["TICKETING_JWT_SECRET"]

    @property
    def hold_ttl(self) -> int:
        return int(self.env.get("TICKETING_HOLD_TTL_SECONDS", "300"))

    @property
    def pools(self) -> int:
        return int(self.env.get("TICKETING_POOLS", "1"))

    def pid_of(self, component: str) -> int | None:
        try:
            pid = int((self.dir / "run" / f"{component}.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def pool_socket(self, pool: int) -> str:
        return str(self.dir / "run" / f"worker-{pool}.sock")

    def pool_log(self, pool: int) -> Path:
        return self.dir / "logs" / f"worker-{pool}.log"

    def script_env(self) -> dict[str, str]:
        """Environment for scripts/stack: only the stack dir, so the env file supplies the rest."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
        env["TICKETING_STACK_DIR"] = str(self.dir)
        return env

    def run_script(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(STACK_SCRIPT), *args], env=self.script_env(), cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def reset(self) -> None:
        proc = self.run_script("reset")
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/stack reset failed:\n{proc.stdout}\n{proc.stderr}")


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split() if process_alive(int(p))}


# ---- bounded polling --------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05,
               what: str = "condition") -> Any:
    """Polls `predicate` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ---- tokens ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(secret: str, sub: Any, ttl: int | None = 3600, alg: str = "HS256",
             extra: dict | None = None, header: dict | None = None,
             sign_with: str | None = None) -> str:
    """A JWT; `ttl=None` leaves out exp, a negative ttl makes an expired token."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    claims: dict[str, Any] = {"sub": sub}
    if ttl is not None:
        claims["exp"] = int(time.time()) + ttl
    claims.update(extra or {})
    signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}"
    key = (sign_with if sign_with is not None else secret).encode()
    if alg == "none":
        signature = b""
    elif alg == "HS512":
        signature = hmac.new(key, signing_input.encode(), hashlib.sha512).digest()
    else:
        signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


# ---- HTTP through nginx -----------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    sent_at: float = 0.0  # time.time() when the request was sent
    received_at: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def __repr__(self) -> str:
        return f"<{self.status} {self.content_type} {self.body[:300]!r}>"


class Client:
    """HTTP/1.1 through nginx with one keep-alive connection per thread."""

    def __init__(self, port: int, secret: str, timeout: float = 15.0):
        self.port = port
        self.secret = secret
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._serial = 0

    def token(self, user_id: int) -> str:
        """A valid bearer token for the user, a new one per call (a unique jti): nginx throttles
        per Authorization header, and these tests measure correctness, not the throttle
        (test_platform covers that with one fixed token)."""
        with self._lock:
            self._serial += 1
            serial = self._serial
        return make_jwt(self.secret, str(user_id), ttl=3600, extra={"jti": f"e2e-{serial}"})

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(self, method: str, path: str, body: Any = None, *, user: int | None = None,
                token: str | None = None, key: str | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None,
                content_type: str | None = "application/json", fresh: bool = False) -> Response:
        """`body` is JSON-encoded; `raw` is sent as is. `user` adds a valid bearer token."""
        hdrs: dict[str, str] = {}
        data: bytes | None = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        if user is not None:
            hdrs["Authorization"] = f"Bearer {self.token(user)}"
        if token is not None:
            hdrs["Authorization"] = token
        if key is not None:
            hdrs["Idempotency-Key"] = key
        hdrs.update(headers or {})
        if fresh:
            self._drop()
        # A kept-alive connection nginx closed meanwhile fails on first use: retry once on a
        # new connection, but only when nothing can have reached the server (no response read).
        for attempt in range(2):
            conn = self._conn()
            reused = getattr(conn, "_e2e_used", False)
            sent_at = time.time()
            try:
                conn.request(method, path, body=data, headers=hdrs)
                resp = conn.getresponse()
                payload = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()
                if attempt == 0 and reused:
                    continue
                raise
            except Exception:
                self._drop()
                raise
            conn._e2e_used = True  # type: ignore[attr-defined]
            out = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload,
                           sent_at, time.time())
            if resp.will_close:
                self._drop()
            return out
        raise AssertionError("unreachable")

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    # ---- the API ----
    def balance(self, user: int) -> Response:
        return self.get(f"/api/wallet/{user}/balance", user=user)

    def charge(self, user: int, amount: int, key: str | None = None) -> Response:
        return self.post(f"/api/wallet/{user}/charge", {"amount": amount}, user=user,
                         key=key or new_key())

    def hold(self, user: int, schedule: int, seat: int, queue_token: str | None = None) -> Response:
        headers = {"X-Queue-Token": queue_token} if queue_token else None
        return self.post("/api/reservations/temporary-assign",
                         {"scheduleId": schedule, "seatId": seat}, user=user, headers=headers)

    def confirm(self, user: int, reservation: int, key: str | None = None) -> Response:
        return self.post("/api/reservations/confirm", {"reservationId": reservation}, user=user,
                         key=key or new_key())

    def reservation(self, user: int, reservation: int) -> Response:
        return self.get(f"/api/reservations/{reservation}", user=user)

    def seat_map(self, concert: int, schedule: int) -> dict[int, str]:
        r = self.get(f"/api/concerts/{concert}/schedules/{schedule}/seats")
        assert r.status == 200, r
        return {s["id"]: s["status"] for s in r.json()["seats"]}

    def balance_of(self, user: int) -> int:
        r = self.balance(user)
        assert r.status == 200, r
        return r.json()["balance"]


def new_key() -> str:
    return f"e2e-{uuid.uuid4()}"


def run_parallel(fn: Callable[[Any], Any], items: Iterable[Any], threads: int = 32) -> list[Any]:
    """fn over items on a thread pool, results in input order; re-raises the first error."""
    items = list(items)
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


def assert_problem(r: Response, status: int) -> dict:
    """An RFC 9457 problem of the given status, carrying X-Request-Id."""
    assert r.status == status, r
    assert r.content_type.split(";")[0].strip() == "application/problem+json", r
    assert r.headers.get("x-request-id"), f"no X-Request-Id on {r}"
    doc = json.loads(r.body)
    assert isinstance(doc, dict), r
    for name in ("type", "title", "status", "detail"):
        assert name in doc, f"problem without {name!r}: {r}"
    assert isinstance(doc["type"], str) and doc["type"], r
    assert isinstance(doc["title"], str) and doc["title"], r
    assert isinstance(doc["detail"], str), r
    assert doc["status"] == status, r
    lowered = r.body.decode(errors="replace").lower()
    for leak in ("sqlstate", "mysql", "mariadb", "traceback", "exception", "<html"):
        assert leak not in lowered, f"problem leaks {leak!r}: {r}"
    return doc


# ---- queue (waiting room) ------------------------------------------------------------------


def redis_cli(stack, *args: str) -> str:
    """redis-cli against the stack's Redis; asserts success and returns stdout."""
    cmd = ["redis-cli", "-h", stack.env.get("TICKETING_REDIS_HOST", "127.0.0.1"),
           "-p", stack.env.get("TICKETING_REDIS_PORT", "6379"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"redis-cli {args}: {proc.stderr}"
    return proc.stdout.strip()


def clear_queue(stack, concert: int) -> None:
    """DEL every q:{c}:* key of a concert (entries, sessions, bucket, the override)."""
    keys = redis_cli(stack, "--scan", "--pattern", f"q:{{{concert}}}:*").split()
    for i in range(0, len(keys), 200):
        redis_cli(stack, "DEL", *keys[i:i + 200])


def queue_token(client: Client, user: int, concert: int, timeout: float = 30.0) -> str:
    """An ACTIVE queue token for (user, concert).
    Joins and polls the status until ACTIVE, returning the token of the latest answer. A payment
    by the same user ends the session (EXPIRED) meanwhile: then it joins again."""
    latest: dict[str, str | None] = {"token": None}

    def join() -> bool:
        r = client.post("/api/queue/token", {"concertId": concert}, user=user)
        assert r.status in (200, 201), r
        doc = r.json()
        assert doc["status"] in ("WAITING", "ACTIVE"), doc
        latest["token"] = doc["token"]
        return doc["status"] == "ACTIVE"

    def active() -> bool:
        if latest["token"] is None:
            return join()
        s = client.get("/api/queue/status", user=user, headers={"X-Queue-Token": latest["token"]})
        assert s.status == 200, s
        body = s.json()
        if body["status"] == "EXPIRED":
            return join()
        latest["token"] = body.get("token", latest["token"])
        return body["status"] == "ACTIVE"

    wait_until(active, timeout, 0.1, f"queue token of user {user} to become ACTIVE")
    return latest["token"]


def hold_seat(client: Client, user: int, schedule: int, seat: int, concert: int = 1,
              attempts: int = 5) -> Response:
    """temporary-assign with an ACTIVE queue token. A payment of the same
    user ends the waiting-room session (403) while this runs: join again and retry."""
    r = client.hold(user, schedule, seat, queue_token(client, user, concert))
    for _ in range(attempts - 1):
        if r.status != 403 or b"waiting-room session has ended" not in r.body:
            break
        r = client.hold(user, schedule, seat, queue_token(client, user, concert))
    return r


# ---- the database -----------------------------------------------------------------------


class Db:
    """Queries over the mariadb CLI with the stack's TICKETING_DB_* settings."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def rows(self, sql: str) -> list[list[str]]:
        client = "mariadb"
        cmd = [client, "--no-defaults", "--protocol=TCP", "-h", self.env.get("TICKETING_DB_HOST", "127.0.0.1"),
               "-P", self.env.get("TICKETING_DB_PORT", "3307"), "-u", self.env.get("TICKETING_DB_USER", "ticketing"),
               "--batch", "--skip-column-names", "--raw", self.env.get("TICKETING_DB_NAME", "ticketing"),
               "-e", sql]
        proc_env = dict(os.environ, MYSQL_PWD=self.env.get("TICKETING_DB_PASSWORD", "ticketing"))
        proc = subprocess.run(cmd, env=proc_env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"mariadb failed: {proc.stderr.strip()}\nSQL: {sql}")
        return [line.split("\t") for line in proc.stdout.splitlines()]

    def value(self, sql: str) -> str | None:
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def int(self, sql: str) -> int:
        v = self.value(sql)
        return int(v) if v not in (None, "NULL") else 0

    def assert_bank_invariant(self) -> None:
        """Every won adds up: balances + payments = charges, and no balance below zero."""
        row = self.rows(
            "SELECT (SELECT COALESCE(SUM(balance),0) FROM wallets),"
            " (SELECT COALESCE(SUM(amount),0) FROM payments),"
            " (SELECT COALESCE(SUM(amount),0) FROM wallet_ledger WHERE entry_type='CHARGE'),"
            " (SELECT COUNT(*) FROM wallets WHERE balance < 0)")[0]
        balances, payments, charges, negative = map(int, row)
        assert balances + payments == charges, (balances, payments, charges)
        assert negative == 0, f"{negative} wallets below zero"

    def snapshot(self) -> dict[str, Any]:
        """Everything a rejected request must leave alone."""
        row = self.rows(
            "SELECT (SELECT COALESCE(SUM(balance),0) FROM wallets),"
            " (SELECT COALESCE(SUM(version),0) FROM wallets),"
            " (SELECT COUNT(*) FROM wallet_ledger), (SELECT COUNT(*) FROM payments),"
            " (SELECT COUNT(*) FROM reservations), (SELECT COUNT(*) FROM outbox),"
            " (SELECT COUNT(*) FROM idempotency_keys),"
            " (SELECT COUNT(*) FROM wallets), (SELECT COUNT(*) FROM users),"
            " (SELECT GROUP_CONCAT(CONCAT(status,'=',n) ORDER BY status) FROM"
            "   (SELECT status, COUNT(*) n FROM seats GROUP BY status) g)")[0]
        names = ["wallet_sum", "wallet_versions", "ledger", "payments", "reservations", "outbox",
                 "idempotency_keys", "wallets", "users", "seats"]
        return dict(zip(names, row))


# ---- FastCGI straight to one pool -------------------------------------------------------

_FCGI_BEGIN, _FCGI_END, _FCGI_PARAMS, _FCGI_STDIN, _FCGI_STDOUT = 1, 3, 4, 5, 6


def _fcgi_record(rtype: int, content: bytes, request_id: int = 1) -> bytes:
    return struct.pack("!BBHHBx", 1, rtype, request_id, len(content), 0) + content


def _fcgi_len(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def fcgi_request(socket_path: str, method: str, uri: str, body: bytes = b"",
                 headers: dict[str, str] | None = None, timeout: float = 10.0) -> Response:
    """One request to a pool's FastCGI socket, bypassing nginx (so it reaches that pool)."""
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "SCRIPT_NAME": uri.split("?")[0],
              "QUERY_STRING": uri.partition("?")[2], "CONTENT_LENGTH": str(len(body)),
              "CONTENT_TYPE": "application/json" if body else "", "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": "127.0.0.1", "GATEWAY_INTERFACE": "CGI/1.1"}
    for name, value in (headers or {}).items():
        params["HTTP_" + name.upper().replace("-", "_")] = value
    encoded = b"".join(_fcgi_len(len(k.encode())) + _fcgi_len(len(v.encode())) + k.encode() + v.encode()
                       for k, v in params.items())
    out = _fcgi_record(_FCGI_BEGIN, struct.pack("!HB5x", 1, 0))
    out += _fcgi_record(_FCGI_PARAMS, encoded) + _fcgi_record(_FCGI_PARAMS, b"")
    if body:
        out += _fcgi_record(_FCGI_STDIN, body)
    out += _fcgi_record(_FCGI_STDIN, b"")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sent_at = time.time()
    try:
        sock.connect(socket_path)
        sock.sendall(out)
        buf = b""
        stdout = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            done = False
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + plen:]
                if rtype == _FCGI_STDOUT:
                    stdout += content
                elif rtype == _FCGI_END:
                    done = True
            if done:
                break
    finally:
        sock.close()
    head, _, payload = stdout.partition(b"\r\n\r\n")
    hdrs: dict[str, str] = {}
    status = 200
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            hdrs[name.strip().lower()] = value.strip()
    return Response(status, hdrs, payload, sent_at, time.time())


# ---- Prometheus text --------------------------------------------------------------------

_SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? '
    r'([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))( [0-9]+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class Metrics:
    types: dict[str, str] = field(default_factory=dict)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, name: str, **labels: str) -> float | None:
        """The sum over samples of `name` whose labels include `labels` (None if none match)."""
        found = [v for n, l, v in self.samples if n == name and all(l.get(k) == x for k, x in labels.items())]
        return sum(found) if found else None


def parse_prometheus(text: str) -> Metrics:
    """Parses the text exposition format strictly: every line must be a comment or a sample."""
    m = Metrics()
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            m.types[name] = kind
            continue
        if line.startswith("#"):
            continue
        s = _SAMPLE_RE.match(line)
        assert s, f"not a Prometheus sample line: {line!r}"
        labels = dict(_LABEL_RE.findall(s.group(3) or ""))
        m.samples.append((s.group(1), labels, float(s.group(4))))
    return m


def pool_metrics(stack: Stack, pool: int) -> Metrics:
    r = fcgi_request(stack.pool_socket(pool), "GET", "/metrics")
    assert r.status == 200, r
    return parse_prometheus(r.body.decode())
