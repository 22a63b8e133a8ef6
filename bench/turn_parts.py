"""What a bot turn through the gateway adds to Rasa's own time, part by part, at one conversation.

    .venv-app/bin/python bench/turn_parts.py [--turns 200] [--baseline REF]

Rasa is replaced by the serving bench's scripted webhook, which answers at once, so what is
left is the gateway's own share of a turn. One conversation, one message at a time:

- **the hop**: the scripted webhook called straight (HTTP to a local server and back);
- **the gateway's path**: a turn through the customer websocket with triage off, less the hop:
  the message stored (one round trip), the turn lock, the bot's cursor and reply written, the
  typing hints, the reply delivered to the socket;
- **triage**: the same turn with triage on, less the turn with it off.

With each code given (this checkout, and `--baseline REF`), both services run side by side on
one redis-server and take turns, run by run, so a busy moment hits both. The real Rasa's time
for the same turn is in `make bench-serving`'s bot table (its webhook row at one conversation):
each part's share of the ratio to it is that part's milliseconds over Rasa's.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving.bot_turns import direct_conversation, gateway_conversation
from bench.serving.processes import (
    CURRENT,
    ScriptedRasa,
    Service,
    export_baseline,
    start_redis,
    start_service,
    stop,
)
from bench.serving.report import Sample, machine_note


async def webhook_turns(session: aiohttp.ClientSession, url: str, turns: int) -> Sample:
    sample = Sample()
    await direct_conversation(session, url, turns, sample)
    return sample


async def gateway_turns(session: aiohttp.ClientSession, service: Service, turns: int) -> Sample:
    sample = Sample()
    await gateway_conversation(session, service.url, turns, sample)
    return sample


async def measure(args: argparse.Namespace) -> None:
    rasa = ScriptedRasa()
    await rasa.start()
    with tempfile.TemporaryDirectory(prefix="turn-parts-") as folder:
        tmp = Path(folder)
        codes = [CURRENT]
        if args.baseline:
            codes.insert(0, export_baseline(args.baseline, tmp))
        redis_process, redis_url = start_redis(tmp / "redis")
        secret = secrets.token_hex(32)
        services: dict[tuple[str, bool], Service] = {}
        try:
            for code in codes:
                for triage in (False, True):
                    services[(code.name, triage)] = await start_service(
                        redis_url,
                        rasa.url,
                        tmp / f"{code.name}-{triage}".replace(" ", "-"),
                        secret,
                        code,
                        TRIAGE_ENABLED="true" if triage else "false",
                    )
            async with aiohttp.ClientSession() as session:
                await webhook_turns(session, rasa.url, 20)  # warm-up
                for service in services.values():
                    await gateway_turns(session, service, 20)
                hop = Sample()
                turns: dict[tuple[str, bool], Sample] = {k: Sample() for k in services}
                started = time.monotonic()
                for _ in range(args.rounds):
                    hop.latencies += (
                        await webhook_turns(session, rasa.url, args.turns // args.rounds)
                    ).latencies
                    for key, service in services.items():
                        run = await gateway_turns(session, service, args.turns // args.rounds)
                        turns[key].latencies += run.latencies
                        turns[key].failures += run.failures
            print(
                f"One conversation, {args.turns} turns each in {args.rounds} rounds, "
                f"{time.monotonic() - started:.0f} s; Rasa scripted to answer at once."
            )
            print()
            print(
                "| code | the hop, p50 / p99 ms | gateway's path (triage off, less the hop) "
                "| triage (on, less off) | whole turn, triage on, p50 / p99 ms | failed |"
            )
            print("|---|---|---|---|---|---|")
            for code in codes:
                off, on = turns[(code.name, False)], turns[(code.name, True)]
                print(
                    f"| {code.name} | {hop.p50_ms:.1f} / {hop.p99_ms:.1f} "
                    f"| {off.p50_ms - hop.p50_ms:.1f} ms | {on.p50_ms - off.p50_ms:.1f} ms "
                    f"| {on.p50_ms:.1f} / {on.p99_ms:.1f} | {off.failures + on.failures} |"
                )
            print()
            print(machine_note())
        finally:
            for service in services.values():
                stop(service.process)
            stop(redis_process)
            await rasa.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline", default="", metavar="REF")
    asyncio.run(measure(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
