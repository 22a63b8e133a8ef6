"""Probe: would a better gate serve more of the shop's questions at the same share of wrong answers?

Not part of the product: the measurement that chose the gate (bot/nlu/classifier.py, fitted by
bot/nlu/calibrate.py); it compares the two with the gate off in config.yml's settings.

    .venv-rasa/bin/python bench/gate_probe.py [--folds 5]

Every training phrasing is classified by a model trained on the other folds (as
bot/nlu/calibrate.py does). Two gates decide, from those out-of-fold predictions, between the
answer and "please rephrase":

* today's: the fused probability of the likeliest label (FallbackClassifier's threshold);
* a second-stage logistic regression that predicts whether the likeliest label is right from
  what the views say about the part that speaks for the message (fused, linear and neighbour
  probabilities, the margin to the runner-up, the views' agreement, similarities, length,
  parts), itself scored out of fold over the same folds.

It prints, for each gate, the most right answers it gets with at most 2 / 2.5 / 3 % wrong, and
the point of best utility (right − 6 × wrong, calibrate.py's); then what declining sooner
would do (a lower threshold for out of scope alone). The development set (data/dev) is scored
too; the held-out sets are never read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.evaluate.heldout import read_topic_messages  # noqa: E402
from bot.evaluate.tally import is_right  # noqa: E402
from bot.nlu.calibrate import (  # noqa: E402
    WRONG_ANSWER_COST,
    configured,
    fit_gate,
    gated_out_of_fold,
    out_of_fold,
    training_examples,
)
from bot.nlu.classifier import OUT_OF_SCOPE, MessageClassifier, gate_probability  # noqa: E402
from understanding.encoder import load_joint  # noqa: E402

DEV = ROOT / "data" / "dev" / "faq_dev.yml"
WRONG_CAPS = (2.0, 2.5, 3.0)
GATE_GRID = np.linspace(0.05, 0.99, 189)


@dataclass(frozen=True)
class Read:
    """One message as the classifier read it: its likeliest label and the gate's features."""

    label: str
    confidence: float
    features: np.ndarray


def read(model: MessageClassifier, texts: Sequence[str], encode: Callable) -> list[Read]:
    """Each text's likeliest label, its fused probability and the gate's features
    (the classifier's own, with its gate off)."""
    found: list[Read] = []
    for score in model.scores(texts, encode):
        top = int(np.argmax(score.probabilities))
        found.append(Read(model.labels[top], float(score.probabilities[top]), score.gate_features))
    return found


def outcome(reads: Sequence[Read], gold: Sequence[str], score: np.ndarray, t: float) -> tuple:
    """Right, wrong and rephrase in % when every message scoring at least t is answered."""
    answered = score >= t
    right = sum(a and is_right(r.label, g) for a, r, g in zip(answered, reads, gold, strict=True))
    wrong = int(answered.sum()) - right
    n = len(reads)
    return 100 * right / n, 100 * wrong / n, 100 * (n - right - wrong) / n


def best_within(reads: Sequence[Read], gold: Sequence[str], score: np.ndarray, cap: float) -> str:
    points = [(t, *outcome(reads, gold, score, t)) for t in GATE_GRID]
    fine = [p for p in points if p[2] <= cap]
    if not fine:
        return "–"
    t, right, wrong, _ = max(fine, key=lambda p: p[1])
    return f"{right:.1f} / {wrong:.1f} % (t {t:.2f})"


def best_utility(reads: Sequence[Read], gold: Sequence[str], score: np.ndarray) -> str:
    points = [(t, *outcome(reads, gold, score, t)) for t in GATE_GRID]
    t, right, wrong, _ = max(points, key=lambda p: p[1] - WRONG_ANSWER_COST * p[2])
    return f"{right:.1f} / {wrong:.1f} % (t {t:.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    settings, threshold, _ = configured()
    settings = replace(settings, gate=())  # the fused probability, as before the gate
    examples = training_examples()
    gold = np.array([label for _, label in examples])
    oof = out_of_fold(examples, settings, args.folds)  # the floor as configured
    top = np.argmax(oof.probabilities, axis=1)
    cv = [
        Read(oof.labels[t], float(p[t]), f)
        for t, p, f in zip(top, oof.probabilities, oof.features, strict=True)
    ]
    y = np.array([is_right(r.label, g) for r, g in zip(cv, gold, strict=True)])
    stage_two = gated_out_of_fold(oof, y, np.ones(len(cv), dtype=bool))
    today = np.array([r.confidence for r in cv])
    print(
        f"{len(cv)} training phrasings, {args.folds}-fold; likeliest label right ungated "
        f"{100 * y.mean():.1f} %\n"
    )
    print(
        "| gate (cross-validation) | "
        + " | ".join(f"most right, ≤ {c:g} % wrong" for c in WRONG_CAPS)
        + " | best utility |"
    )
    print("|---|" + "---|" * (len(WRONG_CAPS) + 1))
    for name, score in (("fused probability (today)", today), ("second-stage model", stage_two)):
        cells = [best_within(cv, list(gold), score, cap) for cap in WRONG_CAPS]
        print(f"| {name} | " + " | ".join(cells) + f" | {best_utility(cv, list(gold), score)} |")

    print(
        "\nDeclining sooner: out of scope answered from a lower threshold than the rest "
        f"({threshold}), cross-validation\n"
    )
    print("| out-of-scope threshold | right | wrong | rephrase | utility |")
    print("|---|---|---|---|---|")
    for oos_threshold in (threshold, 0.5, 0.45, 0.4, 0.35, 0.3):
        bar = np.array([oos_threshold if r.label == OUT_OF_SCOPE else threshold for r in cv])
        right, wrong, rephrase = outcome(cv, list(gold), today - bar, 0.0)
        utility = (right - WRONG_ANSWER_COST * wrong) * len(cv) / 100
        cells = f"{right:.1f} % | {wrong:.1f} % | {rephrase:.1f} % | {utility:.0f}"
        print(f"| {oos_threshold} | {cells} |")

    if DEV.is_file():
        encoder = load_joint(settings.encoders)
        texts = [text for text, _ in examples]
        model = MessageClassifier.train(texts, list(gold), encoder.encode, settings)
        dev = read_topic_messages(DEV)
        dev_reads = read(model, [m.text for m in dev], encoder.encode)
        dev_gold = [m.expected for m in dev]
        gate = fit_gate(oof.features, y)
        dev_two = np.array([gate_probability(gate, r.features) for r in dev_reads])
        dev_today = np.array([r.confidence for r in dev_reads])
        print(f"\nDevelopment set ({len(dev)} messages): right / wrong / rephrase\n")
        print("| gate | threshold | right | wrong | rephrase |")
        print("|---|---|---|---|---|")
        for name, score, grid in (
            ("fused probability (today)", dev_today, (0.5, threshold, 0.6)),
            ("second-stage model", dev_two, (0.5, 0.6, 0.7, 0.8)),
        ):
            for t in grid:
                right, wrong, rephrase = outcome(dev_reads, dev_gold, score, t)
                print(f"| {name} | {t:.2f} | {right:.1f} % | {wrong:.1f} % | {rephrase:.1f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
