"""A small production-like cluster per test: one real Redis (AOF on), a Rasa stand-in process
and two handoff replicas (`python -m handoff`) sharing them, each on its own free port.

Tests break parts of it on purpose (kill, stall, restart) and measure what customers and
agents see; every test reports its figures through tests/support/figures.py. Tests that break
nothing and keep to customers and agents of their own share one (test_races.py, per module).

Tests that must stop one party between two of its Redis commands (test_interleavings.py) or
count what is left in Redis (test_retention.py) run the service in-process instead
(`make_replica`): the same app, against a real Redis of the test's own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from handoff import app as service
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.settings import Secret, Settings
from tests.support.clients import Agent, Customer, login
from tests.support.fake_rasa import FakeRasa, FakeRasaProcess
from tests.support.servers import HandoffReplica, RedisServer

PASSWORD = "correct horse battery staple"

# Settings that make faults show up within a test's time: short timeouts and grace periods,
# and rate limits out of the way (every simulated client comes from 127.0.0.1).
FAST_ENV = {
    "HANDOFF_SECRET": "faults-suite-secret-not-for-production",
    "TRIAGE_ENABLED": "0",
    "REDIS_TIMEOUT_SECONDS": "0.5",
    "BOT_TURN_TIMEOUT_SECONDS": "2",
    "AGENT_GRACE_SECONDS": "2",
    "IP_CONNECTIONS_PER_MINUTE": "100000",
    "CUSTOMER_MESSAGES_PER_MINUTE": "100000",
    "RASA_TOKEN": "",
}


@dataclass
class Cluster:
    folder: Path
    redis: RedisServer
    rasa: FakeRasaProcess
    replicas: list[HandoffReplica] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def start_replica(self) -> HandoffReplica:
        replica = HandoffReplica(self.folder / f"replica{len(self.replicas)}", self.env)
        replica.start()
        self.replicas.append(replica)
        return replica

    def stop(self) -> None:
        for replica in self.replicas:
            replica.kill()
        self.rasa.kill()
        self.redis.kill()

    async def add_agents(self, count: int, capacity: int = 3) -> list[str]:
        """Create agent accounts straight in Redis, like `python -m handoff.console.accounts`."""
        redis = Redis.from_url(self.redis.url, decode_responses=True)
        accounts = Accounts(redis, Keys("ha"))
        names = []
        for _ in range(count):
            name = f"agent-{secrets.token_hex(4)}"
            await accounts.create(name, PASSWORD, display_name=name, capacity=capacity)
            names.append(name)
        await redis.aclose()
        return names


ClusterFactory = Callable[..., Cluster]


def start_cluster(folder: Path, replicas: int = 2, *, number: int = 0, **env: str) -> Cluster:
    """Redis, the Rasa stand-in and `replicas` handoff replicas, their files under `folder`
    (Redis's in redis<number>); `env` overrides FAST_ENV's settings. The caller stops it."""
    redis = RedisServer(folder / f"redis{number}")
    redis.start()
    rasa = FakeRasaProcess(folder)
    cluster = Cluster(
        folder,
        redis,
        rasa,
        env={**FAST_ENV, "REDIS_URL": redis.url, "RASA_URLS": rasa.url, **env},
    )
    try:
        rasa.start()
        for _ in range(replicas):
            cluster.start_replica()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[ClusterFactory]:
    """A cluster of the test's own, as many as it asks for."""
    clusters: list[Cluster] = []

    def factory(replicas: int = 2, **env: str) -> Cluster:
        cluster = start_cluster(tmp_path, replicas, number=len(clusters), **env)
        clusters.append(cluster)
        return cluster

    yield factory
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def agent_on(
    http: aiohttp.ClientSession, replica: HandoffReplica, name: str, online: bool = True
) -> Agent:
    body = await login(http, name, PASSWORD, base_url=replica.url)
    agent = Agent(http, name, body["sid"])
    await agent.connect(replica.ws_url, online=online)
    return agent


async def queued_customer(http: aiohttp.ClientSession, replica: HandoffReplica) -> Customer:
    """A customer who asked for a person and is waiting in the queue."""
    customer = Customer(http)
    await customer.connect(replica.ws_url)
    await customer.send("ask-human", "I want a human please")
    await customer.wait_for(
        lambda f: f.get("event") == "state" and f.get("state") == "queued", timeout=10
    )
    return customer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real Redis of the test's own (AOF on, like the cluster's)."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    """The Rasa stand-in in-process: it echoes unless the test scripts `replies`."""
    fake = FakeRasa()
    await fake.start()
    yield fake
    await fake.close()


ReplicaFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_replica(
    redis_server: RedisServer, fake_rasa: FakeRasa, tmp_path: Path
) -> AsyncIterator[ReplicaFactory]:
    """A handoff replica in this process (`app_state(client.app)` is its state), configured by
    `Settings` overrides on top of FAST_ENV's values. With `background=False` its live hub and
    periodic sweeps do not run: a test that arranges an interleaving step by step calls the
    sweeps itself, when it means to."""
    clients: list[TestClient] = []

    async def factory(*, background: bool = True, **overrides: Any) -> TestClient:
        chosen: dict[str, Any] = {
            "redis_url": redis_server.url,
            "rasa_urls": (fake_rasa.url,),
            "secret": Secret(FAST_ENV["HANDOFF_SECRET"]),
            "triage_enabled": False,
            "redis_timeout": float(FAST_ENV["REDIS_TIMEOUT_SECONDS"]),
            "bot_turn_timeout": float(FAST_ENV["BOT_TURN_TIMEOUT_SECONDS"]),
            "ip_connections_per_minute": int(FAST_ENV["IP_CONNECTIONS_PER_MINUTE"]),
            "customer_rate_per_minute": int(FAST_ENV["CUSTOMER_MESSAGES_PER_MINUTE"]),
            "var_dir": tmp_path / "var",
        }
        settings = Settings(**{**chosen, **overrides})
        app = service.create_app(settings)
        if not background:
            app.cleanup_ctx[:] = [c for c in app.cleanup_ctx if c is not service._background]
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
