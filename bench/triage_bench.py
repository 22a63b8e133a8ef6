"""Benchmark the escalation triage and print Markdown tables.

    .venv-app/bin/python bench/triage_bench.py [--model DIR] [--latency-messages N]

Measures, in one run:

* the escalate decision on the held-out split of data/triage (never used for training or
  for choosing thresholds), per reason as well, next to a VADER baseline;
* on the GoEmotions *test* split, against the proxy label "displeased = anger | annoyance |
  disappointment | disgust": the displeasure score (the mood the agent sees) and the
  anger|frustration escalation reasons, next to VADER;
* model load time and per-message latency (p50 / p99) of ``TriageModel.assess``.

VADER escalates when its compound score is <= a threshold; the threshold is chosen for best
F1 on training data only (data/triage/train.jsonl, and for the GoEmotions table also the
GoEmotions train split), over the grid -1.00, -0.99, ... 1.00 (1.00 = escalate everything).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench import machine  # noqa: E402
from handoff.assistant.triage import TriageModel  # noqa: E402
from handoff.assistant.triage.config import model_dir as default_model_dir  # noqa: E402
from handoff.assistant.triage.displeasure_build import read_split  # noqa: E402
from handoff.assistant.triage.train import (  # noqa: E402
    HELDOUT_APART_FILE,
    HELDOUT_FILE,
    TRAIN_FILE,
    read_messages,
)

GOEMOTIONS_DIR = REPO_ROOT / "bench" / "data" / "goemotions"
VADER_GRID = tuple(round(-1.0 + 0.01 * i, 2) for i in range(201))


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, predicted: Sequence[bool], actual: Sequence[bool]) -> Counts:
        pairs = list(zip(predicted, actual, strict=True))
        return cls(
            tp=sum(p and a for p, a in pairs),
            fp=sum(p and not a for p, a in pairs),
            fn=sum(a and not p for p, a in pairs),
            tn=sum(not p and not a for p, a in pairs),
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} "
            f"| {self.tp} | {self.fp} | {self.fn} | {self.tn} |"
        )


TABLE_HEAD = (
    "| system | precision | recall | F1 | TP | FP | FN | TN |\n|---|---|---|---|---|---|---|---|"
)


def read_goemotions(split: str, directory: Path) -> list[tuple[str, bool]]:
    """(comment, displeased) pairs, as the displeasure model's build reads them."""
    comments = read_split(directory, split)
    return list(zip(comments.texts, (bool(d) for d in comments.displeased), strict=True))


def vader_scorer() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    return lambda text: float(analyser.polarity_scores(text)["compound"])


def best_vader_threshold(compounds: Sequence[float], actual: Sequence[bool]) -> float:
    best = max(
        VADER_GRID,
        key=lambda t: (Counts.of([c <= t for c in compounds], actual).f1, -abs(t)),
    )
    return best


