"""Section 4 of the evaluation: turn latency in-process, the model in Rasa's Agent and the real
action server, a few hundred messages of scripted conversations, one turn at a time."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.model import ROOT
from bot.rasa_http import wait_until_answers
from bot.rasa_server import use_compiled_action_schema

BASELINE_P50_MS = 38.0  # plain Rasa (rasa init's model) on this machine, ARCHITECTURE.md

# Conversations as customers have them; cycled with a new conversation id each time.
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    ("hi", "how long does shipping take?", "and how much does it cost", "thanks", "bye"),
    ("where's my order", "HG-10008", "lucas.muller37@example.com", "thank you"),
    ("hg 10029", "94119", "nora.silva53@example.com", "no thanks"),
    ("what's the weather like", "can i return something i used", "ok bye"),
    ("blorp snorf", "zzkx qwp", "no thanks", "do you sell gift cards"),
    ("are you a bot", "what can you do", "talk to a person"),
)


@contextlib.contextmanager
def action_server(database_url: str) -> Iterator[str]:
    # The test suite's helper; `tests` is importable only from the repository root.
    from tests.support.servers import free_port

    port = free_port()
    env = {**os.environ, "ORDERS_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_answers(f"{url}/health", 60, lambda: process.poll() is None):
            raise RuntimeError("the action server did not start")
        yield f"{url}/webhook"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def measure_latency(model_path: str, messages: int, workdir: Path) -> list[float]:
    """Milliseconds per turn (message in, all replies out), one conversation at a time."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    use_compiled_action_schema()  # as the launcher's Rasa server does
    with action_server(f"sqlite:///{workdir / 'orders.sqlite3'}") as webhook:
        agent = Agent.load(model_path, action_endpoint=EndpointConfig(url=webhook))
        timings: list[float] = []
        conversation = 0
        while len(timings) < messages:
            for text in CONVERSATIONS[conversation % len(CONVERSATIONS)]:
                started = time.perf_counter()
                await agent.handle_text(text, sender_id=f"latency-{conversation}")
                timings.append(1000 * (time.perf_counter() - started))
            conversation += 1
    return timings[:messages]


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def report_latency(model: str, messages: int, workdir: Path) -> None:
    print("4. Turn latency (Agent in-process + real action server, one turn at a time)")
    timings = await measure_latency(model, messages, workdir)
    warm = timings[5:]  # the first turns build TensorFlow's graphs
    print(
        f"    p50 {percentile(warm, 50):.0f} ms, p99 {percentile(warm, 99):.0f} ms over "
        f"{len(warm)} turns (baseline: plain Rasa p50 {BASELINE_P50_MS:.0f} ms)"
    )
