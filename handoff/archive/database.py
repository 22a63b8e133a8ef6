"""Opening the archive: an engine for ARCHIVE_DATABASE_URL with its schema brought up to date.

SQLite (the default, a file under var/) and PostgreSQL (by URL) are both supported and tested.
The schema is migrated by Alembic at every start, inside one transaction, so a new release's
service brings an old archive forward before it writes to it.

Every replica migrates as it starts, and replicas start together (a rollout, four pods on an
empty database). So the migration runs under a lock that every migrator takes first, in the
same transaction: on PostgreSQL an advisory lock on a fixed key (pg_advisory_xact_lock, let go
by the commit or rollback, or when a replica dies), on SQLite the database's own write lock
(BEGIN IMMEDIATE). The first to get it migrates; the others wait, then find the schema at head
and do nothing. Without it, two replicas both ran CREATE TABLE and one failed.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The advisory lock's key: any fixed bigint, the same in every replica and release ("harbor" in
# ASCII). Only migrations take it, so it cannot block the archive's own writes.
MIGRATION_LOCK_KEY = 0x686172626F72
# A migrator waits for the lock, and a migration's statements run, under this bound rather than
# an archive write's statement_timeout (open_engine): a replica waiting behind a long migration
# must not give up after five seconds.
MIGRATION_TIMEOUT_MS = 300_000


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def open_engine(url: str, timeout_seconds: float = 5.0) -> Engine:
    """An engine whose connections give up after `timeout_seconds` (a database that is down
    must cost the archiver a retry, never a hung service)."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout_seconds})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            # ON DELETE CASCADE needs SQLite's foreign keys on; WAL lets readers (the console's
            # search) run beside the archiver's writes.
            cursor.execute("PRAGMA foreign_keys=ON")
            _write_ahead_log(cursor, time.monotonic() + timeout_seconds)
            cursor.close()

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": max(1, int(timeout_seconds)),
            "options": f"-c statement_timeout={int(timeout_seconds * 1000)}",
        }
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _write_ahead_log(cursor: Any, deadline: float) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the file to itself, and SQLite
    answers "database is locked" at once, without its busy timeout, when another connection
    switches it at the same moment: replicas starting together on a new file. So it is
    retried until the connection's own deadline."""
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is there). Safe to run from
    several processes at once: one migrates, the others wait and find it done."""
    config = alembic_config()
    with engine.begin() as connection:
        hold_migration_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def hold_migration_lock(connection: Connection) -> None:
    """Take the migrators' lock in the connection's transaction (it ends with it)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {MIGRATION_TIMEOUT_MS}")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif dialect == "sqlite":
        # The file's write lock for the whole migration: a second migrator on the same file
        # (the service and `python -m handoff.archive` started together) waits for it, up to
        # the connection's busy timeout. Replicas on other hosts never share a SQLite file.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
