"""Redis failover under live chats: a primary, two replicas and three Sentinels on loopback (real
processes), the service in-process reaching Redis through Sentinel (REDIS_SENTINELS), the primary
SIGKILLed mid-chat.

- With REDIS_ACK_REPLICAS=1, chats with the bot, in the queue and with an agent keep talking
  through the failover: every message the service acknowledged is in its transcript on the new
  master, in order, exactly once; every party is answered again within RESUMED_WITHIN seconds
  of the kill. A message refused meanwhile (`unavailable`) is resent with its id and lands once.
- What REDIS_ACK_REPLICAS buys, in one run against the same Redis: the latency of an ack with 0
  and with 1 replica to wait for, and a message acknowledged with 0 that the failover loses,
  next to one that with 1 was refused instead, then resent and kept.

Nothing waits a fixed time for something to happen: the test waits for Sentinel to name a new
master (`SENTINEL get-master-addr-by-name`), for frames to arrive, for replicas to report.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from handoff import app as service
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.settings import Secret, Settings
from tests.faults.conftest import FAST_ENV, PASSWORD
from tests.support.clients import Agent, Customer, login
from tests.support.fake_rasa import FakeRasa
from tests.support.figures import record_figure
from tests.support.servers import free_port, wait_for_port

MASTER_NAME = "harbor"
# Sentinel: the master is down after 1 s without an answer (quorum 2 of 3), and a failover that
# stalls is retried after 5 s. A production setting would be a few seconds (docs/reliability.md).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
MESSAGES_EACH = 30
# From the SIGKILL to each party's first acknowledged message and the agent's first sight of a
# customer message written after it. Measured 2.6 s on the development machine: Sentinel's 1 s
# to call the master down, its election and the promotion (2.3 s after the kill), the other
# replica following the new master (an ack waits for it), the clients' resend backoff. The
# bound leaves room for a busy machine.
RESUMED_WITHIN = 10.0
# A bot turn in flight at the kill cannot release its conversation's turn lock, which the new
# master has (replicated): the bot answers again once the lock expires and the sweeper (every
# 2 s) retries. The lock lives BOT_TURN_TIMEOUT_SECONDS + 5 + BOT_TURN_WAIT_SECONDS: 2 + 5 + 1
# here, 23 s with the defaults (docs/reliability.md, "Redis failover").
BOT_TURN_WAIT = 1.0
BOT_RESUMED_WITHIN = float(FAST_ENV["BOT_TURN_TIMEOUT_SECONDS"]) + 5 + BOT_TURN_WAIT + 2 + 5
ACCEPT_WITHIN = 30.0
KEYS = Keys("ha")


class ReplicatedRedis:
    """A primary, two replicas (`replicaof`) and three Sentinels (quorum 2), each its own
    redis-server process on loopback with its files in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = [free_port() for _ in range(3)]  # the first is the primary at the start
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _spawn(self, port: int, args: list[str]) -> None:
        folder = self.folder / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        log = (folder / "log").open("ab")
        self.processes[port] = subprocess.Popen(args, cwd=folder, stdout=log, stderr=log)

    def start(self) -> None:
        for index, port in enumerate(self.ports):
            args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
            # A replica starts its sync at once instead of after Redis' default 5 s.
            args += ["--dir", str(self.folder / str(port)), "--repl-diskless-sync-delay", "0"]
            if index:
                args += ["--replicaof", "127.0.0.1", str(self.ports[0])]
            self._spawn(port, args)
        for port in self.ports:
            wait_for_port(port)
        # Both replicas in sync before the Sentinels start: their first look at the primary
        # then finds them (the next is 10 s later).
        deadline = time.monotonic() + 20
        with redis.Redis(port=self.ports[0]) as primary:
            while primary.info("replication")["connected_slaves"] < 2:
                assert time.monotonic() < deadline, "the replicas never synced"
                time.sleep(0.05)
        # Each Sentinel starts knowing the replicas and the other Sentinels, as its file would
        # after it found them itself (the others announce themselves every 2 s): `ready` then
        # waits for the links between them to be up, not for those first announcements.
        ids = {port: secrets.token_hex(20) for port in self.sentinel_ports}
        for port in self.sentinel_ports:
            config = self.folder / f"sentinel-{port}.conf"  # Sentinel rewrites its file
            known = [
                f"sentinel known-replica {MASTER_NAME} 127.0.0.1 {p}\n" for p in self.ports[1:]
            ]
            known += [
                f"sentinel known-sentinel {MASTER_NAME} 127.0.0.1 {other} {ids[other]}\n"
                for other in self.sentinel_ports
                if other != port
            ]
            config.write_text(
                f"bind 127.0.0.1\nport {port}\ndir {self.folder}\nsentinel myid {ids[port]}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.ports[0]} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n" + "".join(known)
            )
            self._spawn(port, ["redis-server", str(config), "--sentinel"])
        for port in [*self.ports, *self.sentinel_ports]:
            wait_for_port(port)

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait()

    def pause(self, port: int) -> None:
        """SIGSTOP: the server neither reads nor answers, nor reconnects to its master."""
        self.processes[port].send_signal(signal.SIGSTOP)

    def resume(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)  # SIGKILL ends a stopped process too

    async def master_port(self) -> int | None:
        """The master's port as the first Sentinel that answers names it."""
        for port in self.sentinel_ports:
            async with Redis(port=port, decode_responses=True, socket_timeout=1) as sentinel:
                with contextlib.suppress(OSError, ConnectionError, Exception):
                    _, master = await sentinel.execute_command(
                        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME
                    )
                    return int(master)
        return None

    async def ready(self, timeout: float = 20.0) -> None:
        """Until every Sentinel knows both replicas (in sync) and the two other Sentinels, and
        reaches them all."""
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for port in self.sentinel_ports:
                async with Redis(port=port, decode_responses=True) as sentinel:
                    replicas = await sentinel.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
                    others = await sentinel.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)
                    flags = [_field(r, "flags") for r in replicas]
                    reached = [_field(s, "flags") for s in others].count("sentinel")
                    states.append(flags.count("slave") == 2 and len(others) == reached == 2)
            if all(states):
                return
            assert time.monotonic() < deadline, f"Sentinels not ready: {states}"
            await asyncio.sleep(0.1)

    async def new_master(self, old: int, timeout: float = 30.0) -> int:
        """Wait until Sentinel names a master other than `old`; its port."""
        deadline = time.monotonic() + timeout
        while True:
            port = await self.master_port()
            if port is not None and port != old:
                return port
            assert time.monotonic() < deadline, "Sentinel named no new master"
            await asyncio.sleep(0.05)


