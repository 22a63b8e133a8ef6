"""Choose the confidence threshold below which the assistant asks the customer to rephrase.

    .venv-rasa/bin/python -m bot.nlu.calibrate [--folds 5] [--dev data/dev/faq_dev.yml]

Cross-validation on the training data only: every phrasing is classified by a model trained
on the other folds (bot/nlu/classifier.py, as config.yml configures it), then thresholds are
swept over those out-of-fold predictions with Rasa's FallbackClassifier rule (bot/fallback.py)
and scored as (bot/evaluate/tally.py)

    utility = answered right - WRONG_ANSWER_COST x answered wrong

where declining an out-of-scope question is right and declining a shop question is wrong. The
shop's phrasings and the off-topic ones are each scored per phrasing and weighed by their
share of a shop's traffic (OFF_TOPIC_SHARE off-topic), not by how many of each were written.

It also fits the classifier's optional gate (bot/nlu/classifier.py `gate`: a logistic
regression of "the likeliest label is right" on what the views say about it) on the out-of-fold
predictions, and sweeps the threshold on gate probabilities that are themselves out of fold (a
gate fitted on the other folds), with the weights to put in config.yml. It is off: it serves
more of the shop's questions and declines fewer off-topic ones (docs/assistant.md); the table
shows the off-topic phrasings alone for that reason.
A wrong answer costs the customer more than a "please rephrase" (they may act on it, then come
back), so it weighs WRONG_ANSWER_COST rephrases. The lowest threshold within UTILITY_TIE of the
best is chosen: equally good, it answers more often. `--dev` adds what a development set written
apart from the training data gets with each threshold (never the held-out sets in tests/).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml

from bot.evaluate.heldout import Message, read_topic_messages
from bot.evaluate.tally import Tally, is_right, lowest_within, replay, served_right
from bot.fallback import configured_fallback
from bot.nlu.classifier import (
    GATE_FEATURES,
    OUT_OF_SCOPE,
    IntentView,
    MessageClassifier,
    Settings,
    far_from_shop,
    gate_probability,
    gated,
    intent_view,
)
from bot.prediction import FAQ, SUGGESTED_TOPICS, Prediction
from understanding.encoder import load_joint
from understanding.standins import with_stand_ins
from understanding.vector_cache import VectorCache

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.yml"
COMPONENT = "bot.nlu.component.MessageUnderstanding"
THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
WRONG_ANSWER_COST = 6.0
UTILITY_TIE = 0.01
# The share of the messages the assistant judges that are off-topic, as the utility weighs
# them. Counted per phrasing, their weight would be whatever share the training data happens to
# have, and writing more off-topic phrasings would move the threshold by their number, not by
# what they teach: 200 more moved it from 0.55 to 0.65 on 2026-12-07 (docs/assistant.md). A
# quarter is about the share the training data had then (1,372 of 5,190), so the choice made
# then stands; a shop that knows its own traffic's share sets it here.
OFF_TOPIC_SHARE = 0.25
FLOOR_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
FLOOR_IN_SCOPE_LOSS = 0.005
SEED = 20261206
GATE_C = 1.0  # the gate's regularisation: 13 weights from 3,700 phrasings need little


def shares(served: Tally) -> str:
    """Right, wrong and rephrase as table cells."""
    cells = (served.right, served.wrong, served.rephrase)
    return " ".join(f"{served.share(count):.1f} % |" for count in cells)


def as_prediction(view: IntentView, gold: str) -> Prediction:
    """The view read as a Rasa parse of it is read (bot/nlu/component.py gives Rasa the same
    rankings), so the fallback rule and the answer are the evaluations' own."""
    runner_up = view.intents[1][1] if len(view.intents) > 1 else 0.0
    topics_total = sum(p for _, p in view.topics) or 1.0
    faq_key, faq_probability = view.topics[0] if view.topics else (None, 0.0)
    return Prediction(
        text="",
        gold=gold,
        intent=view.intents[0][0],
        intent_confidence=view.intents[0][1],
        runner_up_confidence=runner_up,
        faq_key=faq_key,
        faq_confidence=faq_probability / topics_total,
        faq_top=tuple(key for key, _ in view.topics[:SUGGESTED_TOPICS]),
        fell_back=False,
    )


def serve(predictions: Sequence[Prediction], threshold: float, ambiguity: float) -> Tally:
    return replay(predictions, threshold, ambiguity, right=served_right)


def configured() -> tuple[Settings, float, float]:
    """Classifier settings and the FallbackClassifier's threshold and ambiguity (config.yml)."""
    pipeline = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["pipeline"]
    component: dict[str, Any] = next((c for c in pipeline if c["name"] == COMPONENT), {})
    settings = Settings.from_config(component)
    fallback = configured_fallback(CONFIG)
    return settings, fallback.threshold, fallback.ambiguity


def training_examples() -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    return [(m.get("text"), m.get_full_intent()) for m in data.intent_examples if m.get("text")]


