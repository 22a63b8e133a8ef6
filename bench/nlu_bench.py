"""NLU quality on public intent benchmarks, with the assistant's own pipeline.

    .venv-rasa/bin/python bench/nlu_bench.py                  everything
    .venv-rasa/bin/python bench/nlu_bench.py --only hint3     one benchmark
    .venv-rasa/bin/python bench/nlu_bench.py --quick          a small subset: checks the harness
    .venv-rasa/bin/python bench/nlu_bench.py --config bench/configs/minilm.yml    a variant
    .venv-rasa/bin/python bench/nlu_bench.py --dev-only       held-out figures only, no test set

Prints Markdown to stdout (`scripts/bench.sh nlu` writes it into the dated report).

The pipeline is config.yml's, minus the components that only make sense for the assistant's own
data: the ResponseSelector and FaqTopicConfidence pick an FAQ topic inside the `faq` retrieval
intent, which these datasets do not have. The FallbackClassifier is applied after prediction with
the same rule (top confidence below the threshold, or within `ambiguity_threshold` of the
runner-up, means "out of scope"), so one trained model serves every threshold of the sweep.

The threshold is chosen on the TRAINING split only, never on the test set: one model is trained
on a held-out split of the training data and the threshold that maximises
(in-scope accuracy + out-of-scope recall) / 2 on the held-out part is kept. That average does not
depend on how many out-of-scope messages a test set happens to have. Out-of-scope examples for the
held-out part are CLINC150's `oos_train` rows where they exist; HINT3's training sets have none,
so a quarter of the intents are left out of the held-out model and their examples play the
out-of-scope messages. BANKING77 has no out-of-scope class: its accuracy is the top intent's.

Where the training split has out-of-scope examples (CLINC150's `oos_train`), they are also trained
as an `out_of_scope` intent, as the assistant does with its own out-of-scope examples
(data/nlu/out_of_scope.yml): a message is then out of scope when that intent wins or the fallback
rule triggers. Half of those rows go into the held-out model, the other half are its held-out
out-of-scope messages; the final model learns all of them. `--no-oos-intent` uses them for the
threshold only.

Training runs `rasa train nlu` in a child process with an empty cache, so its wall time and peak
memory (resident set of the process and its children, sampled every 0.2 s) are those of a fresh
training. Nothing is cached in the repository: models live in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / "data"
# The assistant's held-out sets (bot/evaluate/heldout.py) read CLINC150 from here unless told
# otherwise.
os.environ.setdefault("CLINC150_DATA", str(DATA / "clinc150" / "data_full.json"))

from bench.machine import machine_note  # noqa: E402
from bot.prediction import Prediction  # noqa: E402
from bot.rasa_agent import predict as predict_all  # noqa: E402
from bot.rasa_agent import quiet_rasa  # noqa: E402

PRODUCTION_CONFIG = ROOT / "config.yml"
# Components that work on the `faq` retrieval intent only (see the module docstring).
# Components that only pick a topic inside a retrieval intent (none in config.yml today: its
# classifier treats every FAQ topic as a label of its own, and works on data without any).
FAQ_ONLY_COMPONENTS = ("ResponseSelector",)
FALLBACK_COMPONENT = "FallbackClassifier"
OOS = "out_of_scope"  # the label this harness gives every out-of-scope message
HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
HINT3_OOS = "NO_NODES_DETECTED"
CLINC_OOS = "oos"
THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))
HELD_OUT_SHARE = 0.2  # of each intent's training examples
LEFT_OUT_INTENT_SHARE = 0.25  # intents playing out-of-scope where the data has no OOS examples
SEED = 42
BENCHMARKS = ("hint3", "banking77", "clinc150")
# Published figures the goals are set against that no file in ../shared/benchmarks carries:
# a 2024 LLM classifier on HINT3 (Mistral-7B on a GPU, accuracy only) and SetFit's BANKING77.
HINT3_LLM_ACCURACY = {"sofmattress": 0.748, "curekart": 0.761, "powerplay11": 0.780}
BANKING77_GOAL = 0.940
CLINC_GOALS = (0.96, 0.80)  # in-scope accuracy, out-of-scope recall

Example = tuple[str, str]  # (text, label)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """What a test set says about a classifier, as HINT3 and CLINC150 report it.

    In-scope accuracy counts a fallback on an in-scope message as wrong; MCC is the multi-class
    Matthews correlation over all labels, the out-of-scope label included (HINT3's definition:
    its published rows with zero out-of-scope recall still have a positive MCC).
    """

    accuracy: float
    in_scope_accuracy: float
    oos_recall: float | None  # None when the test set has no out-of-scope messages
    mcc: float
    count: int

    @property
    def balanced(self) -> float:
        """(in-scope accuracy + out-of-scope recall) / 2: what the threshold maximises."""
        if self.oos_recall is None:
            return self.in_scope_accuracy
        return (self.in_scope_accuracy + self.oos_recall) / 2


def matthews(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Multi-class Matthews correlation coefficient (Gorodkin's R_K), 0 when undefined."""
    labels = sorted(set(gold) | set(predicted))
    index = {label: i for i, label in enumerate(labels)}
    size = len(labels)
    confusion = [[0] * size for _ in range(size)]
    for g, p in zip(gold, predicted, strict=True):
        confusion[index[g]][index[p]] += 1
    samples = len(gold)
    correct = sum(confusion[k][k] for k in range(size))
    true_counts = [sum(row) for row in confusion]
    predicted_counts = [sum(confusion[i][k] for i in range(size)) for k in range(size)]
    covariance = correct * samples - sum(
        t * p for t, p in zip(true_counts, predicted_counts, strict=True)
    )
    spread_true = samples * samples - sum(t * t for t in true_counts)
    spread_predicted = samples * samples - sum(p * p for p in predicted_counts)
    if spread_true == 0 or spread_predicted == 0:
        return 0.0
    return float(covariance / ((spread_true * spread_predicted) ** 0.5))


