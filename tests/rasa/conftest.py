"""Fixtures of the assistant suite: the real domain, real order stores, real servers.

Order stores are real databases: SQLite in a temporary folder, and a PostgreSQL server this
suite starts. Trackers and the in-process action runner are in tests/rasa/trackers.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.order_store import OrderStore
from tests.rasa.trackers import REPO_ROOT
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


def _postgres_bin_dir() -> Path | None:
    configured = os.environ.get("PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).parent)
    return next(
        (c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a free port, in a temporary folder, stopped afterwards.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
    Only a machine without the server binaries skips; anything else that goes wrong fails.
    """
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries are not installed (set PG_BIN)")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="harbor-orders-pg-"))
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    data_dir, log_file, port = folder / "data", folder / "server.log", free_port()
    pg_ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data_dir)]

    def run(command: list[str]) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = log_file.read_text() if log_file.exists() else ""
            pytest.fail(f"{command[len(run_as)]} failed:\n{result.stdout}{result.stderr}{log}")

    try:
        run([*run_as, str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust",
             "-U", "postgres", "--no-sync"])  # fmt: skip
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run([*pg_ctl, "-l", str(log_file), "-o", options, "-w", "-t", "60", "start"])
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data_dir / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


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