@dataclass
class OutOfFold:
    """Every training phrasing classified by a model trained on the other folds (gate off)."""

    labels: list[str]
    probabilities: np.ndarray  # (phrasings, labels), fused
    similarity: np.ndarray  # best similarity to another fold's in-scope phrasings
    off_topic_similarity: np.ndarray  # ... and to its off-topic ones
    features: np.ndarray  # (phrasings, GATE_FEATURES)
    fold: np.ndarray


class Vectors(Protocol):
    """What encodes the phrasings: the vector cache, or a view of its vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def cached_encoder(settings: Settings) -> VectorCache:
    """The configured encoders, reading what an earlier run or training encoded from disk."""
    return VectorCache(load_joint(settings.encoders))


def out_of_fold(
    examples: Sequence[tuple[str, str]],
    settings: Settings,
    folds: int,
    encoder: Vectors | None = None,
) -> OutOfFold:
    from sklearn.model_selection import StratifiedKFold

    encoder = encoder or cached_encoder(settings)
    texts = [text for text, _ in examples]
    labels = np.array([label for _, label in examples])
    vectors = encoder.encode([with_stand_ins(text) for text in texts])
    names = sorted(set(labels))
    probabilities = np.zeros((len(texts), len(names)))
    similarity = np.zeros(len(texts))
    off_topic = np.zeros(len(texts))
    features = np.zeros((len(texts), len(GATE_FEATURES)))
    fold_of = np.zeros(len(texts), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for fold, (train, held) in enumerate(splitter.split(texts, labels)):
        model = MessageClassifier.train(
            [texts[i] for i in train], list(labels[train]), encoder.encode, settings, vectors[train]
        )
        assert model.labels == names, "every label needs a phrasing in every training fold"
        for i, score in zip(
            held, model.scores([texts[i] for i in held], encoder.encode), strict=True
        ):
            probabilities[i] = score.probabilities
            similarity[i] = score.similarity
            off_topic[i] = score.off_topic_similarity
            features[i] = score.gate_features
            fold_of[i] = fold
    return OutOfFold(names, probabilities, similarity, off_topic, features, fold_of)


def fit_gate(features: np.ndarray, right: np.ndarray) -> tuple[float, ...]:
    """The gate's weights (classifier.py `gate`): a logistic regression of "the likeliest label
    is right" on what the views say about it."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=GATE_C, max_iter=5000).fit(features, right)
    return tuple(round(float(w), 4) for w in [*fit.coef_[0], fit.intercept_[0]])


def gated_out_of_fold(oof: OutOfFold, right: np.ndarray, near: np.ndarray) -> np.ndarray:
    """The gate's probability for each phrasing, from a gate fitted on the other folds."""
    confidence = np.zeros(len(right))
    for fold in np.unique(oof.fold):
        mine = oof.fold == fold
        gate = fit_gate(oof.features[~mine & near], right[~mine & near])
        confidence[mine] = [gate_probability(gate, f) for f in oof.features[mine]]
    return confidence


def with_floor(view: IntentView, similarity: float, off_topic: float, floor: float) -> IntentView:
    """The view as the classifier gives it with `oos_similarity` = floor (classifier.py)."""
    if not far_from_shop(similarity, off_topic, floor):
        return view
    return IntentView([(OUT_OF_SCOPE, 1.0)], view.topics)


def choose_floor(similarity: Sequence[float], gold: Sequence[str]) -> float:
    """The highest floor that leaves at most FLOOR_IN_SCOPE_LOSS of the in-scope phrasings
    (out of fold) below it: far from everything the shop answers is out of scope."""
    in_scope = np.array([s for s, g in zip(similarity, gold, strict=True) if g != OUT_OF_SCOPE])
    fine = [f for f in FLOOR_GRID if (in_scope < f).mean() <= FLOOR_IN_SCOPE_LOSS]
    return max(fine) if fine else 0.0


def traffic_utility(shop: Tally, off_topic: Tally) -> float:
    """The utility per 1,000 customer messages of which OFF_TOPIC_SHARE are off-topic: each
    kind's utility per phrasing, weighted by its share of the traffic."""
    per_message = 0.0
    for tally, share in ((shop, 1.0 - OFF_TOPIC_SHARE), (off_topic, OFF_TOPIC_SHARE)):
        if tally.total:
            per_message += share * tally.utility(WRONG_ANSWER_COST) / tally.total
    return 1000.0 * per_message


def utility_by_threshold(predictions: Sequence[Prediction], ambiguity: float) -> dict[float, float]:
    """traffic_utility at each threshold of THRESHOLD_GRID."""
    shop = [p for p in predictions if p.gold != OUT_OF_SCOPE]
    off_topic = [p for p in predictions if p.gold == OUT_OF_SCOPE]
    return {
        threshold: traffic_utility(
            serve(shop, threshold, ambiguity), serve(off_topic, threshold, ambiguity)
        )
        for threshold in THRESHOLD_GRID
    }


def floored_predictions(
    oof: OutOfFold, gold: Sequence[str], floor: float, probabilities: np.ndarray | None = None
) -> list[Prediction]:
    """Each out-of-fold phrasing as the assistant would serve it with that floor;
    `probabilities` replace the fused ones (the gate's, for instance)."""
    found = []
    for i, g in enumerate(gold):
        p = oof.probabilities[i] if probabilities is None else probabilities[i]
        view = intent_view(oof.labels, p, FAQ)
        view = with_floor(view, oof.similarity[i], oof.off_topic_similarity[i], floor)
        found.append(as_prediction(view, g))
    return found


