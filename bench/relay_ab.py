"""The relay at one rate, this checkout against another commit, round after round.

    .venv-app/bin/python bench/relay_ab.py REF [--rate 500] [--rounds 4] [--seconds 10]
                                             [--sockets 1000]

A closer look at one row of `bench/serving_bench.py`'s relay table: both codes get the relay
bench's floor (one replica each, its own redis-server, a scripted Rasa, every customer's chat
assigned to an online agent), then take turns, the order alternating by round, each after both
services went quiet. A row per run: p50 and p99 from the customer's send to the agent's socket,
the service's CPU per message, its RSS, and the garbage collector's pauses during the run (from
the replica's `harbor_gc_pause_seconds`, where the code has it): how many, their total, and
the bucket under which the longest one fell. A p99 far above the p50 on an idle machine is a
pause: the loop held by one piece of work while the messages waited.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving.load import build_floor, cpu_quiet, deploy, relay_run
from bench.serving.processes import CURRENT, ScriptedRasa, export_baseline

Pauses = dict[str, dict[str, float]]  # generation -> {"count", "sum", bucket bound: cumulative}


async def gc_pauses(url: str) -> Pauses:
    """The replica's collector pauses so far, by generation ({} for a code without them)."""
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(f"{url}/metrics") as answer,
    ):
        text = await answer.text()
    pauses: Pauses = {}
    for line in text.splitlines():
        if not line.startswith("harbor_gc_pause_seconds"):
            continue
        name, value = line.rsplit(" ", 1)
        labels = dict(
            part.split("=", 1) for part in name[name.index("{") + 1 : -1].split(",") if part
        )
        generation = labels["generation"].strip('"')
        kind = name[len("harbor_gc_pause_seconds") : name.index("{")]
        key = {"_count": "count", "_sum": "sum"}.get(kind, labels.get("le", "").strip('"'))
        if key:
            pauses.setdefault(generation, {})[key] = float(value)
    return pauses


def describe(before: Pauses, after: Pauses) -> str:
    """'gen0 120 / 85 ms / ≤ 5 ms; …' for the collections between the two readings."""
    parts = []
    for generation in sorted(after):
        was, now = before.get(generation, {}), after[generation]
        count = int(now.get("count", 0) - was.get("count", 0))
        if not count:
            continue
        total_ms = (now.get("sum", 0) - was.get("sum", 0)) * 1000
        bounds = sorted(
            (float(k), v - was.get(k, 0.0)) for k, v in now.items() if k not in {"count", "sum"}
        )
        longest = next((b for b, n in bounds if n >= count), float("inf"))
        shown = "> 0.25 s" if longest == float("inf") else f"≤ {longest * 1000:g} ms"
        parts.append(f"gen{generation} {count} / {total_ms:.0f} ms / {shown}")
    return "; ".join(parts) or "not measured"


async def compare(args: argparse.Namespace) -> None:
    rasa = ScriptedRasa()
    await rasa.start()
    with tempfile.TemporaryDirectory(prefix="relay-ab-") as folder:
        tmp = Path(folder)
        codes = [export_baseline(args.ref, tmp), CURRENT]
        deployments = await deploy(codes, 1, tmp, "ab", rasa)
        try:
            for n, d in enumerate(deployments):
                d.floor = await build_floor(d.replicas, d.redis_url, args.sockets, 100, f"ab{n}")
            floors = [d.floor for d in deployments if d.floor is not None]
            services = [replica for d in deployments for replica in d.replicas]
            for d in deployments:
                assert d.floor is not None
                await relay_run(d.floor, d.replicas, args.rate, 3, "warm", floors)
            print(
                f"Relay at {args.rate} messages/s, {args.sockets} sockets, {args.seconds:g} s a run"
            )
            print()
            print(
                "| round | code | p50 ms | p99 ms | service CPU ms/message | RSS MiB "
                "| collector pauses: count / total / longest |"
            )
            print("|---|---|---|---|---|---|---|")
            for round_number in range(args.rounds):
                order = deployments if round_number % 2 == 0 else deployments[::-1]
                for d in order:
                    assert d.floor is not None
                    await cpu_quiet(services)
                    replica = d.replicas[0]
                    before = await gc_pauses(replica.url)
                    run = await relay_run(
                        d.floor, d.replicas, args.rate, args.seconds, f"r{round_number}", floors
                    )
                    pauses = describe(before, await gc_pauses(replica.url))
                    print(
                        f"| {round_number + 1} | {d.code.name} | {run.p50_ms:.1f} | "
                        f"{run.p99_ms:.1f} | {run.service_cpu_ms:.2f} | "
                        f"{replica.rss_bytes() / 2**20:.0f} | {pauses} |",
                        flush=True,
                    )
        finally:
            for d in deployments:
                await d.stop()
            await rasa.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="the commit to compare with")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sockets", type=int, default=1000)
    asyncio.run(compare(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
