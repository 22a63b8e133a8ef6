"""Evaluate the assistant: how often it understands, how often it answers wrongly, how fast it is.

    .venv-rasa/bin/python -m bot.evaluate              everything (about 12 minutes on 2 cores)
    .venv-rasa/bin/python -m bot.evaluate --skip-cv    train time, held-out, OOS and latency only

A benchmark, not a test: it prints tables and compares them with the budgets and baselines
below, in the same run. Sections:

  1. full `rasa train` wall time, with an empty training cache    (budget: 4 minutes)
  2. held-out FAQ paraphrases (tests/nlu/faq_heldout.yml, never trained on): FAQ-key accuracy,
     and what the customer gets with the configured fallback threshold
  3. out-of-scope questions from CLINC150's oos_test (if the benchmark copy is present): how
     often one of them would get an FAQ answer
  4. in-process turn latency: the model in rasa's Agent, the real action server, a few hundred
     messages of scripted conversations            (baseline: plain Rasa p50 38 ms, ARCHITECTURE)
  5. 5-fold cross-validation on the training data: intent accuracy, FAQ-key accuracy, and the
     fallback-threshold sweep used to choose config.yml's FallbackClassifier threshold

Cross-validation uses Rasa's own pieces, as `rasa test nlu --cross-validation --folds 5` does
(`rasa.nlu.test.generate_folds`: the same stratified split over full retrieval intents;
`rasa.model_training.train_nlu`; the model's own message processor), but keeps every
prediction's full intent and response-selector ranking, which the threshold sweep needs and
Rasa's report drops. The pipeline is trained WITHOUT the FallbackClassifier there, so the sweep
sees raw confidences.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.model import data_dirs
from bot.rasa_http import wait_until_answers

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.yml"
DOMAIN = ROOT / "domain.yml"
HELD_OUT = ROOT / "tests" / "nlu" / "faq_heldout.yml"
CLINC150 = Path(
    os.environ.get("CLINC150_DATA", ROOT / "bench" / "data" / "clinc150" / "data_full.json")
)

TRAIN_BUDGET_SECONDS = 90.0  # the understanding issue's budget for a full training, empty cache
BASELINE_P50_MS = 38.0  # plain Rasa (rasa init's model) on this machine, ARCHITECTURE.md
THRESHOLD_GRID = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 0.95, 0.99)
# A wrong answer costs this many "please rephrase" turns: the threshold maximises
# (answered correctly) - WRONG_ANSWER_COST * (answered wrongly). Thresholds within
# UTILITY_TIE of the best count as equally good, and the lowest of them is chosen: between two
# equally good settings, the one that answers more often is the friendlier one.
WRONG_ANSWER_COST = 2.0
UTILITY_TIE = 0.02
FAQ = "faq"
FALLBACK = "nlu_fallback"
GATE_COMPONENT = "bot.faq_confidence.FaqTopicConfidence"
SUGGESTED_TOPICS = 3  # actions/faq_fallback.py offers up to three


# ---------------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """One message's gold label and the model's prediction.

    `intent` and the confidences are what the classifiers said before any fallback;
    `fell_back` is whether the model as configured asked the customer to rephrase.
    """

    text: str
    gold: str  # intent, or faq/<key>
    intent: str
    intent_confidence: float
    runner_up_confidence: float
    faq_key: str | None  # the response selector's choice, whatever the intent
    faq_confidence: float
    faq_top: tuple[str, ...]  # the likeliest topics, as the rephrase buttons offer them
    fell_back: bool

    @property
    def answer(self) -> str:
        """What the assistant would do without a fallback: the intent, or the FAQ it answers."""
        return self.faq_key if self.intent == FAQ and self.faq_key else self.intent

    @property
    def correct(self) -> bool:
        return self.answer == self.gold


def to_prediction(text: str, gold: str, parsed: dict[str, Any]) -> Prediction:
    ranking = parsed.get("intent_ranking") or []
    # A model with a FallbackClassifier puts nlu_fallback first; what it overrode comes after.
    ranking = [entry for entry in ranking if entry.get("name") != FALLBACK]
    top: dict[str, Any] = ranking[0] if ranking else {"name": None, "confidence": 0.0}
    runner_up = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
    selector = (parsed.get("response_selector") or {}).get(FAQ) or {}
    response = selector.get("response") or {}
    top_topics = [str(entry.get("intent_response_key")) for entry in selector.get("ranking") or []]
    return Prediction(
        text=text,
        gold=gold,
        intent=str(top["name"]),
        intent_confidence=float(top["confidence"]),
        runner_up_confidence=runner_up,
        faq_key=response.get("intent_response_key"),
        faq_confidence=float(response.get("confidence") or 0.0),
        faq_top=tuple(top_topics[:SUGGESTED_TOPICS]),
        fell_back=(parsed.get("intent") or {}).get("name") == FALLBACK,
    )


def falls_back(prediction: Prediction, threshold: float, ambiguity: float, joint: bool) -> bool:
    """Would the FallbackClassifier refuse to answer a raw prediction?

    `joint` simulates bot.faq_confidence.FaqTopicConfidence in front of it: an FAQ's confidence
    becomes P(faq) x P(topic).
    """
    confidence = prediction.intent_confidence
    if joint and prediction.intent == FAQ:
        confidence *= prediction.faq_confidence
    return confidence < threshold or confidence - prediction.runner_up_confidence < ambiguity


@dataclass(frozen=True)
class Outcome:
    correct: int
    wrong: int
    fallback: int

    @property
    def total(self) -> int:
        return self.correct + self.wrong + self.fallback

    def share(self, count: int) -> float:
        return 100.0 * count / self.total if self.total else 0.0

    @property
    def utility(self) -> float:
        return self.correct - WRONG_ANSWER_COST * self.wrong


def served(predictions: Sequence[Prediction]) -> Outcome:
    """What customers got from the model as configured (its own fallback decisions)."""
    correct = sum(1 for p in predictions if not p.fell_back and p.correct)
    fallback = sum(1 for p in predictions if p.fell_back)
    return Outcome(correct, len(predictions) - correct - fallback, fallback)


def outcome(
    predictions: Sequence[Prediction], threshold: float, ambiguity: float, joint: bool = False
) -> Outcome:
    """What customers would get from the raw predictions with this fallback setting."""
    correct = wrong = fallback = 0
    for prediction in predictions:
        if falls_back(prediction, threshold, ambiguity, joint):
            fallback += 1
        elif prediction.correct:
            correct += 1
        else:
            wrong += 1
    return Outcome(correct, wrong, fallback)


def load_examples(path: Path | str) -> list[tuple[str, str]]:
    """(text, intent or faq/<key>) for every example in a Rasa NLU file or folder."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get_full_intent()) for m in data.intent_examples]