def score(gold: Sequence[str], predicted: Sequence[str], oos_label: str = OOS) -> Scores:
    """Scores of predicted labels against gold ones; `oos_label` marks out-of-scope on both."""
    if len(gold) != len(predicted) or not gold:
        raise ValueError("gold and predicted must be non-empty and of equal length")
    pairs = list(zip(gold, predicted, strict=True))
    in_scope = [(g, p) for g, p in pairs if g != oos_label]
    out_of_scope = [(g, p) for g, p in pairs if g == oos_label]
    return Scores(
        accuracy=sum(g == p for g, p in pairs) / len(pairs),
        in_scope_accuracy=sum(g == p for g, p in in_scope) / len(in_scope) if in_scope else 0.0,
        oos_recall=(
            sum(p == oos_label for _, p in out_of_scope) / len(out_of_scope)
            if out_of_scope
            else None
        ),
        mcc=matthews(gold, predicted),
        count=len(pairs),
    )


def decide(prediction: Prediction, threshold: float, ambiguity: float) -> str:
    """The label the assistant acts on: the intent, or out-of-scope if the fallback triggers."""
    return OOS if prediction.falls_back(threshold, ambiguity) else prediction.intent


def scores_at(predictions: Sequence[Prediction], threshold: float, ambiguity: float) -> Scores:
    return score(
        [p.gold for p in predictions], [decide(p, threshold, ambiguity) for p in predictions]
    )


def choose_threshold(
    predictions: Sequence[Prediction], ambiguity: float, grid: Sequence[float] = THRESHOLD_GRID
) -> float:
    """The threshold with the best balanced score on held-out predictions; the lowest on ties."""
    best = max(scores_at(predictions, t, ambiguity).balanced for t in grid)
    return min(t for t in grid if scores_at(predictions, t, ambiguity).balanced >= best - 1e-9)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


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
# Pipeline and training
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """The benchmark pipeline derived from a Rasa config, and the fallback setting it had."""

    source: Path
    config: dict[str, Any]
    dropped: tuple[str, ...]
    threshold: float
    ambiguity: float


