"""The order store against real databases: SQLite in a temp folder and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from orders.store import (
    REPO_ROOT,
    SEED_CSV,
    OrderStore,
    OrderStoreUnavailable,
    default_database_url,
    load_seed_orders,
    timeout_from_env,
)


def test_the_default_database_is_under_the_repository_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = OrderStore.from_env({})
    assert store.url == default_database_url()
    assert store.url == f"sqlite:///{REPO_ROOT / 'var' / 'orders.sqlite3'}"
    assert Path(store.url.removeprefix("sqlite:///")).is_absolute()


def test_settings_come_from_the_environment() -> None:
    store = OrderStore.from_env(
        {"ORDERS_DATABASE_URL": "sqlite:////tmp/x.sqlite3", "ORDERS_DB_TIMEOUT_SECONDS": "1.5"}
    )
    assert store.url == "sqlite:////tmp/x.sqlite3"
    assert store.timeout_seconds == 1.5


@pytest.mark.parametrize("raw", ["three", "0", "-1", "600"])
def test_a_bad_timeout_setting_is_an_error_not_a_silent_default(raw: str) -> None:
    with pytest.raises(ValueError, match="ORDERS_DB_TIMEOUT_SECONDS"):
        timeout_from_env({"ORDERS_DB_TIMEOUT_SECONDS": raw})


def test_the_database_is_created_and_seeded_on_first_lookup_not_before(sqlite_url: str) -> None:
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    store = OrderStore(sqlite_url)
    assert not database.parent.exists()  # constructing the store touches nothing

    order = store.find("HG-10008")

    assert database.exists()
    assert order is not None
    assert order.email == "lucas.muller37@example.com"
    assert order.state == "shipped"
    assert order.carrier == "UPS"
    assert order.tracking_number == "UP7713212391"
    assert order.estimated_delivery == date(2026, 10, 29)
    assert order.total_usd == Decimal("337.56")
    store.dispose()


def test_seeding_loads_every_demo_order_once(sqlite_url: str) -> None:
    first = OrderStore(sqlite_url)
    first.find("HG-10001")
    first.dispose()
    second = OrderStore(sqlite_url)  # a second process finds the table already seeded
    second.find("HG-10001")
    second.dispose()
    engine = create_engine(sqlite_url)
    with engine.connect() as connection:
        count = connection.execute(text("select count(*) from orders")).scalar_one()
    engine.dispose()
    assert count == len(load_seed_orders(SEED_CSV)) == 60


def test_postal_codes_keep_their_leading_zero(sqlite_store: OrderStore) -> None:
    order = sqlite_store.find("HG-10064")
    assert order is not None
    assert order.postal_code == "08612"


def test_an_unknown_order_is_none(sqlite_store: OrderStore) -> None:
    assert sqlite_store.find("HG-99999") is None


def test_postgresql_store_seeds_and_finds_orders(postgres_url: str) -> None:
    store = OrderStore(postgres_url, timeout_seconds=5)
    try:
        delayed = store.find("HG-10029")
        assert delayed is not None
        assert delayed.state == "delayed"
        assert delayed.estimated_delivery == date(2026, 11, 26)
        assert store.find("HG-10064") is not None
        assert store.find("HG-99999") is None
        assert asyncio.run(store.find_async("HG-10099")) is not None
    finally:
        store.dispose()
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        count = connection.execute(text("select count(*) from orders")).scalar_one()
    engine.dispose()
    assert count == 60


def test_postgresql_statement_timeout_is_set_from_the_setting(postgres_url: str) -> None:
    store = OrderStore(postgres_url, timeout_seconds=1.5)
    try:
        store.find("HG-10001")
        engine = store._ready_engine()
        with engine.connect() as connection:
            setting = connection.execute(text("show statement_timeout")).scalar_one()
            # A query slower than the setting is cancelled by the server itself.
            started = time.monotonic()
            with pytest.raises(Exception, match="statement timeout"):
                connection.execute(text("select pg_sleep(10)"))
            assert time.monotonic() - started < 5
    finally:
        store.dispose()
    assert setting == "1500ms"


def test_a_database_that_is_down_is_reported_as_unavailable(closed_port: int) -> None:
    store = OrderStore(f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders")
    with pytest.raises(OrderStoreUnavailable):
        store.find("HG-10001")


def test_a_database_that_never_answers_is_given_up_after_the_timeout(silent_server: int) -> None:
    store = OrderStore(
        f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/orders", timeout_seconds=1
    )
    started = time.monotonic()
    with pytest.raises(OrderStoreUnavailable):
        asyncio.run(store.find_async("HG-10001"))
    assert time.monotonic() - started < 2.5
