"""Replicas starting together on an empty archive database: every one migrates at start
(handoff/archive/database.py), and all of them must come up, with the schema built once."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from threading import Barrier

from sqlalchemy import inspect, text

from handoff.archive.database import head_revision, migrate, open_engine
from handoff.archive.schema import metadata
from tests.support.servers import ROOT

# As many migrators as the cluster starts service replicas (deploy/kubernetes/handoff.yaml).
REPLICAS = 4


# One replica starting: its engine connected, then, on the word, the start-up migration.
REPLICA = """
import sys
from handoff.archive.database import migrate, open_engine
engine = open_engine(sys.argv[1])
engine.connect().close()
print("connected", flush=True)
sys.stdin.readline()
migrate(engine)
"""


def migrate_together(url: str) -> list[str]:
    """REPLICAS processes migrate `url`, released together once all are connected (processes,
    as replicas are: Alembic keeps its context in module globals); what each printed on
    failure, "" for each that succeeded."""
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(REPLICAS)
    ]
    try:
        for replica in replicas:
            assert replica.stdout is not None
            assert replica.stdout.readline().strip() == "connected", replica.communicate()
        for replica in replicas:
            assert replica.stdin is not None
            replica.stdin.write("go\n")
            replica.stdin.flush()
        outcomes = [replica.communicate(timeout=120) for replica in replicas]
        return [
            "" if replica.returncode == 0 else (err.strip().splitlines() or ["?"])[-1]
            for replica, (_, err) in zip(replicas, outcomes, strict=True)
        ]
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
                replica.wait()


def assert_built_once_at_head(url: str) -> None:
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert [row[0] for row in versions] == [head_revision()]
    assert set(metadata.tables) <= tables


def test_replicas_migrating_an_empty_postgresql_together_all_start(empty_postgres: str) -> None:
    # Without the lock this failed every time: all but one replica hit duplicate tables.
    errors = migrate_together(empty_postgres)
    assert errors == [""] * REPLICAS, errors
    assert_built_once_at_head(empty_postgres)


def test_replicas_sharing_a_sqlite_file_migrate_it_together(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    errors = migrate_together(url)
    assert errors == [""] * REPLICAS, errors
    assert_built_once_at_head(url)


def _connect_at_once(url: str, together: Barrier) -> str:
    """One replica's first connection to `url`, as soon as all are ready: what it raised."""
    engine = open_engine(url)
    together.wait()
    try:
        engine.connect().close()
        return ""
    except Exception as error:  # the test reports whatever a replica could not get past
        return repr(error)
    finally:
        engine.dispose()


def test_replicas_opening_a_new_sqlite_file_at_the_same_moment_all_connect(tmp_path: Path) -> None:
    # The first connection switches the file to WAL; SQLite refuses a second switch at the same
    # moment at once ("database is locked", no busy timeout). It did so in about one round in
    # ten before the switch was retried (handoff/archive/database.py).
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, context.Pool(REPLICAS) as pool:
        for round_ in range(30):
            url = f"sqlite:///{tmp_path / f'archive-{round_}.sqlite3'}"
            together = manager.Barrier(REPLICAS)
            errors = pool.starmap(_connect_at_once, [(url, together)] * REPLICAS)
            assert errors == [""] * REPLICAS, (round_, errors)


def test_a_later_start_finds_the_schema_at_head_and_changes_nothing(empty_postgres: str) -> None:
    for _ in range(2):
        engine = open_engine(empty_postgres)
        migrate(engine)
        engine.dispose()
    assert_built_once_at_head(empty_postgres)
