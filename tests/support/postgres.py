"""A real PostgreSQL server for a test session: the order store's tests (Rasa environment) and
the conversation archive's (service environment) both run against one, never a mock."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.servers import free_port


def postgres_bin_dir() -> Path | None:
    configured = os.environ.get("PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).parent)
    return next(
        (c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None
    )


@contextmanager
def postgres_server(prefix: str = "harbor-pg-") -> Iterator[str]:
    """A PostgreSQL server on a free port, in a temporary folder, stopped afterwards; yields a
    SQLAlchemy URL (psycopg2) for its `postgres` database.

    PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
    Only a machine without the server binaries skips; anything else that goes wrong fails.
    """
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries are not installed (set PG_BIN)")
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix=prefix))
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