def benchmark_pipeline(config_path: Path) -> Pipeline:
    """The config's pipeline without the FAQ-only components and the FallbackClassifier."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    fallback: dict[str, Any] = {}
    for component in config["pipeline"]:
        name = component["name"]
        if name == FALLBACK_COMPONENT:
            fallback = component
        elif name in FAQ_ONLY_COMPONENTS:
            dropped.append(name)
        else:
            kept.append(component)
    derived = {
        "recipe": config.get("recipe", "default.v1"),
        "language": config["language"],
        "pipeline": kept,
        "policies": [],
    }
    return Pipeline(
        source=config_path,
        config=derived,
        dropped=tuple(dropped),
        threshold=float(fallback.get("threshold", 0.3)),
        ambiguity=float(fallback.get("ambiguity_threshold", 0.1)),
    )


@dataclass(frozen=True)
class Training:
    model: str
    seconds: float
    cpu_seconds: float  # user + system of the training process tree: robust to a busy machine
    peak_rss_mib: float


def tree_rss_kib(root_pid: int) -> int:
    """Resident set of a process and all its descendants, from /proc (kB)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    total = 0
    for pid in family:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(
    command: Sequence[str], env: dict[str, str], log: Path
) -> tuple[float, float, float]:
    """Run a command to completion; (wall seconds, CPU seconds, peak RSS of its process tree
    in MiB). The CPU time is that of every descendant the command waited for."""
    peak = 0
    cpu_before = cpu_of_children()
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, tree_rss_kib(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = process.wait()
        finally:  # interrupted (Ctrl-C, SIGTERM): stop the training too
            if process.poll() is None:
                process.kill()
                process.wait()
            done.set()
            sampler.join()
    seconds = time.monotonic() - started
    cpu = cpu_of_children() - cpu_before
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed (exit {code}):\n{tail}")
    return seconds, cpu, peak / 1024


def write_nlu(examples: Sequence[Example], path: Path) -> None:
    """Rasa YAML training data, written by Rasa's own writer so texts are quoted correctly."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": label}) for text, label in examples]
    RasaYAMLWriter().dump(path, TrainingData(training_examples=messages))


def training_env(workdir: Path) -> dict[str, str]:
    """A fresh Rasa cache and vector cache (training from scratch; the benchmarks' texts stay
    out of the assistant's vector cache), and `bot` importable for custom components."""
    python_path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "RASA_CACHE_DIRECTORY": str(workdir / "cache"),
        "HARBOR_VECTOR_CACHE": str(workdir / "vectors"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join(p for p in python_path if p),
    }


def rasa_train(workdir: Path, name: str, arguments: Sequence[str]) -> Training:
    """`rasa train <arguments>` into workdir/<name>.tar.gz from an empty cache, measured."""
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        *arguments,
        "--out",
        str(workdir),
        "--fixed-model-name",
        name,
    ]
    seconds, cpu, peak = run_measured(command, training_env(workdir), workdir / f"{name}.log")
    return Training(str(workdir / f"{name}.tar.gz"), seconds, cpu, peak)


def train(pipeline: Pipeline, examples: Sequence[Example], workdir: Path, name: str) -> Training:
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(pipeline.config, sort_keys=False), encoding="utf-8")
    data_path = workdir / "nlu.yml"
    write_nlu(examples, data_path)
    return rasa_train(workdir, name, ["nlu", "--config", str(config_path), "--nlu", str(data_path)])


def predict(model: str, examples: Sequence[Example]) -> list[Prediction]:
    # Rasa prints some messages' texts while parsing; the report is stdout, so keep them out.
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        return asyncio.run(predict_all(model, examples))


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


# ---------------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    dataset: Dataset
    threshold: float | None
    held_out: Scores | None
    test: Scores | None
    training: Training | None
    oos_intent: bool = False  # the training split's out-of-scope rows were an intent
    # The test set's scores with no fallback at all (the top intent is the answer): the in-scope
    # accuracy no threshold can pass, which tells a weak classifier from a cautious threshold.
    ungated: Scores | None = None


def evaluate(
    dataset: Dataset, pipeline: Pipeline, workdir: Path, dev_only: bool, oos_intent: bool = True
) -> Result:
    oos_intent = oos_intent and bool(dataset.oos_train)
    threshold: float | None = None
    held_out: Scores | None = None
    if dataset.has_oos or dev_only:
        fit, held = held_out_split(dataset, oos_intent=oos_intent)
        dev = train(pipeline, fit, workdir / dataset.name, "held-out")
        predictions = predict(dev.model, held)
        if dataset.has_oos:
            threshold = choose_threshold(predictions, pipeline.ambiguity)
            held_out = scores_at(predictions, threshold, pipeline.ambiguity)
        else:
            held_out = score([p.gold for p in predictions], [p.intent for p in predictions])
        Path(dev.model).unlink(missing_ok=True)
    if dev_only:
        return Result(dataset, threshold, held_out, None, None, oos_intent)
    final = train(pipeline, dataset.training_examples(oos_intent), workdir / dataset.name, "full")
    predictions = predict(final.model, dataset.test)
    ungated = score([p.gold for p in predictions], [p.intent for p in predictions])
    test = ungated if threshold is None else scores_at(predictions, threshold, pipeline.ambiguity)
    return Result(dataset, threshold, held_out, test, final, oos_intent, ungated)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def print_result(result: Result, header: bool) -> None:
    name = result.dataset.name
    if result.test is None:
        s = result.held_out
        assert s is not None
        if header:
            print(
                "| benchmark | threshold | held-out accuracy | in-scope acc. | OOS recall | MCC | "
                "balanced |"
            )
            print("|---|---|---|---|---|---|---|")
        threshold = "–" if result.threshold is None else f"{result.threshold:.2f}"
        print(
            f"| {name} | {threshold} | {pct(s.accuracy)} | {pct(s.in_scope_accuracy)} | "
            f"{pct(s.oos_recall)} | {s.mcc:.3f} | {pct(s.balanced)} |"
        )
        return
    if name.startswith("hint3-"):
        print_hint3(result)
    elif name == "banking77":
        print_banking(result)
    else:
        print_clinc(result)


