"""The NLU benchmark's data: the public datasets (HINT3, BANKING77, CLINC150) read from
bench/data with their out-of-scope labels unified, the quick subset, the held-out split of a
training split, and HINT3's published results. Used by bench/nlu_bench.py.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.nlu_metrics import OOS, Scores

DATA = Path(__file__).resolve().parent / "data"
# The assistant's held-out sets (bot/evaluate/heldout.py) read CLINC150 from here unless told
# otherwise.
os.environ.setdefault("CLINC150_DATA", str(DATA / "clinc150" / "data_full.json"))

HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
HINT3_OOS = "NO_NODES_DETECTED"
CLINC_OOS = "oos"
HELD_OUT_SHARE = 0.2  # of each intent's training examples
LEFT_OUT_INTENT_SHARE = 0.25  # intents playing out-of-scope where the data has no OOS examples
SEED = 42
BENCHMARKS = ("hint3", "banking77", "clinc150")

Example = tuple[str, str]  # (text, label)


@dataclass(frozen=True)
class Dataset:
    """One benchmark's splits, with every out-of-scope label renamed to OOS."""

    name: str
    train: list[Example]
    test: list[Example]
    oos_train: list[str]  # out-of-scope texts from the training split
    has_oos: bool

    def training_examples(self, oos_intent: bool) -> list[Example]:
        """The training split, with its out-of-scope rows as the OOS intent when asked."""
        if not oos_intent:
            return list(self.train)
        return list(self.train) + [(text, OOS) for text in self.oos_train]


def read_csv(path: Path, text_column: str, label_column: str) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row[text_column].strip(), row[label_column]) for row in csv.DictReader(handle)]


def rename_oos(examples: Sequence[Example], oos_label: str) -> list[Example]:
    return [(text, OOS if label == oos_label else label) for text, label in examples]


def load_hint3(bot: str) -> Dataset:
    root = DATA / "hint3" / "v1"
    train = read_csv(root / "train" / f"{bot}_train.csv", "sentence", "label")
    test = read_csv(root / "test" / f"{bot}_test.csv", "sentence", "label")
    return Dataset(f"hint3-{bot}", train, rename_oos(test, HINT3_OOS), [], has_oos=True)


def load_banking77() -> Dataset:
    root = DATA / "banking77"
    train = read_csv(root / "train.csv", "text", "category")
    test = read_csv(root / "test.csv", "text", "category")
    return Dataset("banking77", train, test, [], has_oos=False)


def load_clinc150() -> Dataset:
    data = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    train = [(text, label) for text, label in data["train"]]
    test = rename_oos(data["test"] + data["oos_test"], CLINC_OOS)
    oos_train = [text for text, _ in data["oos_train"]]
    return Dataset("clinc150", train, test, oos_train, has_oos=True)


def datasets(only: str | None) -> list[Dataset]:
    chosen = [only] if only else list(BENCHMARKS)
    found: list[Dataset] = []
    for name in chosen:
        if name == "hint3":
            found.extend(load_hint3(bot) for bot in HINT3_BOTS)
        elif name == "banking77":
            found.append(load_banking77())
        else:
            found.append(load_clinc150())
    return found


def by_label(examples: Sequence[Example]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in examples:
        grouped[label].append(text)
    return dict(sorted(grouped.items()))


def quick_subset(dataset: Dataset, intents: int = 12, per_intent: int = 12) -> Dataset:
    """A few intents with a few examples each: minutes, not hours; checks the harness only."""
    grouped = by_label(dataset.train)
    kept = set(list(grouped)[:intents])
    train = [(t, label) for label in kept for t in grouped[label][:per_intent]]
    tests = by_label(dataset.test)
    test = [(t, label) for label in sorted(kept) for t in tests.get(label, [])[:5]]
    test += [(t, OOS) for t in tests.get(OOS, [])[:20]]
    return Dataset(dataset.name, train, test, dataset.oos_train[:20], dataset.has_oos)


def held_out_split(
    dataset: Dataset, seed: int = SEED, oos_intent: bool = False
) -> tuple[list[Example], list[Example]]:
    """(training part, held-out part) of the TRAINING split; OOS-labelled held-out examples are
    the split's own out-of-scope rows, or the examples of intents left out of the training part.
    With `oos_intent`, half of the split's out-of-scope rows are trained as the OOS intent and
    the other half are held out."""
    rng = random.Random(seed)
    grouped = by_label(dataset.train)
    left_out: set[str] = set()
    if dataset.has_oos and not dataset.oos_train:
        names = list(grouped)
        left_out = set(rng.sample(names, max(1, round(LEFT_OUT_INTENT_SHARE * len(names)))))
    fit: list[Example] = []
    held: list[Example] = []
    for label, texts in grouped.items():
        if label in left_out:
            held.extend((text, OOS) for text in texts)
            continue
        shuffled = texts[:]
        rng.shuffle(shuffled)
        cut = max(1, round(HELD_OUT_SHARE * len(shuffled))) if len(shuffled) > 2 else 0
        held.extend((text, label) for text in shuffled[:cut])
        fit.extend((text, label) for text in shuffled[cut:])
    oos_rows = dataset.oos_train[:]
    if oos_intent and oos_rows:
        rng.shuffle(oos_rows)
        half = len(oos_rows) // 2
        fit.extend((text, OOS) for text in oos_rows[half:])
        oos_rows = oos_rows[:half]
    held.extend((text, OOS) for text in oos_rows)
    return fit, held


# ---------------------------------------------------------------------------------------------
# Published figures
# ---------------------------------------------------------------------------------------------

PUBLISHED_SYSTEMS = ("rasa", "dialogflow", "luis", "bert", "haptik")


@dataclass(frozen=True)
class PublishedRow:
    system: str
    threshold: float
    scores: Scores
    best_accuracy: float  # the highest accuracy over all its published thresholds


def published_best(bot: str) -> list[PublishedRow]:
    """Each system's best row (highest MCC) of HINT3's published results on the full set.

    The published rows sweep the threshold on the test set itself; the best of them is an upper
    bound of what each system would reach with a threshold chosen beforehand.
    """
    rows: list[PublishedRow] = []
    for system in PUBLISHED_SYSTEMS:
        path = DATA / "hint3" / "published_results" / f"{system}_{bot}.csv"
        with path.open(newline="") as handle:
            table = list(csv.DictReader(handle))
        best = max(table, key=lambda row: (float(row["MCC"]), float(row["Accuracy"])))
        rows.append(
            PublishedRow(
                system=system,
                threshold=float(best["Threshold"]),
                scores=Scores(
                    accuracy=float(best["Accuracy"]),
                    in_scope_accuracy=float(best["Inscope Accuracy"]),
                    oos_recall=float(best["OOS Recall"]),
                    mcc=float(best["MCC"]),
                    count=0,
                ),
                best_accuracy=max(float(row["Accuracy"]) for row in table),
            )
        )
    return rows
