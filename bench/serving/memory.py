"""The memory section: one replica's RSS per open socket, bare and seated, without the relay's
load runs."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.serving.load import RelayFloor, build_floor, cpu_quiet, with_replicas
from bench.serving.peers import Peer, gather_limited, open_customer
from bench.serving.processes import Code, ScriptedRasa, stop
from bench.serving.report import emit, summarise, table
from bench.serving.scale import Scale


@dataclass
class Memory:
    """RSS growth per socket of one replica: bare customer sockets (after `welcome`), and chats
    seated as the relay seats them (escalated, claimed; the agents' sockets counted too)."""

    bare: float = math.nan
    seated: float = math.nan


async def memory_section(scale: Scale, tmp: Path, codes: Sequence[Code]) -> None:
    """Memory only, without the relay's load runs: a minute per code rather than many.

    Each replica first opens and closes a few sockets and seats a few chats, so what the first
    of them pays once (the triage model, pools, caches) is not charged to every socket."""
    rasa = ScriptedRasa()
    await rasa.start()
    results: list[tuple[Code, Memory]] = []
    sockets = max(scale.sockets, 500)  # fewer, and the page-sized steps of RSS show
    try:
        for i, code in enumerate(codes):
            replicas, redis_process, redis_url = await with_replicas(1, tmp, f"mem{i}", rasa, code)
            service = replicas[0]
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            peers: list[Peer] = []
            floors: list[RelayFloor] = []
            memory = Memory()
            try:
                warm = await build_floor(replicas, redis_url, 20, scale.agents_capacity, "warm")
                await warm.close()
                await cpu_quiet(replicas, 0.05, 15)
                before = service.rss_bytes()
                one = functools.partial(open_customer, session, service.url)
                opened = await gather_limited([one] * sockets, 20)
                peers = [peer for peer, _ in opened]
                await cpu_quiet(replicas, 0.05, 15)
                memory.bare = (service.rss_bytes() - before) / sockets
                before = service.rss_bytes()
                floors.append(
                    await build_floor(replicas, redis_url, sockets, scale.agents_capacity, "m")
                )
                await cpu_quiet(replicas, 0.05, 15)
                seated = len(floors[0].customers) + len(floors[0].agents)
                memory.seated = (service.rss_bytes() - before) / seated
            finally:
                await asyncio.gather(*[peer.close() for peer in peers])
                for floor in floors:
                    await floor.close()
                await session.close()
                stop(service.process)
                stop(redis_process)
            results.append((code, memory))
    finally:
        await rasa.stop()
    emit("### Memory per open socket")
    emit()
    rows = [[c.name, f"{m.bare / 1024:.1f}", f"{m.seated / 1024:.1f}"] for c, m in results]
    emit(table(["code", "bare customer socket KiB", "seated chat KiB"], rows))
    emit()
    emit(
        f"RSS growth of one replica over {sockets} customer sockets opened after a warm-up: "
        "bare (after `welcome`, idle), then as many more chats seated as the relay seats them "
        "(escalated and claimed, over customer and agent sockets). The relay section's figure "
        "is the seated one, measured without a warm-up."
    )
    emit()
    summarise(
        "memory per open socket (memory section, seated)",
        "≤ 16 KiB",
        {c.name: f"{m.seated / 1024:.1f} KiB" for c, m in results},
    )
