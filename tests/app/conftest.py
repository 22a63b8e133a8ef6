"""Fixtures of the handoff service suite: a real Redis per session, a scripted Rasa peer."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from handoff.app import create_app
from handoff.archive.database import migrate, open_engine
from handoff.archive.store import ArchiveStore
from handoff.assistant.triage.config import DEFAULT_MODEL_DIR
from handoff.assistant.triage.train import ensure_model
from handoff.console.accounts import Accounts
from handoff.settings import Secret, Settings
from tests.app.agents import HANDOFF, KEYS
from tests.support.fake_rasa import FakeRasa, handoff_on
from tests.support.servers import RedisServer

SECRET = "test-secret-not-for-production"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    yield redis_server.url


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    """The fake Rasa (tests/support/fake_rasa.py) in-process: it echoes unless a test scripts it."""
    fake = FakeRasa()
    url = await fake.start()
    yield fake, url
    await fake.close()


def base_settings(redis_url: str, rasa_url: str, tmp: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        rasa_urls=(rasa_url,),
        secret=Secret(SECRET),
        triage_enabled=False,
        bot_turn_timeout=2.0,
        var_dir=tmp,
        allowed_origins=("http://localhost:8080",),
        # The demo orders in a database of the test's own, seeded on the first lookup.
        orders_database_url=f"sqlite:///{tmp / 'orders.sqlite3'}",
    )


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client(
    redis_url: str, rasa: tuple[FakeRasa, str], tmp_path: Path
) -> AsyncIterator[AppFactory]:
    clients: list[TestClient] = []

    async def factory(**overrides: Any) -> TestClient:
        settings = base_settings(redis_url, rasa[1], tmp_path).model_copy(update=overrides)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The trained triage pipeline in models/triage, as `make` leaves it (copied from the cache or
    trained when its data or code changed since)."""
    ensure_model(DEFAULT_MODEL_DIR, log=lambda _line: None)
    return DEFAULT_MODEL_DIR


@pytest.fixture
async def accounts(redis_url: str) -> AsyncIterator[Accounts]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    yield Accounts(redis, KEYS)
    await redis.aclose()


@pytest.fixture
def handoff_bot(rasa: tuple[FakeRasa, str]) -> FakeRasa:
    """Rasa asks for a handoff when the customer says 'human'; echoes everything else."""
    scripted = rasa[0]
    scripted.replies = handoff_on("human", HANDOFF)
    return scripted


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL server (tests/conftest.py)."""
    name = f"archive_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArchiveStore]:
    """An empty, migrated conversation archive: SQLite under the test's folder, or a database
    of its own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'archive.sqlite3'}"
    else:
        url = request.getfixturevalue("empty_postgres")
    engine = open_engine(url)
    migrate(engine)
    yield ArchiveStore(engine)
    engine.dispose()
