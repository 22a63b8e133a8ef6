"""Alembic's entry point for the archive's schema: run by handoff.archive.database.migrate (at
service start) on the connection it passes, or by the `alembic` command with `-x url=...`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from handoff.archive.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    engine = create_engine(str(url))
    with engine.begin() as own:
        context.configure(connection=own, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
