"""A small production-like cluster per test: one real Redis (AOF on), a Rasa stand-in process
and two handoff replicas (`python -m handoff`) sharing them, each on its own free port.

Tests break parts of it on purpose (kill, stall, restart) and measure what customers and
agents see; every test reports its figures through tests/support/figures.py.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from tests.support.clients import Agent, Customer, login
from tests.support.fake_rasa import FakeRasaProcess
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


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[ClusterFactory]:
    clusters: list[Cluster] = []

    def factory(replicas: int = 2, **env: str) -> Cluster:
        redis = RedisServer(tmp_path / f"redis{len(clusters)}")
        redis.start()
        rasa = FakeRasaProcess(tmp_path)
        rasa.start()
        cluster = Cluster(
            tmp_path,
            redis,
            rasa,
            env={**FAST_ENV, "REDIS_URL": redis.url, "RASA_URLS": rasa.url, **env},
        )
        clusters.append(cluster)
        for _ in range(replicas):
            cluster.start_replica()
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
