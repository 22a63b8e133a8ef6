"""How many bot turns Rasa answers a second, and how fast, by how many it is sent at once.

    .venv-app/bin/python -m tests.soak.rasa_concurrency [--seconds 40] [--at 1,2,3,4,6,8,16]

Starts the real stack (tests/support/stack.py: Rasa with the trained model, the action server,
the NLG server, an order database in SQLite), then keeps that many conversations talking
straight to Rasa's REST webhook, each sending its next message as soon as the last is answered
(60 % three FAQ questions, 40 % an order check with verification, as in the soak). Prints one
line per level: turns a second, p50/p90/p99 latency, errors, the load average.

This is the measurement behind BOT_TURNS_IN_FLIGHT's default (docs/reliability.md,
"Overload"): past the level where turns a second stop growing, each turn more at once only
adds to every turn's wait inside Rasa.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.soak.questions import FAQ
from tests.support.servers import free_port
from tests.support.stack import ROOT, start_stack, stop_stack


def orders() -> list[tuple[str, str]]:
    with (ROOT / "actions" / "data" / "orders.csv").open() as rows:
        return [(row["order_number"], row["email"]) for row in csv.DictReader(rows)][:20]


async def conversations(
    http: aiohttp.ClientSession, url: str, token: str, until: float, turns: list[tuple[float, bool]]
) -> None:
    """One customer after another on one connection slot, until `until`."""
    known = orders()
    while time.monotonic() < until:
        sender = secrets.token_hex(16)
        if random.random() < 0.6:
            texts = random.sample(FAQ, 3)
        else:
            number, email = random.choice(known)
            texts = ["where is my order?", number, email]
        for text in texts:
            began = time.monotonic()
            async with http.post(
                f"{url}/webhooks/rest/webhook",
                params={"token": token},
                json={"sender": sender, "message": text},
            ) as response:
                await response.read()
                ok = response.status == 200
            if time.monotonic() < until:
                turns.append((time.monotonic() - began, ok))


async def level(url: str, token: str, at_once: int, seconds: float) -> str:
    turns: list[tuple[float, bool]] = []
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        await asyncio.gather(
            *(conversations(http, url, token, until, turns) for _ in range(at_once))
        )
    latencies = sorted(seconds for seconds, _ in turns)

    def ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    errors = sum(not ok for _, ok in turns)
    return (
        f"| {at_once} | {len(turns) / seconds:.1f} | {ms(0.5):.0f} | {ms(0.9):.0f} | "
        f"{ms(0.99):.0f} | {errors} | {os.getloadavg()[0]:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.rasa_concurrency")
    parser.add_argument("--seconds", type=float, default=40.0, help="per level")
    parser.add_argument("--at", default="1,2,3,4,6,8,16", help="turns at once, comma-separated")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rasa-concurrency-") as folder:
        stack = start_stack(Path(folder) / "var", {"NLG_PORT": str(free_port())})
        try:
            url = f"http://127.0.0.1:{stack.ports['RASA_PORT']}"
            token = stack.rasa_token()
            asyncio.run(level(url, token, 2, 15.0))  # warm-up: first turns load lazily
            print(f"{os.cpu_count()} cores; {args.seconds:.0f} s per level")
            print("| at once | turns/s | p50 ms | p90 ms | p99 ms | errors | load average |")
            print("|---|---|---|---|---|---|---|")
            for at_once in (int(n) for n in args.at.split(",")):
                print(asyncio.run(level(url, token, at_once, args.seconds)), flush=True)
        finally:
            stop_stack(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