def development_predictions(
    examples: Sequence[tuple[str, str]],
    settings: Settings,
    encoder: Vectors,
    dev: Sequence[Message],
) -> list[Prediction]:
    """The development set as a model trained on every training phrasing serves it."""
    model = MessageClassifier.train(
        [text for text, _ in examples], [label for _, label in examples], encoder.encode, settings
    )
    scores = model.scores([m.text for m in dev], encoder.encode)
    return [
        as_prediction(intent_view(model.labels, s.probabilities, FAQ), m.expected)
        for m, s in zip(dev, scores, strict=True)
    ]


def sweep(
    title: str,
    predictions: Sequence[Prediction],
    dev_predictions: Sequence[Prediction],
    ambiguity: float,
) -> float:
    """Print what each threshold gets (cross-validation, its off-topic phrasings alone, and the
    development set) and return the chosen one."""
    off_topic = [p for p in predictions if p.gold == OUT_OF_SCOPE]
    print(f"\n{title}\n")
    print(
        "| threshold | CV right | CV wrong | CV rephrase | utility per 1,000 messages |"
        " off-topic declined |",
        end="",
    )
    print(" off-topic answered |", end="")
    print(" dev right | dev wrong | dev rephrase |" if dev_predictions else "")
    print("|---|---|---|---|---|---|---|" + ("---|---|---|" if dev_predictions else ""))
    utilities = utility_by_threshold(predictions, ambiguity)
    for threshold in THRESHOLD_GRID:
        cv = serve(predictions, threshold, ambiguity)
        off = serve(off_topic, threshold, ambiguity)
        row = f"| {threshold:.2f} | {shares(cv)} {utilities[threshold]:.0f} |"
        row += f" {off.share(off.right):.1f} % | {off.share(off.wrong):.1f} % |"
        if dev_predictions:
            row += f" {shares(serve(dev_predictions, threshold, ambiguity))}"
        print(row)
    return lowest_within(utilities, UTILITY_TIE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dev", type=Path, default=ROOT / "data" / "dev" / "faq_dev.yml")
    args = parser.parse_args(argv)
    settings, configured_threshold, ambiguity = configured()
    examples = training_examples()
    encoder = cached_encoder(settings)
    oof = out_of_fold(examples, replace(settings, oos_similarity=0.0, gate=()), args.folds, encoder)
    gold = [label for _, label in examples]
    print("| out-of-scope floor | in-scope phrasings below | out-of-scope phrasings below |")
    print("|---|---|---|")
    for floor in FLOOR_GRID:
        below = [s < floor for s in oof.similarity]
        shop = [b for b, g in zip(below, gold, strict=True) if g != OUT_OF_SCOPE]
        off = [b for b, g in zip(below, gold, strict=True) if g == OUT_OF_SCOPE]
        print(f"| {floor:.2f} | {100 * np.mean(shop):.1f} % | {100 * np.mean(off):.1f} % |")
    floor = choose_floor(list(oof.similarity), gold)
    print(f"\nchosen out-of-scope floor: {floor} (config.yml has {settings.oos_similarity})")
    near = ~far_from_shop(oof.similarity, oof.off_topic_similarity, floor)
    likeliest = [oof.labels[i] for i in np.argmax(oof.probabilities, axis=1)]
    right = np.array([is_right(label, g) for label, g in zip(likeliest, gold, strict=True)])
    confidence = gated_out_of_fold(oof, right, near)

    def predictions_of(gate_on: bool) -> list[Prediction]:
        if not gate_on:
            return floored_predictions(oof, gold, floor)
        probabilities = np.array(
            [gated(p, c) for p, c in zip(oof.probabilities, confidence, strict=True)]
        )
        return floored_predictions(oof, gold, floor, probabilities)

    gate = fit_gate(oof.features[near], right[near])
    dev_of: dict[bool, list[Prediction]] = {False: [], True: []}
    if args.dev.is_file():
        dev = read_topic_messages(args.dev)
        for gate_on in (False, True):
            trial = replace(settings, oos_similarity=floor, gate=gate if gate_on else ())
            dev_of[gate_on] = development_predictions(examples, trial, encoder, dev)
    print(
        f"\n{len(examples)} training phrasings, {args.folds}-fold cross-validation, ambiguity "
        f"{ambiguity}, a wrong answer costs {WRONG_ANSWER_COST:g} rephrases; the likeliest "
        f"label is right for {100 * right.mean():.1f} % of them ungated"
    )
    chosen = sweep(
        "Gated on the fused probability", predictions_of(False), dev_of[False], ambiguity
    )
    print(f"\nchosen threshold: {chosen} (config.yml has {configured_threshold})")
    best = sweep(
        "Gated on the gate's probability (off in config.yml: docs/assistant.md)",
        predictions_of(True),
        dev_of[True],
        ambiguity,
    )
    print(f"\nthe gate's best threshold: {best}; its weights (config.yml `gate`): {list(gate)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
