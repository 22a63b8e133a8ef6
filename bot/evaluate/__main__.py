"""Evaluate the assistant: training time, held-out answers, out of scope, latency, CV."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.evaluate.cross_validation import report_cross_validation
from bot.evaluate.heldout_report import report_held_out, report_out_of_scope
from bot.evaluate.latency import report_latency
from bot.evaluate.training import TRAIN_BUDGET_SECONDS, train_full
from bot.fallback import configured_fallback
from bot.rasa_agent import quiet_rasa


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.evaluate",
        description="Evaluate the assistant: how often it understands, how often it answers "
        "wrongly, how fast it is.",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300, help="turns for the latency run")
    parser.add_argument("--model", help="evaluate this model instead of training one")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    quiet_rasa(logging.ERROR)
    setting = configured_fallback()

    with tempfile.TemporaryDirectory(prefix="harbor-evaluate-") as temp:
        workdir = Path(temp)
        print(
            f"Machine: {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}"
        )
        print("1. Training")
        if args.model:
            model = args.model
            print(f"    using {model} (not timed)")
        else:
            model, seconds = train_full(workdir)
            verdict = "within" if seconds <= TRAIN_BUDGET_SECONDS else "OVER"
            budget = f"{verdict} the {TRAIN_BUDGET_SECONDS:.0f} s budget"
            print(f"    full rasa train (empty cache): {seconds:.0f} s ({budget})")
        await report_held_out(model)
        await report_out_of_scope(model)
        if not args.skip_latency:
            await report_latency(model, args.messages, workdir)
        if not args.skip_cv:
            await report_cross_validation(args.folds, workdir, setting)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    raise SystemExit(asyncio.run(main()))