def cost(result: Result) -> str:
    t = result.training
    assert t is not None
    train_size = len(result.dataset.training_examples(result.oos_intent))
    held = (
        ""
        if result.held_out is None
        else f"Held-out balanced score {pct(result.held_out.balanced)}. "
    )
    return (
        f"{held}Training on {train_size} examples: {t.seconds:.0f} s wall, "
        f"{t.cpu_seconds:.0f} s CPU, peak {t.peak_rss_mib:.0f} MiB"
    )


def ungated_row(result: Result, hint3: bool) -> str:
    """The table row of the top intent, never falling back: the in-scope accuracy no threshold
    can pass, which tells a weak classifier from a cautious threshold."""
    ungated = result.ungated
    assert ungated is not None
    name = "Harbor Assist, top intent, no fallback"
    if hint3:
        return (
            f"| {name} | – | {pct(ungated.accuracy)} | {pct(ungated.in_scope_accuracy)} | "
            f"{pct(ungated.oos_recall)} | {ungated.mcc:.3f} | – |"
        )
    return (
        f"| {name} | the intent only | – | {pct(ungated.in_scope_accuracy)} | "
        f"{pct(ungated.oos_recall)} |"
    )


def print_hint3(result: Result) -> None:
    bot = result.dataset.name.removeprefix("hint3-")
    test = result.test
    assert test is not None and result.threshold is not None
    print(f"### HINT3 {bot} (v1 test, {test.count} queries; full training set)")
    print()
    print(
        "| system | threshold | accuracy | in-scope acc. | OOS recall | MCC | best acc. any row |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| **Harbor Assist** | {result.threshold:.2f} (held-out) | **{pct(test.accuracy)}** | "
        f"{pct(test.in_scope_accuracy)} | {pct(test.oos_recall)} | **{test.mcc:.3f}** | – |"
    )
    published = published_best(bot)
    for row in published:
        s = row.scores
        print(
            f"| {row.system} (published) | {row.threshold:.1f} (test) | {pct(s.accuracy)} | "
            f"{pct(s.in_scope_accuracy)} | {pct(s.oos_recall)} | {s.mcc:.3f} | "
            f"{pct(row.best_accuracy)} |"
        )
    llm = HINT3_LLM_ACCURACY[bot]
    print(f"| Mistral-7B classifier, 2024 (published, accuracy only) | – | {pct(llm)} | | | | |")
    print(ungated_row(result, hint3=True))
    top_accuracy = max(llm, *(row.best_accuracy for row in published))
    top_mcc = max(row.scores.mcc for row in published)
    verdict = "reached" if test.accuracy > top_accuracy and test.mcc > top_mcc else "NOT reached"
    print()
    print(
        f"Goal (accuracy > {pct(top_accuracy)} and MCC > {top_mcc:.3f}, the best published "
        f"of any system and row): **{verdict}**. {cost(result)}. {machine_note()}"
    )
    print()


def print_banking(result: Result) -> None:
    test = result.test
    assert test is not None
    verdict = "reached" if test.accuracy >= BANKING77_GOAL else "NOT reached"
    print(f"### BANKING77 ({test.count} test queries, 77 intents, no out-of-scope class)")
    print()
    print("| system | accuracy |")
    print("|---|---|")
    print(f"| **Harbor Assist** (top intent) | **{pct(test.accuracy)}** |")
    print("| BERT-large fine-tuned (published) | 93.7 |")
    print("| SetFit, contrastive fine-tuning (published, about) | 94.0 |")
    print()
    print(f"Goal (≥ {pct(BANKING77_GOAL)}): **{verdict}**. {cost(result)}. {machine_note()}")
    print()


