"""The relay's load generator: each code's replicas deployed on their own Redis, customers
seated with online agents (the relay floor), and messages sent open loop at a rate."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import secrets
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.serving.peers import (
    Frame,
    Peer,
    create_agents,
    escalate,
    gather_limited,
    open_agent,
    open_customer,
)
from bench.serving.processes import Code, ScriptedRasa, Service, start_redis, start_service, stop
from bench.serving.report import Sample
from bench.serving.scale import Scale


@dataclass
class RelayFloor:
    """Customers whose chats are all assigned to online agents, spread over the replicas."""

    customers: list[Peer]
    agents: list[Peer]
    sessions: list[aiohttp.ClientSession]
    sent: dict[int, float] = field(default_factory=dict)
    received: list[float] = field(default_factory=list)
    expected: int = 0
    all_received: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = 0  # message numbers are never reused, so a late one is never miscounted
    last_frame_at: float = 0.0

    def on_agent_frame(self, frame: Frame) -> None:
        self.last_frame_at = time.perf_counter()
        if frame.get("type") == "event" and frame.get("from") == "customer":
            text = str(frame.get("text", ""))
            if text.startswith("relay "):
                sent = self.sent.pop(int(text[6:]), None)
                if sent is not None:
                    self.received.append(time.perf_counter() - sent)
                    if len(self.received) >= self.expected:
                        self.all_received.set()

    async def close(self) -> None:
        await asyncio.gather(*[p.close() for p in self.customers + self.agents])
        for session in self.sessions:
            await session.close()


async def build_floor(
    replicas: list[Service], redis_url: str, sockets: int, capacity: int, prefix: str
) -> RelayFloor:
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) for _ in replicas]
    agent_count = max(len(replicas), math.ceil(sockets / capacity))
    names = await create_agents(redis_url, agent_count, capacity, prefix)
    agents = [
        await open_agent(sessions[i % len(replicas)], replicas[i % len(replicas)].url, name)
        for i, name in enumerate(names)
    ]
    floor = RelayFloor([], agents, sessions)
    for agent in agents:
        agent.on_frame = floor.on_agent_frame

    async def seat(i: int) -> None:
        """One customer: open a chat, ask for a person, and have an agent claim it."""
        replica = i % len(replicas)
        customer, cid = await open_customer(sessions[replica], replicas[replica].url)
        await escalate(customer, cid)
        agent = agents[i % len(agents)]
        claimed = agent.expect(
            lambda f: f.get("type") in {"claimed", "claim_failed"} and f.get("conversation") == cid
        )
        await agent.send({"type": "claim", "conversation": cid})
        result = await asyncio.wait_for(claimed, 120)
        if result["type"] != "claimed":
            raise RuntimeError(f"claim failed: {result}")
        floor.customers.append(customer)

    # A few at a time, as customers arrive in life: the queue stays short while seating.
    await gather_limited([functools.partial(seat, i) for i in range(sockets)], 20)
    return floor


async def relay_run(
    floor: RelayFloor,
    services: list[Service],
    rate: int,
    seconds: float,
    tag: str,
    floors: Sequence[RelayFloor] = (),
) -> Sample:
    """Open loop: messages due by the clock are sent every tick, round robin over customers."""
    # An overloaded run leaves a backlog: wait until the agents (of every floor open, as the
    # other code's backlog takes CPU too) have been quiet for a second.
    for _ in range(300):  # at most a minute
        now = time.perf_counter()
        if all(now - f.last_frame_at >= 1.0 for f in (floor, *floors)):
            break
        await asyncio.sleep(0.2)
    cpu_before = sum(s.cpu_seconds() for s in services)
    own_before = time.process_time()
    floor.sent.clear()
    floor.received.clear()
    total = int(rate * seconds)
    floor.expected = total
    floor.all_received.clear()
    sent = 0
    start = time.perf_counter()
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            customer = floor.customers[sent % len(floor.customers)]
            seq = floor.next_seq
            floor.next_seq += 1
            floor.sent[seq] = time.perf_counter()
            await customer.send({"type": "message", "id": f"{tag}-{seq}", "text": f"relay {seq}"})
            sent += 1
        await asyncio.sleep(0.002)
    send_elapsed = time.perf_counter() - start
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(floor.all_received.wait(), 15)
    sample = Sample(list(floor.received), send_elapsed, total, total - len(floor.received))
    if floor.received:
        cpu = sum(s.cpu_seconds() for s in services) - cpu_before
        sample.service_cpu_ms = cpu * 1000 / len(floor.received)
        sample.generator_cpu_ms = (time.process_time() - own_before) * 1000 / len(floor.received)
    await asyncio.sleep(0.5)  # let stragglers drain before the next run
    return sample


async def ping_baseline(floor: RelayFloor, count: int) -> Sample:
    sample = Sample()
    start = time.perf_counter()
    for i in range(count):
        customer = floor.customers[i % len(floor.customers)]
        pong = customer.expect(lambda f: f.get("type") == "pong")
        t0 = time.perf_counter()
        await customer.send({"type": "ping"})
        await asyncio.wait_for(pong, 10)
        sample.latencies.append(time.perf_counter() - t0)
    sample.elapsed = time.perf_counter() - start
    return sample


async def with_replicas(
    count: int, tmp: Path, name: str, rasa: ScriptedRasa, code: Code
) -> tuple[list[Service], subprocess.Popen[bytes], str]:
    redis_process, redis_url = start_redis(tmp / f"{name}-redis")
    secret = secrets.token_hex(32)
    replicas = [
        await start_service(redis_url, rasa.url, tmp / f"{name}-{i}", secret, code)
        for i in range(count)
    ]
    return replicas, redis_process, redis_url


@dataclass
class Deployment:
    """One code's replicas on their own Redis, with the relay floor built on them."""

    code: Code
    replicas: list[Service]
    redis_process: subprocess.Popen[bytes]
    redis_url: str
    floor: RelayFloor | None = None
    runs: dict[int, Sample] = field(default_factory=dict)
    ping: Sample = field(default_factory=Sample)
    per_socket: float = math.nan
    rss: int = 0

    async def stop(self) -> None:
        if self.floor is not None:
            await self.floor.close()
        for replica in self.replicas:
            stop(replica.process)
        stop(self.redis_process)


