"""The escalation section: a customer asks for a person; latency until a logged-in agent's
socket gets the queue update listing that chat."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time

import aiohttp

from bench.serving.load import Deployment, RelayFloor, ping_baseline
from bench.serving.peers import ASK_FOR_PERSON, Frame, create_agents, open_agent, open_customer
from bench.serving.processes import ScriptedRasa, Service
from bench.serving.report import Sample, emit, machine_note, ms, ratio, summarise, table
from bench.serving.scale import Scale


def lists_chat(cid: str, frame: Frame) -> bool:
    """Whether `frame` is an agent's queue update that lists conversation `cid`."""
    return frame.get("type") == "queue" and any(
        item["conversation"] == cid for item in frame["items"]
    )


async def escalation_run(service: Service, redis_url: str, count: int) -> Sample:
    await create_agents(redis_url, 1, 3, "watcher")
    async with aiohttp.ClientSession() as session:
        agent = await open_agent(session, service.url, "watcher0")
        await asyncio.sleep(0.3)  # the first queue frames after connecting
        sample = Sample(expected=count)
        start = time.perf_counter()
        for _ in range(count):
            customer, cid = await open_customer(session, service.url)
            seen = agent.expect(functools.partial(lists_chat, cid))
            t0 = time.perf_counter()
            await customer.send({"type": "message", "id": "ask", "text": ASK_FOR_PERSON})
            try:
                await asyncio.wait_for(seen, 10)
                sample.latencies.append(time.perf_counter() - t0)
            except asyncio.TimeoutError:
                sample.failures += 1
            back = customer.expect(lambda f: f.get("event") == "state" and f.get("state") == "bot")
            await customer.send({"type": "cancel_queue"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(back, 10)
            await customer.close()
            # Arrivals at random moments, not in step with the console's refresh.
            await asyncio.sleep(0.05 + secrets.randbelow(100) / 1000)
        sample.elapsed = time.perf_counter() - start
        await agent.close()
    return sample


async def escalation(d: Deployment, rasa: ScriptedRasa, scale: Scale) -> tuple[Sample, int, Sample]:
    """(escalation latencies, how many Rasa escalated rather than triage, an idle ping)."""
    calls_before = rasa.webhook_calls
    sample = await escalation_run(d.replicas[0], d.redis_url, scale.escalations)
    return sample, rasa.webhook_calls - calls_before, await idle_ping(d.replicas[0])


def print_escalation(
    scale: Scale, results: list[tuple[Deployment, tuple[Sample, int, Sample]]]
) -> None:
    emit("### Escalation → the agent's console sees it")
    emit()
    rows = [
        [
            d.code.name,
            f"{len(sample.latencies)}/{scale.escalations}",
            ms(sample.p50_ms),
            ms(sample.p99_ms),
            ratio(sample.p50_ms, ping.p50_ms),
            ratio(sample.p99_ms, ping.p99_ms),
            f"{scale.escalations - by_rasa}",
            f"{ms(ping.p50_ms)} / {ms(ping.p99_ms)}",
        ]
        for d, (sample, by_rasa, ping) in results
    ]
    emit(
        table(
            [
                "code",
                "escalations",
                "p50 ms",
                "p99 ms",
                "p50 ÷ ping",
                "p99 ÷ ping",
                "by triage",
                "idle ping p50 / p99 ms",
            ],
            rows,
        )
    )
    emit()
    emit(
        "From the customer's `message` asking for a person to a logged-in agent's socket "
        "receiving the `queue` frame that lists the chat (triage on; `by triage`: escalated "
        "before Rasa). Baseline: a customer `ping` → `pong` round trip on the idle service. "
        "Aim: p99 ≤ 100 ms. " + machine_note()
    )
    emit()
    summarise(
        "escalation → agent's console, p99",
        "≤ 100 ms",
        {d.code.name: f"{ms(sample.p99_ms)} ms" for d, (sample, _, _) in results},
    )


async def idle_ping(service: Service) -> Sample:
    async with aiohttp.ClientSession() as session:
        customer, _ = await open_customer(session, service.url)
        floor = RelayFloor([customer], [], [])
        sample = await ping_baseline(floor, 200)
        await customer.close()
    return sample
