"""Serving speed of the handoff service, printed as Markdown tables.

    .venv-app/bin/python bench/serving_bench.py [--quick]
                                 [--sections bot,relay,escalation,scaling,memory]
                                                [--baseline REF | --baseline none]

Everything it needs is started here, on free ports, and stopped at the end:

* **bot** — the whole stack through bot/launcher/ (its own var folder, its own Redis, the real
  Rasa server with the trained model, the action server, triage on), plus a second handoff
  process on the same Redis and Rasa with triage off. One bot turn is measured three ways in the
  same run: straight to Rasa's REST webhook (the baseline), through the gateway's customer
  websocket with triage, and without it; closed loop at 1, 20 and 100 concurrent conversations.
  Through the gateway a turn ends when the first bot message reaches the customer's socket.
* **relay** — `python -m handoff` as a subprocess with its own redis-server and a scripted Rasa
  peer; 1,000 customer sockets, every chat `assigned` to an online agent; open-loop load at 100,
  500 and 2,000 messages/s, latency from the customer's send to the agent's socket receiving it;
  the service's RSS per open socket. The baseline is a `ping` → `pong` round trip on a customer
  socket of the same service (one websocket hop, no Redis).
* **escalation** — a customer asks for a person; latency until a logged-in agent's socket gets
  the queue update listing that chat (triage on, as customers meet it).
* **scaling** — the relay load on one replica and on two sharing one Redis (customers and agents
  spread over both, so half the chats cross replicas).
* **memory** — only the service's RSS per open socket, bare and with the chats seated as the
  relay seats them, after a warm-up; a minute or two per code (not in the default set).

Every handoff figure is measured twice in the same run: with this checkout's code, and with the
code of a baseline commit (`--baseline`, by default main before the serving work of issue 20),
exported with `git archive` into the temporary folder and run by the same Python environment
(without hiredis when the baseline's requirements do not list it, as they did not; with the
sentence encoder's graph its own setup step built, once, in a cache folder of its own). Both run
side by side on the same machine, interleaved rate by rate, so the ratios hold on a busy machine
where the absolute times do not. The summary at the end puts the issue's figures next to its goals.

The load generator is this process; the service is another. With few cores they compete for
CPU, which the tables say next to `nproc`; the generator's own CPU time per message is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.serving.bot_turns import bot_turns
from bench.serving.memory import memory_section
from bench.serving.processes import BASELINE_REF, CURRENT, export_baseline, git_head, profile_into
from bench.serving.relay import relay_and_escalation
from bench.serving.report import emit, print_summary
from bench.serving.scale import FULL, QUICK


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument(
        "--sections",
        default="",
        help="comma-separated: bot, relay, escalation, scaling, memory (default: all but "
        "memory, which relay covers; with --quick, also not bot, which needs Rasa's start-up)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the handoff replicas under cProfile and write their stats into DIR",
    )
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        metavar="REF",
        help=f"the commit whose code every figure is compared with (default {BASELINE_REF}, "
        "main before the serving work); 'none' measures this checkout only",
    )
    args = parser.parse_args(argv)
    if args.profile is not None:
        profile_into(args.profile)
    scale = QUICK if args.quick else FULL
    default = "relay,escalation,scaling" if args.quick else "bot,relay,escalation,scaling"
    sections = {s.strip() for s in (args.sections or default).split(",") if s.strip()}
    unknown = sections - {"bot", "relay", "escalation", "scaling", "memory"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    emit(f"Serving benchmark{' (quick)' if args.quick else ''}; `nproc` = {machine.cores()}.")
    emit()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as folder:
        tmp = Path(folder)
        codes = [CURRENT]
        if args.baseline != "none":
            codes.insert(0, export_baseline(args.baseline, tmp))
        emit(
            "Code measured: "
            + "; ".join(f"**{code.name}** ({code.folder})" for code in codes)
            + f"; this checkout is at commit {git_head()}."
        )
        emit()
        if "bot" in sections:
            await bot_turns(scale, tmp, codes)
        if sections & {"relay", "escalation", "scaling"}:
            await relay_and_escalation(scale, tmp, sections, codes)
        if "memory" in sections:
            await memory_section(scale, tmp, codes)
        print_summary(codes)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