def _field(reply: Any, name: str) -> str:
    """A field of a Sentinel reply (a flat list of names and values, or a mapping)."""
    if isinstance(reply, dict):
        return str(reply.get(name, ""))
    pairs = dict(zip(reply[::2], reply[1::2], strict=True))
    return str(pairs.get(name, ""))


@pytest.fixture
def replicated_redis(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    cluster = ReplicatedRedis(tmp_path / "redis")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa.scripted("handoff_on_human")
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@dataclass
class Service:
    client: TestClient

    @property
    def url(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


@pytest.fixture
async def services(
    replicated_redis: ReplicatedRedis, rasa: FakeRasa, tmp_path: Path
) -> AsyncIterator[Any]:
    """Start a service replica in-process, reaching Redis through the Sentinels."""
    started: list[TestClient] = []

    async def start(ack_replicas: int) -> Service:
        settings = Settings(
            # Through Sentinel, REDIS_URL gives only the database (and credentials).
            redis_url="redis://127.0.0.1:1/0",
            redis_sentinels=replicated_redis.sentinels,
            redis_sentinel_master=MASTER_NAME,
            redis_ack_replicas=ack_replicas,
            rasa_urls=(rasa.url,),
            secret=Secret(FAST_ENV["HANDOFF_SECRET"]),
            triage_enabled=False,
            redis_timeout=float(FAST_ENV["REDIS_TIMEOUT_SECONDS"]),
            bot_turn_timeout=float(FAST_ENV["BOT_TURN_TIMEOUT_SECONDS"]),
            bot_turn_wait=BOT_TURN_WAIT,
            agent_grace_seconds=30.0,
            ip_connections_per_minute=100_000,
            customer_rate_per_minute=100_000,
            socket_frames_per_second=10_000.0,  # messages one after another, unthrottled
            archive_database_url="off",
            var_dir=tmp_path / f"var{len(started)}",
        )
        client = TestClient(TestServer(service.create_app(settings)))
        await client.start_server()
        started.append(client)
        return Service(client)

    yield start
    for client in started:
        await client.close()


async def add_agent(cluster: ReplicatedRedis) -> str:
    port = await cluster.master_port()
    async with Redis(port=port, decode_responses=True) as redis:
        await Accounts(redis, KEYS).create("failover-agent", PASSWORD, display_name="Ann")
    return "failover-agent"


@dataclass
class Party:
    """One customer or agent: what they sent, and when each ack came."""

    label: str
    acked: list[str] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)
    refused: int = 0  # `unavailable` answers (each followed by a resend of the same id)

    def first_ack_after(self, moment: float) -> float | None:
        return next((t for t in self.acked_at if t > moment), None)


def refusals(frames: list[dict[str, Any]], client_id: str) -> int:
    return sum(1 for f in frames if f.get("id") == client_id and f.get("code") == "unavailable")


async def customer_talks(customer: Customer, party: Party, ws_url: str, go: asyncio.Event) -> None:
    for i in range(MESSAGES_EACH):
        text, client_id = f"{party.label} message {i}", f"{party.label}-{i}"
        deadline = time.monotonic() + ACCEPT_WITHIN
        while True:
            assert time.monotonic() < deadline, (
                f"{text!r} never accepted: {customer.log.frames[-5:]}"
            )
            try:
                # Resends after each `unavailable`, as the widget does, until acknowledged.
                await customer.send(client_id, text, timeout=3)
                break
            except AssertionError:
                if customer.log.closed:
                    # The gateway closed the socket: reconnect and resend, as the widget does.
                    party.refused += refusals(customer.log.frames, client_id)
                    with contextlib.suppress(AssertionError, aiohttp.ClientError):
                        await customer.connect(ws_url, timeout=3)
        party.refused += refusals(customer.log.frames, client_id)
        party.acked.append(text)
        party.acked_at.append(time.monotonic())
        if i == 4:
            go.set()
        await asyncio.sleep(0.05)


async def agent_talks(agent: Agent, cid: str, party: Party, ws_url: str, go: asyncio.Event) -> None:
    for i in range(MESSAGES_EACH):
        text = f"from the agent {i}"
        deadline = time.monotonic() + ACCEPT_WITHIN
        while True:
            assert time.monotonic() < deadline, f"{text!r} never accepted: {agent.log.frames[-5:]}"
            try:
                answer = await agent.say(cid, f"a{i}", text, timeout=3)
            except AssertionError:
                answer = {"type": "error", "code": "no answer"}
            if answer["type"] == "ack":
                break
            if answer.get("code") == "unavailable":
                party.refused += 1
            if agent.log.closed:
                with contextlib.suppress(AssertionError, aiohttp.ClientError):
                    await agent.connect(ws_url)
            await asyncio.sleep(0.2)
        party.acked.append(text)
        party.acked_at.append(time.monotonic())
        if i == 4:
            go.set()
        await asyncio.sleep(0.05)


async def waiting_customer(http: aiohttp.ClientSession, at: Service, label: str) -> Customer:
    """A customer who asked for a person and waits in the queue."""
    customer = Customer(http)
    await customer.connect(at.ws_url)
    await customer.send(f"{label}-ask", "I want a human please")
    await customer.wait_for(lambda f: f.get("event") == "state" and f.get("state") == "queued")
    return customer


def first_arrival(log_frames: list[dict[str, Any]], arrived: list[float], match: Any) -> float:
    return next((t for f, t in zip(log_frames, arrived, strict=True) if match(f)), float("inf"))


async def transcript(port: int, cid: str) -> list[dict[str, str]]:
    async with Redis(port=port, decode_responses=True) as redis:
        entries: Any = await redis.xrange(KEYS.log(cid))
    return [values for _, values in entries]


async def test_acknowledged_messages_survive_a_failover_in_every_chat_state(
    replicated_redis: ReplicatedRedis, services: Any, http: aiohttp.ClientSession
) -> None:
    cluster = replicated_redis
    await cluster.ready()
    at = await services(ack_replicas=1)
    name = await add_agent(cluster)
    agent = Agent(http, name, (await login(http, name, PASSWORD, base_url=at.url))["sid"])
    await agent.connect(at.ws_url)
    in_bot = Customer(http)
    await in_bot.connect(at.ws_url)
    queued = await waiting_customer(http, at, "queued")
    with_agent = await waiting_customer(http, at, "assigned")
    assert (await agent.claim(with_agent.conversation))["type"] == "claimed"

    chats = {"bot-chat": in_bot, "queued-chat": queued, "agent-chat": with_agent}
    parties = {label: Party(label) for label in [*chats, "agent"]}
    going = {label: asyncio.Event() for label in parties}
    old_master = cluster.ports[0]

    async def kill_mid_chat() -> tuple[float, float, int]:
        # Mid-chat: every party has had five messages acknowledged and is still writing.
        await asyncio.gather(*(event.wait() for event in going.values()))
        killed = time.monotonic()
        cluster.kill(old_master)
        new_master = await cluster.new_master(old_master)
        return killed, time.monotonic() - killed, new_master

    (killed, named_after, new_master), *_ = await asyncio.gather(
        kill_mid_chat(),
        *(
            customer_talks(customer, parties[label], at.ws_url, going[label])
            for label, customer in chats.items()
        ),
        agent_talks(agent, with_agent.conversation, parties["agent"], at.ws_url, going["agent"]),
    )

    # Every acknowledged message is on the new master, once, in the order acknowledged.
    lost = duplicated = 0
    for label, customer in chats.items():
        stored = [
            e["text"]
            for e in await transcript(new_master, customer.conversation)
            if e.get("from") in {"customer", "agent"}
        ]
        counts = Counter(stored)
        senders = [parties[label]] + ([parties["agent"]] if label == "agent-chat" else [])
        for party in senders:
            lost += sum(1 for text in party.acked if counts[text] == 0)
            duplicated += sum(counts[text] - 1 for text in party.acked if counts[text] > 1)
            assert [t for t in stored if t in set(party.acked)] == party.acked, party.label

    # Everyone was answered again soon after the kill: each party's first ack after it, the
    # agent's first sight of a customer message written after it, the bot's first answer to one.
    resumed = {
        label: (p.first_ack_after(killed) or float("inf")) - killed for label, p in parties.items()
    }
    after = [
        t
        for t, at_ in zip(parties["agent-chat"].acked, parties["agent-chat"].acked_at, strict=True)
        if at_ > killed
    ]
    resumed["agent sees the customer"] = (
        first_arrival(agent.log.frames, agent.log.arrived_at, lambda f: f.get("text") in set(after))
        - killed
    )
    bot_after = {
        f"echo: {t}"
        for t, at_ in zip(parties["bot-chat"].acked, parties["bot-chat"].acked_at, strict=True)
        if at_ > killed
    }
    # The bot's answer to a message written after the kill (the turn sweeper retries turns).
    await in_bot.log.wait_for(lambda f: f.get("text") in bot_after, timeout=BOT_RESUMED_WITHIN)
    bot_resumed = (
        first_arrival(
            in_bot.log.frames, in_bot.log.arrived_at, lambda f: f.get("text") in bot_after
        )
        - killed
    )

    accepted = sum(len(p.acked) for p in parties.values())
    refused = sum(p.refused for p in parties.values())
    note = (
        f"primary SIGKILLed mid-chat, Sentinel (down-after {DOWN_AFTER_MS} ms, quorum 2 of 3), "
        "REDIS_ACK_REPLICAS=1; bot, queued and agent chats"
    )
    record_figure("faults.redis_failover.accepted", accepted, "messages", note)
    record_figure("faults.redis_failover.refused", refused, "unavailable answers", note)
    record_figure("faults.redis_failover.lost", lost, "messages", note)
    record_figure("faults.redis_failover.duplicated", duplicated, "messages", note)
    record_figure("faults.redis_failover.new_master_named", named_after, "s after the kill", note)
    record_figure(
        "faults.redis_failover.resumed",
        max(resumed.values()),
        "s after the kill",
        f"{note}; slowest of {', '.join(f'{k} {v:.1f} s' for k, v in resumed.items())}",
    )
    record_figure(
        "faults.redis_failover.bot_answers",
        bot_resumed,
        "s after the kill",
        f"{note}; the turn lock lives {BOT_RESUMED_WITHIN - 7:.0f} s",
    )
    assert accepted == 4 * MESSAGES_EACH
    assert lost == 0 and duplicated == 0
    assert max(resumed.values()) < RESUMED_WITHIN, resumed
    assert bot_resumed < BOT_RESUMED_WITHIN
    for client in (in_bot, queued, with_agent):
        await client.drop()
    await agent.drop()


async def ack_latencies(customer: Customer, label: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        await customer.send(f"{label}-{i}", f"{label} {i}")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def test_an_ack_that_waits_for_a_replica_is_never_lost_and_what_it_costs(
    replicated_redis: ReplicatedRedis, services: Any, http: aiohttp.ClientSession
) -> None:
    cluster = replicated_redis
    await cluster.ready()
    no_wait, waits = await services(ack_replicas=0), await services(ack_replicas=1)
    hasty, careful = Customer(http), Customer(http)
    await hasty.connect(no_wait.ws_url)
    await careful.connect(waits.ws_url)

    # The cost: one customer per setting, writing one message after another, in turns.
    costs: dict[int, list[float]] = {0: [], 1: []}
    for round_ in range(4):
        costs[0] += await ack_latencies(hasty, f"r{round_}", 50)
        costs[1] += await ack_latencies(careful, f"r{round_}", 50)
    for replicas, values in costs.items():
        note = f"{len(values)} messages one after another, loopback, REDIS_ACK_REPLICAS={replicas}"
        record_figure(
            f"faults.redis_failover.ack_p50_replicas_{replicas}",
            percentile(values, 0.5),
            "ms",
            note,
        )
        record_figure(
            f"faults.redis_failover.ack_p99_replicas_{replicas}",
            percentile(values, 0.99),
            "ms",
            note,
        )

    # The loss: the replicas stop hearing from the primary (stopped, and their links closed,
    # so nothing waits in a socket for them), then each customer writes once.
    old_master = cluster.ports[0]
    for port in cluster.ports[1:]:
        cluster.pause(port)
    async with Redis(port=old_master, decode_responses=True) as primary:
        await primary.client_kill_filter(_type="replica")
    hasty_ack = await hasty.send("unreplicated", "acknowledged by the primary alone")
    assert hasty_ack["type"] == "ack"
    await careful.ws.send_json(
        {"type": "message", "id": "unreplicated", "text": "waits for a replica"}
    )
    refusal = await careful.wait_for(lambda f: f.get("id") == "unreplicated")
    assert refusal["type"] == "error" and refusal["code"] == "unavailable", refusal
    cluster.kill(old_master)
    for port in cluster.ports[1:]:
        cluster.resume(port)
    new_master = await cluster.new_master(old_master)

    # The customer told `unavailable` resends, as the widget does: stored once, after the failover.
    assert (await careful.send("unreplicated", "waits for a replica", timeout=ACCEPT_WITHIN))[
        "type"
    ] == "ack"
    lost = [
        e
        for e in await transcript(new_master, hasty.conversation)
        if e.get("client_id") == "unreplicated"
    ]
    kept = [
        e
        for e in await transcript(new_master, careful.conversation)
        if e.get("client_id") == "unreplicated"
    ]
    note = (
        "the replicas cut off, one message each, then the primary SIGKILLed and a replica promoted"
    )
    record_figure(
        "faults.redis_failover.acked_then_lost_replicas_0", 1 - len(lost), "messages", note
    )
    record_figure(
        "faults.redis_failover.acked_then_lost_replicas_1", 1 - len(kept), "messages", note
    )
    assert lost == [], "with no replica to wait for, the acknowledged message should be gone"
    assert len(kept) == 1
    for client in (hasty, careful):
        await client.drop()
