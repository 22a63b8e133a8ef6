"""Fixtures of the assistant suite: the real domain, real order stores, real servers.

Order stores are real databases: SQLite in a temporary folder, and a PostgreSQL server this
suite starts. Trackers and the in-process action runner are in tests/rasa/trackers.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.order_store import OrderStore
from tests.rasa.trackers import REPO_ROOT
from tests.support.postgres import postgres_server
from tests.support.servers import free_port


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain.yml, as the action server receives it."""
    return dict(yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8")))


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