async def deploy(
    codes: Sequence[Code], count: int, tmp: Path, prefix: str, rasa: ScriptedRasa
) -> list[Deployment]:
    deployments = []
    for i, code in enumerate(codes):
        replicas, redis_process, redis_url = await with_replicas(
            count, tmp, f"{prefix}{i}", rasa, code
        )
        deployments.append(Deployment(code, replicas, redis_process, redis_url))
    return deployments


async def relay_rates(scale: Scale, deployments: list[Deployment], tag: str) -> None:
    """Every rate on every deployment, interleaved: a busy spell on a shared machine hits
    both codes, and the order alternates from one rate to the next."""
    floors = [d.floor for d in deployments if d.floor is not None]
    services = [replica for d in deployments for replica in d.replicas]
    for n, rate in enumerate(scale.rates):
        order = deployments if n % 2 == 0 else deployments[::-1]
        for d in order:
            assert d.floor is not None
            await cpu_quiet(services)
            d.runs[rate] = await relay_run(
                d.floor, d.replicas, rate, scale.seconds, f"{tag}{rate}", floors
            )


async def cpu_quiet(services: Sequence[Service], most: float = 0.1, within: float = 30.0) -> None:
    """Wait until the services together use at most `most` of a core (at most `within` s).

    Seating a thousand chats, or an overloaded run, leaves work behind (the archive copies every
    chat written, the backlog drains): measured meanwhile, it would be charged to the next run,
    which may be another code's."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in services)
        await asyncio.sleep(1.0)
        if sum(s.cpu_seconds() for s in services) - before <= most:
            return
