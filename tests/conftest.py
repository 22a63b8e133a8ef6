"""Fixtures shared across suites: the one real stack per test session (tests/support/stack.py),
used by the end-to-end tests and the real-stack fault tests when they run in one pytest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
