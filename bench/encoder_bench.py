"""The sentence encoders' speed by precision, and what the assistant's model costs in memory.

    .venv-rasa/bin/python bench/encoder_bench.py       (make bench-encoder)

Prints two tables:

1. Milliseconds per text through `understanding.encoder` (one text per run, as serving does)
   for a fragment, a question and a story-first message, for each encoder (MiniLM, MPNet),
   with the int8 graph customers get and the float32 graph it was built beside; the ratio is
   int8 / float32 in the same run.
2. Resident memory (VmRSS) of fresh processes: Python with Rasa imported (the baseline), the
   same with the assistant's trained model loaded in Rasa's Agent and one message parsed, and
   each encoder alone loaded in a bare process (what the pretrained encoder itself costs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from understanding.encoder import load_encoder  # noqa: E402
from understanding.graph import FLOAT32, INT8  # noqa: E402
from understanding.weights import MODELS, ModelSource  # noqa: E402

TEXTS = {
    "fragment (3 words)": "refund still pending",
    "question (15 words)": "hi, how long does shipping to canada usually take for a big rug order?",
    "story first (60 words)": (
        "I bought a lamp for my daughter two weeks ago, it was supposed to be a surprise for her "
        "new flat. The box looked fine when it came but when she opened it the glass shade was "
        "cracked all the way round and one of the screws was missing too. She is really upset. "
        "What do I do now, can you send a new one?"
    ),
}
RUNS = 200

# Each memory figure is measured in a fresh interpreter, so nothing loaded before counts.
MEMORY_PROBES = {
    "Python + Rasa imported (baseline)": "import rasa.core.agent",
    "+ the assistant's model in Rasa's Agent, one message parsed": (
        "import asyncio\n"
        "from rasa.core.agent import Agent\n"
        "from bot.model import ensure_model\n"
        "agent = Agent.load(str(ensure_model(quiet=True)))\n"
        "asyncio.run(agent.parse_message('where is my order'))"
    ),
    **{
        f"{name} alone (onnxruntime, int8), one text encoded": (
            "from understanding.encoder import load_encoder\n"
            "from understanding.weights import MODELS\n"
            f"load_encoder(source=MODELS[{name!r}]).encode(['hello'])"
        )
        for name in MODELS
    },
    "bare Python + numpy + onnxruntime (the encoder's baseline)": ("import numpy, onnxruntime"),
}
READ_RSS = (
    "\nfor line in open('/proc/self/status'):\n"
    "    if line.startswith('VmRSS:'): print(int(line.split()[1]) // 1024)\n"
)


def timings(source: ModelSource, precision: str, text: str) -> list[float]:
    encoder = load_encoder(precision=precision, source=source)
    for _ in range(10):
        encoder.encode([text])
    result = []
    for _ in range(RUNS):
        started = time.perf_counter()
        encoder.encode([text])
        result.append(1000 * (time.perf_counter() - started))
    return sorted(result)


def speed_table() -> None:
    print(f"### Encoder, milliseconds per text ({RUNS} runs each, one text per run)\n")
    print(
        "| encoder | message | pieces | int8 p50 | int8 p99 | float32 p50 | float32 p99 |"
        " int8 / float32 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for source in MODELS.values():
        pieces_of = load_encoder(source=source).tokenizer.encode
        for name, text in TEXTS.items():
            fast, exact = timings(source, INT8, text), timings(source, FLOAT32, text)
            p99 = int(0.99 * (RUNS - 1))
            ratio = statistics.median(fast) / statistics.median(exact)
            print(
                f"| {source.name} | {name} | {len(pieces_of(text)) + 2} | "
                f"{statistics.median(fast):.1f} | {fast[p99]:.1f} | "
                f"{statistics.median(exact):.1f} | {exact[p99]:.1f} | {ratio:.2f} |"
            )


def memory_table() -> None:
    print("\n### Resident memory of fresh processes (MiB)\n")
    print("| process | VmRSS |")
    print("|---|---|")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name, code in MEMORY_PROBES.items():
        done = subprocess.run(
            [sys.executable, "-c", code + READ_RSS],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        lines = done.stdout.strip().splitlines()
        value = lines[-1] if done.returncode == 0 and lines else f"failed: {done.stderr[-200:]!r}"
        print(f"| {name} | {value} |")


def main() -> int:
    print(f"`nproc` = {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} when started.\n")
    speed_table()
    memory_table()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
