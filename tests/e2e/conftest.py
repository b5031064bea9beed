"""Fixtures of the end-to-end suite. The stack is already running (scripts/stack up) and named by
TICKETING_STACK_DIR; its $STACK/env file gives the ports, the JWT secret and the hold TTL.
Modules that write data take `fresh_data` (one `scripts/stack reset` per module) and use
user and seat ranges of their own, so tests within a module never step on each other."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import Client, Db, Stack, load_stack_env, wait_until


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds (load, expiry, process restarts); runs by default")


@pytest.fixture(scope="session")
def stack() -> Stack:
    stack_dir = os.environ.get("TICKETING_STACK_DIR")
    if not stack_dir:
        pytest.exit("TICKETING_STACK_DIR must name a running stack (scripts/stack up)", returncode=2)
    env_file = Path(stack_dir) / "env"
    if not env_file.is_file():
        pytest.exit(f"{env_file} not found: start the stack with scripts/stack up", returncode=2)
    return Stack(Path(stack_dir).resolve(), load_stack_env(stack_dir))


@pytest.fixture(scope="session")
def client(stack: Stack) -> Client:
    c = Client(stack.http_port, stack.secret)

    def ready() -> bool:
        try:
            return c.get("/ready", fresh=True).status == 200
        except OSError:
            return False

    wait_until(ready, 30, 0.2, f"GET /ready on port {stack.http_port}")
    return c


@pytest.fixture(scope="session")
def db(stack: Stack) -> Db:
    return Db(stack.env)


@pytest.fixture(scope="module")
def fresh_data(stack: Stack, client: Client, db: Db) -> None:
    """Demo data restored once per module (users 1..1000 at balance 0, all seats AVAILABLE)."""
    stack.reset()
    assert db.int("SELECT COUNT(*) FROM wallets WHERE balance = 0") >= 1000
    assert db.int("SELECT COUNT(*) FROM seats WHERE status <> 'AVAILABLE'") == 0
