"""Fixtures of the outbox tests: the real MariaDB and Kafka of a running stack.

Run with the stack's settings in the environment:
    source <stack-dir>/env && python3 -m pytest -q tests/outbox
Each test reseeds the database (scripts/seed) and gets a topic and consumer group of its own,
so nothing from an earlier test or run can leak into what it compares.
"""
import os
import signal
import subprocess
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RELAY = os.environ.get("TICKETING_RELAY_BIN", os.path.join(REPO, "build/outbox/ticketing-relay"))
CONSUMER = os.environ.get("TICKETING_CONSUMER_BIN",
                          os.path.join(REPO, "build/outbox/ticketing-consumer"))


def _require_stack():
    if "TICKETING_DB_PORT" not in os.environ or "TICKETING_KAFKA_BROKERS" not in os.environ:
        pytest.fail("source <stack-dir>/env first (TICKETING_DB_PORT, TICKETING_KAFKA_BROKERS)")


def sql(statement):
    """Runs SQL with the mariadb CLI; returns rows as lists of strings."""
    env = dict(os.environ, MYSQL_PWD=os.environ.get("TICKETING_DB_PASSWORD", "ticketing"))
    out = subprocess.run(
        ["mariadb", "-h", os.environ.get("TICKETING_DB_HOST", "127.0.0.1"),
         "-P", os.environ["TICKETING_DB_PORT"], "-u", os.environ.get("TICKETING_DB_USER", "ticketing"),
         "-N", "-B", os.environ.get("TICKETING_DB_NAME", "ticketing"), "-e", statement],
        env=env, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def pending_count():
    return int(sql("SELECT COUNT(*) FROM outbox WHERE status = 'PENDING'")[0][0])


class Proc:
    """A relay or consumer started by a test; stopped (SIGTERM, then SIGKILL) at teardown."""

    def __init__(self, binary, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen([binary], env=env, stdout=self.log, stderr=self.log)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout)
        self.log.close()
        return self.p.returncode


def _stop_stack_process(name):
    """Stops the stack's own relay or consumer (SIGTERM, wait) so that it cannot claim the rows
    the tests' relays must publish; returns whether one was running."""
    stack_dir = os.environ.get("TICKETING_STACK_DIR")
    pid_file = os.path.join(stack_dir, "run", f"{name}.pid") if stack_dir else None
    if not pid_file or not os.path.exists(pid_file):
        return False
    pid = int(open(pid_file).read().strip() or 0)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    pytest.fail(f"the stack's {name} (pid {pid}) did not stop")


@pytest.fixture(scope="session", autouse=True)
def stack_relay_paused():
    """The tests run their own relays and consumers; the stack's are stopped for the session and
    brought back by `scripts/stack up` (which starts whatever is missing) afterwards."""
    _require_stack()
    stopped = [name for name in ("relay", "consumer") if _stop_stack_process(name)]
    yield
    if stopped:
        subprocess.run([os.path.join(REPO, "scripts/stack"), "up"], check=True, capture_output=True)


@pytest.fixture
def stack(tmp_path):
    """Fresh data, a fresh topic and group; starts relays/consumers on request."""
    _require_stack()
    subprocess.run([os.path.join(REPO, "scripts/seed")], check=True, capture_output=True)
    topic = "test-outbox-" + uuid.uuid4().hex[:12]
    group = "test-outbox-" + uuid.uuid4().hex[:12]
    procs = []

    class Stack:
        def __init__(self):
            self.topic, self.group, self.tmp = topic, group, tmp_path

        def env(self, **extra):
            env = dict(os.environ, TICKETING_KAFKA_TOPIC=topic, TICKETING_CONSUMER_GROUP=group,
                       TICKETING_RELAY_METRICS_PORT="0", TICKETING_CONSUMER_METRICS_PORT="0",
                       TICKETING_LOG_LEVEL="info")
            env.update({k: str(v) for k, v in extra.items()})
            return env

        def relay(self, **extra):
            proc = Proc(RELAY, self.env(**extra), tmp_path / f"relay-{len(procs)}.log")
            procs.append(proc)
            return proc

        def consumer(self, **extra):
            proc = Proc(CONSUMER, self.env(**extra), tmp_path / f"consumer-{len(procs)}.log")
            procs.append(proc)
            return proc

    yield Stack()
    for proc in procs:
        try:
            proc.stop(signal.SIGKILL if proc.p.poll() is None else signal.SIGTERM, timeout=10)
        except Exception:  # teardown must reach every process
            proc.p.kill()
