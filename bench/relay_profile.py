"""A flame graph of one handoff replica under the serving bench's relay load (py-spy).

    .venv-app/bin/python bench/relay_profile.py OUT [--rate 500] [--seconds 15] [--sockets 1000]
                                                [--baseline REF] [--native] [--py-spy PATH]

Builds the relay bench's floor (bench/serving_bench.py: its own redis-server, a scripted Rasa,
every customer's chat assigned to an online agent), warms it up, then samples the replica with
py-spy for the length of one open-loop relay run and writes OUT.svg (the flame graph) and
OUT.txt (the collapsed stacks, for tables). `--baseline REF` profiles that commit's code instead,
as the bench runs it. py-spy is not in the project's environments: install it anywhere
(`pip install py-spy` in a throwaway venv) and name it with `--py-spy`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.serving.load import build_floor, deploy, relay_run
from bench.serving.processes import CURRENT, ScriptedRasa, export_baseline


async def profile(args: argparse.Namespace) -> None:
    rasa = ScriptedRasa()
    await rasa.start()
    with tempfile.TemporaryDirectory(prefix="relay-profile-") as folder:
        tmp = Path(folder)
        code = export_baseline(args.baseline, tmp) if args.baseline else CURRENT
        (d,) = await deploy([code], 1, tmp, "profile", rasa)
        try:
            d.floor = await build_floor(d.replicas, d.redis_url, args.sockets, 100, "p")
            await relay_run(d.floor, d.replicas, args.rate, 3, "warm")
            pid = str(d.replicas[0].process.pid)
            # --native breaks down the C frames (uvloop, aiohttp's parsers, hiredis) that
            # otherwise show as the event loop's own work.
            # py-spy samples C frames only while the process is paused (blocking mode).
            native = ("--native",) if args.native else ("--nonblocking",)
            spies = [
                await asyncio.create_subprocess_exec(
                    *(args.py_spy, "record", "--pid", pid, "--rate", "200"),
                    *("--duration", str(int(args.seconds)), *native, *extra),
                )
                for extra in (
                    ("-o", f"{args.out}.svg"),
                    ("--format", "raw", "-o", f"{args.out}.txt"),
                )
            ]
            sample = await relay_run(d.floor, d.replicas, args.rate, args.seconds, "spy")
            for spy in spies:
                await spy.wait()
            print(
                f"{code.name}, {args.rate} messages/s: delivered "
                f"{len(sample.latencies)}/{sample.expected}, p50 {sample.p50_ms:.1f} ms, "
                f"p99 {sample.p99_ms:.1f} ms, service CPU {sample.service_cpu_ms:.2f} ms/message"
            )
        finally:
            await d.stop()
            await rasa.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="path prefix of the .svg and .txt written")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--baseline", default="", metavar="REF")
    parser.add_argument("--native", action="store_true", help="sample C frames too")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    asyncio.run(profile(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
