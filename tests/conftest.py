"""Fixtures shared across suites: the one real stack per test session (tests/support/stack.py),
used by the end-to-end tests and the real-stack fault tests when they run in one pytest; and
real order stores (SQLite in a temporary folder, a PostgreSQL server this session starts, a
database that is down or hangs), used by the order store's, the actions' and the console's tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orders.store import OrderStore
from tests.support.postgres import postgres_server
from tests.support.servers import free_port
from tests.support.stack import RunningStack, SilentDatabase, start_shared_stack, stop_stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test marked `stops_stack` ends the shared stack (it checks that Ctrl-C stops every
    # process), so it runs after every other test, whatever the order of the files.
    items.sort(key=lambda item: item.get_closest_marker("stops_stack") is not None)


@pytest.fixture(scope="session")
def orders_database() -> Iterator[SilentDatabase]:
    """The shared stack's order database: it accepts connections and never answers (the fault
    tests measure the apology), until a test stops it (then it is down)."""
    silent = SilentDatabase()
    silent.start()
    yield silent
    silent.stop()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, orders_database: SilentDatabase
) -> Iterator[RunningStack]:
    running = start_shared_stack(tmp_path_factory.mktemp("stack"), orders_database.port)
    yield running
    if running.process.poll() is None:
        stop_stack(running)


# ---------------------------------------------------------------------------------------------
# Order stores
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # A folder that does not exist yet: the store must create it.
    return f"sqlite:///{tmp_path / 'var' / 'orders.sqlite3'}"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[OrderStore]:
    store = OrderStore(sqlite_url, timeout_seconds=3)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the order store (tests/support/postgres.py)."""
    with postgres_server(prefix="harbor-orders-pg-") as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: a database server that is down."""
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers: a database that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stopping = threading.Event()

    def accept_forever() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stopping.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()
