"""The relay and scaling sections, and the escalation section on the same replicas: one
deployment of each code for escalation and the relay, then two replicas of each for scaling."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path

from bench.serving.escalation import escalation, print_escalation
from bench.serving.load import Deployment, build_floor, deploy, ping_baseline, relay_rates
from bench.serving.processes import Code, ScriptedRasa
from bench.serving.report import Sample, emit, machine_note, ms, ratio, summarise, table
from bench.serving.scale import Scale


async def relay_and_escalation(
    scale: Scale, tmp: Path, sections: set[str], codes: Sequence[Code]
) -> None:
    rasa = ScriptedRasa()
    await rasa.start()
    one: list[Deployment] = []
    try:
        one = await deploy(codes, 1, tmp, "one", rasa)
        if "escalation" in sections:
            print_escalation(scale, [(d, await escalation(d, rasa, scale)) for d in one])
        if sections & {"relay", "scaling"}:
            for d in one:
                service = d.replicas[0]
                rss_before = service.rss_bytes()
                d.floor = await build_floor(
                    d.replicas, d.redis_url, scale.sockets, scale.agents_capacity, "one"
                )
                await asyncio.sleep(1.0)
                d.rss = service.rss_bytes()
                d.per_socket = (d.rss - rss_before) / (scale.sockets + len(d.floor.agents))
                d.ping = await ping_baseline(d.floor, 200)
            await relay_rates(scale, one, "a")
            if "relay" in sections:
                print_relay(scale, one)
    finally:
        for d in one:
            await d.stop()
    try:
        if "scaling" in sections:
            two = await deploy(codes, 2, tmp, "two", rasa)
            try:
                for d in two:
                    d.floor = await build_floor(
                        d.replicas, d.redis_url, scale.sockets, scale.agents_capacity, "two"
                    )
                await relay_rates(scale, two, "b")
            finally:
                for d in two:
                    await d.stop()
            print_scaling(scale, one, two)
    finally:
        await rasa.stop()


def cpu_range(runs: dict[int, Sample]) -> str:
    values = [s.service_cpu_ms for s in runs.values() if not math.isnan(s.service_cpu_ms)]
    return f"{min(values):.2f}–{max(values):.2f} ms" if values else "–"


def print_relay(scale: Scale, deployments: list[Deployment]) -> None:
    emit(f"### Relay customer → agent, {scale.sockets} open customer sockets, all assigned")
    emit()
    rows = []
    for rate in scale.rates:
        base = deployments[0].runs.get(rate)
        for d in deployments:
            sample = d.runs.get(rate)
            if sample is None:
                continue
            rows.append(
                [
                    str(rate),
                    d.code.name,
                    f"{sample.expected / sample.elapsed:.0f}",
                    f"{len(sample.latencies)}/{sample.expected}",
                    ms(sample.p50_ms),
                    ms(sample.p99_ms),
                    ratio(sample.p99_ms, d.ping.p99_ms),
                    ratio(sample.p99_ms, base.p99_ms) if base else "–",
                    f"{sample.service_cpu_ms:.2f}",
                    ratio(sample.service_cpu_ms, base.service_cpu_ms) if base else "–",
                    f"{sample.generator_cpu_ms:.2f}",
                ]
            )
    emit(
        table(
            [
                "target messages/s",
                "code",
                "sent messages/s",
                "delivered",
                "p50 ms",
                "p99 ms",
                "p99 ÷ ping",
                "p99 ÷ first code",
                "service CPU ms/message",
                "CPU ÷ first code",
                "generator CPU ms/message",
            ],
            rows,
        )
    )
    emit()
    sockets = "; ".join(
        f"{d.code.name}: RSS {d.rss / 2**20:.0f} MiB with the sockets open, "
        f"**{d.per_socket / 1024:.1f} KiB per open socket**, idle `ping` → `pong` p50 "
        f"{ms(d.ping.p50_ms)} ms, p99 {ms(d.ping.p99_ms)} ms"
        for d in deployments
    )
    emit(
        f"Each rate runs {scale.seconds:.0f} s, open loop, round robin over the customers, on "
        "each code in turn (the order alternates by rate); latency is the customer's send until "
        "the agent's socket receives the `event`; `delivered` counts what arrived within 15 s "
        f"of the last send. Aim: p99 ≤ 20 ms at 500 messages/s. {sockets} (RSS growth from "
        "opening the sockets and their chats, over customer and agent sockets). " + machine_note()
    )
    emit()
    names = {d.code.name: d for d in deployments}
    if 500 in scale.rates:
        summarise(
            "relay at 500 msg/s, one replica, p99",
            "≤ 20 ms",
            {n: f"{ms(d.runs[500].p99_ms)} ms" for n, d in names.items() if 500 in d.runs},
        )
    summarise(
        "service CPU per relayed message (one replica, each rate)",
        "≤ 0.4 ms",
        {n: cpu_range(d.runs) for n, d in names.items()},
    )
    summarise(
        "memory per open socket",
        "≤ 16 KiB",
        {n: f"{d.per_socket / 1024:.1f} KiB" for n, d in names.items()},
    )


def print_scaling(scale: Scale, one: list[Deployment], two: list[Deployment]) -> None:
    emit("### Scaling: the relay load on one replica and on two sharing one Redis")
    emit()
    rows = []
    for rate in scale.rates:
        for a, b in zip(one, two, strict=True):
            x, y = a.runs.get(rate), b.runs.get(rate)
            if x is None or y is None:
                continue
            rows.append(
                [
                    str(rate),
                    a.code.name,
                    f"{ms(x.p50_ms)} / {ms(x.p99_ms)}",
                    f"{ms(y.p50_ms)} / {ms(y.p99_ms)}",
                    f"{len(x.latencies)}/{x.expected} · {len(y.latencies)}/{y.expected}",
                    ratio(y.p99_ms, x.p99_ms),
                    f"{x.service_cpu_ms:.2f} / {y.service_cpu_ms:.2f}",
                ]
            )
    emit(
        table(
            [
                "target messages/s",
                "code",
                "1 replica p50 / p99 ms",
                "2 replicas p50 / p99 ms",
                "delivered (1 · 2)",
                "p99 2÷1",
                "service CPU ms/message (1 / 2)",
            ],
            rows,
        )
    )
    emit()
    emit(
        f"{scale.sockets} customer sockets and their agents spread evenly over the replicas; "
        "half of the chats have the customer on one replica and the agent on the other. "
        + machine_note()
        + " Two replicas on the same two cores add processes, not cores: this shows that "
        "sharing one Redis works and what it costs, not the gain of a second machine."
    )
    emit()
    top = max(scale.rates)
    summarise(
        f"relay at {top} msg/s, two replicas, p99",
        "≤ 50 ms",
        {d.code.name: f"{ms(d.runs[top].p99_ms)} ms" for d in two if top in d.runs},
    )