async def predict(model_path: str, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [to_prediction(text, gold, await agent.parse_message(text)) for text, gold in examples]


@dataclass(frozen=True)
class FallbackSetting:
    """config.yml's FallbackClassifier, and whether FAQ confidences are gated by the topic."""

    threshold: float
    ambiguity: float
    joint: bool


def configured_fallback() -> FallbackSetting:
    pipeline = yaml.safe_load(CONFIG.read_text())["pipeline"]
    names = [component["name"] for component in pipeline]
    fallback: dict[str, Any] = next((c for c in pipeline if c["name"] == "FallbackClassifier"), {})
    return FallbackSetting(
        threshold=float(fallback.get("threshold", 0.0)),
        ambiguity=float(fallback.get("ambiguity_threshold", 0.0)),
        joint=GATE_COMPONENT in names,
    )


# ---------------------------------------------------------------------------------------------
# 1. Training time
# ---------------------------------------------------------------------------------------------


def rasa_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "rasa"), *args]


def train_full(out_dir: Path) -> tuple[str, float]:
    """Train config + domain + data into `out_dir` with an empty cache; (model, wall seconds)."""
    data = data_dirs()
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(out_dir / "cache")}
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    started = time.monotonic()
    subprocess.run(
        rasa_command("train", "--config", str(CONFIG), "--domain", str(DOMAIN), "--data", *data,
                     "--out", str(out_dir), "--fixed-model-name", "evaluated"),
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return str(out_dir / "evaluated.tar.gz"), time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# 4. Latency
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# 5. Cross-validation
# ---------------------------------------------------------------------------------------------


async def cross_validate(folds: int, workdir: Path) -> list[Prediction]:
    """Out-of-fold predictions for every training example, with the fallback switched off.

    The FAQ topic gate is left out too: the sweep applies it (or not) to raw confidences.
    """
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.nlu.test import generate_folds
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    config = yaml.safe_load(CONFIG.read_text())
    config["pipeline"] = [
        c for c in config["pipeline"] if c["name"] not in {"FallbackClassifier", GATE_COMPONENT}
    ]
    config_path = workdir / "config-without-fallback.yml"
    config_path.write_text(yaml.safe_dump(config))
    importer = TrainingDataImporter.load_from_dict(
        config_path=str(config_path),
        domain_path=str(DOMAIN),
        training_data_paths=data_dirs(),
    )
    data = importer.get_nlu_data()

    predictions: list[Prediction] = []
    for index, (train, test) in enumerate(generate_folds(folds, data), start=1):
        fold_dir = workdir / f"fold-{index}"
        fold_dir.mkdir()
        train_file = fold_dir / "train.yml"
        RasaYAMLWriter().dump(train_file, train)
        with contextlib.redirect_stdout(io.StringIO()):  # Rasa prints where it saved the model
            model = train_nlu(str(config_path), str(train_file), str(fold_dir))
        if model is None:
            raise RuntimeError(f"training fold {index} failed")
        agent = Agent.load(model)
        for message in test.intent_examples:
            parsed = await agent.parse_message(message.get("text"))
            predictions.append(
                to_prediction(message.get("text"), message.get_full_intent(), parsed)
            )
        print(f"    fold {index}/{folds} done", flush=True)
    return predictions


def accuracy(predictions: Sequence[Prediction]) -> tuple[float, float]:
    """(intent accuracy over all examples, FAQ-key accuracy over FAQ examples)."""
    intents = [p.intent == p.gold.split("/", 1)[0] for p in predictions]
    keys = [p.faq_key == p.gold for p in predictions if p.gold.startswith(f"{FAQ}/")]
    return 100.0 * sum(intents) / len(intents), 100.0 * sum(keys) / max(1, len(keys))


def print_sweep(predictions: Sequence[Prediction], setting: FallbackSetting) -> float:
    """Print the threshold sweep with and without the FAQ topic gate.

    Returns the threshold chosen for the gating config.yml uses: the lowest one whose utility
    is within UTILITY_TIE of the best.
    """
    header = ("gate", "threshold", "right %", "wrong %", "rephrase %", "utility")
    print("    {:<14}{:>10}{:>9}{:>9}{:>12}{:>9}".format(*header))
    utilities: dict[float, float] = {}
    for joint in (False, True):
        for threshold in THRESHOLD_GRID:
            result = outcome(predictions, threshold, setting.ambiguity, joint)
            configured = joint == setting.joint
            current = configured and abs(threshold - setting.threshold) < 1e-9
            row = (
                "intent x topic" if joint else "intent",
                threshold,
                result.share(result.correct),
                result.share(result.wrong),
                result.share(result.fallback),
                result.utility,
            )
            marker = " <- config.yml" if current else ""
            print("    {:<14}{:>10.2f}{:>9.1f}{:>9.1f}{:>12.1f}{:>9.0f}".format(*row) + marker)
            if configured:
                utilities[threshold] = result.utility
    best = max(utilities.values())
    margin = UTILITY_TIE * abs(best)
    return min(t for t, utility in utilities.items() if utility >= best - margin)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def describe(result: Outcome) -> str:
    return (
        f"{result.share(result.correct):.1f} % answered right, "
        f"{result.share(result.wrong):.1f} % answered wrong, "
        f"{result.share(result.fallback):.1f} % asked to rephrase (n={result.total})"
    )


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def clinc150_oos_questions() -> list[tuple[str, str]]:
    """CLINC150's out-of-scope test questions, or none where the benchmark copy is absent."""
    if not CLINC150.exists():
        return []
    rows = json.loads(CLINC150.read_text())["oos_test"]
    return [(str(text), "out_of_scope") for text, _ in rows]


async def report_held_out(model: str) -> None:
    print(f"2. Held-out FAQ paraphrases ({HELD_OUT.relative_to(ROOT)}, never trained on)")
    predictions = await predict(model, load_examples(HELD_OUT))
    keys = sum(p.faq_key == p.gold for p in predictions)
    share = 100.0 * keys / len(predictions)
    print(f"    FAQ-key accuracy (response selector): {share:.1f} % ({keys}/{len(predictions)})")
    print(f"    as configured: {describe(served(predictions))}")
    rephrased = [p for p in predictions if p.fell_back]
    offered = sum(p.gold in p.faq_top for p in rephrased)
    print(
        f"    right topic among the {SUGGESTED_TOPICS} buttons when asked to rephrase: "
        f"{100.0 * offered / max(1, len(rephrased)):.1f} % ({offered}/{len(rephrased)})"
    )


async def report_out_of_scope(model: str) -> None:
    print("3. Out-of-scope questions (CLINC150 oos_test)")
    questions = clinc150_oos_questions()
    if not questions:
        print(f"    skipped: {CLINC150} not found (set CLINC150_DATA)")
        return
    predictions = await predict(model, questions)
    answered = [p for p in predictions if not p.fell_back]
    total = len(predictions)
    faq = sum(p.intent == FAQ for p in answered)
    declined = sum(p.intent == "out_of_scope" for p in answered)
    rephrase = total - len(answered)
    other = len(answered) - faq - declined
    print(
        f"    {100.0 * faq / total:.1f} % got an FAQ answer (wrong by definition), "
        f"{100.0 * declined / total:.1f} % declined as out of scope, "
        f"{100.0 * rephrase / total:.1f} % asked to rephrase, "
        f"{100.0 * other / total:.1f} % another intent (n={total})"
    )


async def report_latency(model: str, messages: int, workdir: Path) -> None:
    print("4. Turn latency (Agent in-process + real action server, one turn at a time)")
    timings = await measure_latency(model, messages, workdir)
    warm = timings[5:]  # the first turns build TensorFlow's graphs
    print(
        f"    p50 {percentile(warm, 50):.0f} ms, p99 {percentile(warm, 99):.0f} ms over "
        f"{len(warm)} turns (baseline: plain Rasa p50 {BASELINE_P50_MS:.0f} ms)"
    )


async def report_cross_validation(folds: int, workdir: Path, setting: FallbackSetting) -> None:
    print(f"5. {folds}-fold cross-validation on the training data")
    predictions = await cross_validate(folds, workdir)
    intent_accuracy, key_accuracy = accuracy(predictions)
    print(
        f"    intent accuracy {intent_accuracy:.1f} %, FAQ-key accuracy {key_accuracy:.1f} % "
        f"(n={len(predictions)}, no fallback)"
    )
    print(
        f"    fallback threshold sweep (ambiguity {setting.ambiguity:.2f}; "
        f"utility = right - {WRONG_ANSWER_COST:g} x wrong):"
    )
    chosen = print_sweep(predictions, setting)
    gate = "intent x topic" if setting.joint else "intent"
    print(
        f"    chosen {gate} threshold (the lowest within {UTILITY_TIE:.0%} of the best utility): "
        f"{chosen:.2f} (config.yml: {setting.threshold:.2f})"
    )


def quiet_rasa() -> None:
    """Keep Rasa's debug logs and TensorFlow's chatter out of the report."""
    import warnings

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.ERROR)
    configure_structlog(logging.ERROR)
    warnings.filterwarnings("ignore")


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=300, help="turns for the latency run")
    parser.add_argument("--model", help="evaluate this model instead of training one")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    quiet_rasa()
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