def cold_load_seconds(model_path: Path) -> float:
    """Load time in a fresh interpreter, including the spaCy import the service pays once."""
    probe = (
        "import time; t = time.perf_counter(); "
        "from handoff.assistant.triage import TriageModel; "
        f"TriageModel.load({str(model_path)!r}); print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
    )
    return float(result.stdout.strip())


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: service)")
    parser.add_argument("--goemotions", type=Path, default=GOEMOTIONS_DIR)
    parser.add_argument("--latency-messages", type=int, default=3000)
    args = parser.parse_args(argv)
    model_path: Path = args.model or default_model_dir()

    import spacy

    print(
        f"Escalation triage benchmark: {machine.cores()} cores, Python {platform.python_version()},"
        f" spaCy {spacy.__version__}, model {model_path}\n"
    )

    started = time.perf_counter()
    model = TriageModel.load(model_path)
    warm_load = time.perf_counter() - started
    vader = vader_scorer()

    # --- in-domain held-out splits ------------------------------------------------------
    train = read_messages(TRAIN_FILE)
    train_compound = [vader(m.text) for m in train]
    vader_t = best_vader_threshold(train_compound, [bool(m.labels) for m in train])
    for title, path in (
        ("data/triage held-out split (80/20 of the first pool)", HELDOUT_FILE),
        ("messages written apart from the training data", HELDOUT_APART_FILE),
    ):
        held_out = read_messages(path)
        verdicts = model.assess_many(m.text for m in held_out)
        actual = [bool(m.labels) for m in held_out]
        print(f"### Escalate decision, {title} ({len(held_out)} messages, {path.name})\n")
        print(TABLE_HEAD)
        print(Counts.of([v.escalate for v in verdicts], actual).row("triage (TriageModel)"))
        print(
            Counts.of([vader(m.text) <= vader_t for m in held_out], actual).row(
                f"VADER compound <= {vader_t:.2f} (chosen on train.jsonl)"
            )
        )
        print("\nPer reason (a label counts as predicted when its score reaches its threshold):\n")
        print(TABLE_HEAD.replace("system", "label"))
        for label, threshold in model.thresholds.to_dict().items():
            predicted = [v.scores[label] >= threshold for v in verdicts]
            print(Counts.of(predicted, [label in m.labels for m in held_out]).row(label))
        routine = [v for v, m in zip(verdicts, held_out, strict=True) if not m.labels]
        print(
            f"\nRoutine held-out messages escalated: {sum(v.escalate for v in routine)}"
            f" of {len(routine)}. {machine.machine_note()}\n"
        )

    # --- GoEmotions proxy ------------------------------------------------------------------
    ge_test = read_goemotions("test", args.goemotions)
    ge_train = read_goemotions("train", args.goemotions)
    ge_actual = [frustrated for _, frustrated in ge_test]
    ge_verdicts = model.assess_many(text for text, _ in ge_test)
    ge_compound = [vader(text) for text, _ in ge_test]
    vader_t_ge = best_vader_threshold(
        [vader(text) for text, _ in ge_train], [frustrated for _, frustrated in ge_train]
    )
    angry = [
        v.scores["anger"] >= model.thresholds.anger
        or v.scores["frustration"] >= model.thresholds.frustration
        for v in ge_verdicts
    ]
    positives = sum(ge_actual)
    print(
        f"\n### GoEmotions test split ({len(ge_test)} Reddit comments, {positives} 'displeased'"
        " = anger | annoyance | disappointment | disgust)\n"
    )
    print(TABLE_HEAD)
    print(
        Counts.of([v.displeased for v in ge_verdicts], ge_actual).row(
            "**triage displeasure** (the mood the agent sees; threshold chosen on GoEmotions dev)"
        )
    )
    print(Counts.of(angry, ge_actual).row("triage anger or frustration (escalation reasons)"))
    print(Counts.of([v.escalate for v in ge_verdicts], ge_actual).row("triage escalate (any)"))
    print(
        Counts.of([c <= vader_t for c in ge_compound], ge_actual).row(
            f"VADER compound <= {vader_t:.2f} (chosen on data/triage train)"
        )
    )
    print(
        Counts.of([c <= vader_t_ge for c in ge_compound], ge_actual).row(
            f"VADER compound <= {vader_t_ge:.2f} (chosen on GoEmotions train)"
        )
    )
    print(f"\n{machine.machine_note()}")

    # --- speed -----------------------------------------------------------------------------
    texts = [m.text for m in held_out] + [text for text, _ in ge_test]
    texts = (texts * (args.latency_messages // len(texts) + 1))[: args.latency_messages]
    for text in texts[:50]:
        model.assess(text)
    timings = []
    for text in texts:
        tick = time.perf_counter()
        model.assess(text)
        timings.append(time.perf_counter() - tick)
    tick = time.perf_counter()
    model.assess_many(texts)
    batched = time.perf_counter() - tick
    cold = statistics.median(cold_load_seconds(model_path) for _ in range(3))
    print(f"\n### Speed ({len(texts)} messages, one thread)\n")
    print("| measure | value |\n|---|---|")
    print(f"| cold load, fresh process incl. spaCy import (median of 3) | {cold:.2f} s |")
    print(f"| TriageModel.load() in a process that already imported spaCy | {warm_load:.2f} s |")
    print(f"| assess() latency p50 | {1000 * percentile(timings, 0.5):.2f} ms |")
    print(f"| assess() latency p99 | {1000 * percentile(timings, 0.99):.2f} ms |")
    print(f"| assess_many() throughput | {len(texts) / batched:,.0f} messages/s |")
    print(f"\n{machine.machine_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