def print_clinc(result: Result) -> None:
    test = result.test
    assert test is not None and result.threshold is not None
    oos_recall = test.oos_recall or 0.0
    verdict = (
        "reached"
        if test.in_scope_accuracy >= CLINC_GOALS[0] and oos_recall >= CLINC_GOALS[1]
        else "NOT reached"
    )
    print(f"### CLINC150 full ({test.count} test queries: 4,500 in scope, 1,000 out of scope)")
    print()
    how = (
        f"`out_of_scope` intent from oos_train ({len(result.dataset.oos_train)}) + threshold"
        if result.oos_intent
        else "threshold only"
    )
    print("| system | out of scope by | threshold | in-scope accuracy | OOS recall |")
    print("|---|---|---|---|---|")
    print(
        f"| **Harbor Assist** | {how} | {result.threshold:.2f} (held-out) | "
        f"**{pct(test.in_scope_accuracy)}** | **{pct(oos_recall)}** |"
    )
    print(f"| goal | | | {pct(CLINC_GOALS[0])} | {pct(CLINC_GOALS[1])} |")
    print(ungated_row(result, hint3=False))
    print("| best out-of-scope recall in the CLINC150 paper | | | | 66 |")
    print()
    print(
        f"Goal (in-scope ≥ {pct(CLINC_GOALS[0])} and OOS recall ≥ {pct(CLINC_GOALS[1])}): "
        f"**{verdict}**. {cost(result)}. {machine_note()}"
    )
    print()


def report_bot_data(config_path: Path, workdir: Path) -> None:
    """Train the full assistant (domain, rules, FAQ selector) with a config, and print what
    `python -m bot.evaluate` prints for config.yml: held-out FAQ paraphrases, CLINC150 out-of-scope
    questions, in-process turn latency."""
    from bot.evaluate.heldout_report import report_held_out, report_out_of_scope
    from bot.evaluate.latency import report_latency
    from bot.evaluate.training import DOMAIN
    from bot.model import data_dirs

    arguments = ["--config", str(config_path), "--domain", str(DOMAIN), "--data", *data_dirs()]
    training = rasa_train(workdir, "assistant", arguments)
    model = training.model
    print(f"### The assistant's own data with `{config_path.name}`")
    print()
    print("```")
    print(
        f"1. rasa train (empty cache): {training.seconds:.0f} s wall, "
        f"{training.cpu_seconds:.0f} s CPU, peak {training.peak_rss_mib:.0f} MiB"
    )

    async def reports() -> None:
        await report_held_out(model)
        await report_out_of_scope(model)
        await report_latency(model, 200, workdir)

    asyncio.run(reports())
    print("```")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", choices=BENCHMARKS)
    parser.add_argument("--quick", action="store_true", help="a small subset: checks the harness")
    parser.add_argument(
        "--config",
        type=Path,
        default=PRODUCTION_CONFIG,
        help="a Rasa config whose pipeline to measure (default: config.yml)",
    )
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="held-out part of the training split only; never touches the test set",
    )
    parser.add_argument(
        "--bot-data",
        action="store_true",
        help="train the whole assistant with --config and evaluate it as bot.evaluate does",
    )
    parser.add_argument(
        "--no-oos-intent",
        action="store_true",
        help="use CLINC150's oos_train rows for the threshold only, not as an out_of_scope intent",
    )
    args = parser.parse_args(argv)
    quiet_rasa(logging.ERROR)
    # SIGTERM as an exception, so temporary models are removed and trainings stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

    if args.bot_data:
        with tempfile.TemporaryDirectory(prefix="nlu-bench-bot-") as tmp:
            report_bot_data(args.config.resolve(), Path(tmp))
        return 0
    pipeline = benchmark_pipeline(args.config.resolve())
    names = [c["name"] for c in pipeline.config["pipeline"]]
    shown = (
        pipeline.source.relative_to(ROOT)
        if pipeline.source.is_relative_to(ROOT)
        else pipeline.source
    )
    dropped = (
        f" without {', '.join(pipeline.dropped)} (they work on the `faq` retrieval intent, "
        "which these datasets lack)"
        if pipeline.dropped
        else ""
    )
    print(
        f"Pipeline: `{shown}`{dropped}: {' → '.join(names)}. Out of scope = FallbackClassifier "
        f"rule (ambiguity {pipeline.ambiguity}), threshold chosen on a held-out part of each "
        "training split"
        + (
            "."
            if args.no_oos_intent
            else "; out-of-scope rows of a training split (CLINC150) are also an intent."
        )
    )
    if args.quick:
        print()
        print(
            "**Quick mode: 12 intents × 12 training examples per dataset; figures check the "
            "harness only.**"
        )
    print()
    with tempfile.TemporaryDirectory(prefix="nlu-bench-") as tmp:
        header = True
        for dataset in datasets(args.only):
            if args.quick:
                dataset = quick_subset(dataset)
            result = evaluate(
                dataset, pipeline, Path(tmp), args.dev_only, oos_intent=not args.no_oos_intent
            )
            print_result(result, header)
            header = False
            sys.stdout.flush()
    if args.dev_only:
        print()
        print(machine_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
