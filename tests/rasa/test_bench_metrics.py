"""The NLU benchmark's metrics, splits and pipeline derivation (bench/nlu_metrics.py,
bench/nlu_data.py, bench/nlu_training.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sklearn.metrics import matthews_corrcoef

from bench.nlu_data import Dataset, held_out_split, load_clinc150, load_hint3, published_best
from bench.nlu_metrics import OOS, choose_threshold, matthews, score, scores_at
from bench.nlu_training import benchmark_pipeline
from bot.fallback import configured_fallback
from bot.prediction import Prediction
from tests.rasa.trackers import REPO_ROOT


def prediction(gold: str, intent: str, confidence: float, runner_up: float = 0.0) -> Prediction:
    return Prediction(
        text="",
        gold=gold,
        intent=intent,
        intent_confidence=confidence,
        runner_up_confidence=runner_up,
        faq_key=None,
        faq_confidence=0.0,
        faq_top=(),
        fell_back=False,
    )


def test_mcc_is_the_multiclass_matthews_correlation() -> None:
    rng = random.Random(7)
    labels = ["refund", "shipping", "payment", OOS]
    for _ in range(20):
        gold = [rng.choice(labels) for _ in range(60)]
        predicted = [g if rng.random() < 0.6 else rng.choice(labels) for g in gold]
        assert matthews(gold, predicted) == pytest.approx(matthews_corrcoef(gold, predicted))
    assert matthews(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert matthews(["a", "b"], ["a", "a"]) == 0.0  # a constant prediction carries no information


def test_a_fallback_on_an_in_scope_message_counts_as_wrong() -> None:
    gold = ["refund", "refund", "shipping", OOS, OOS]
    predicted = ["refund", OOS, "shipping", OOS, "refund"]
    scores = score(gold, predicted)
    assert scores.accuracy == pytest.approx(3 / 5)
    assert scores.in_scope_accuracy == pytest.approx(2 / 3)
    assert scores.oos_recall == pytest.approx(1 / 2)
    assert scores.balanced == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert score(["a", "b"], ["a", "a"]).oos_recall is None


def test_published_hint3_accuracy_is_consistent_with_our_test_sets() -> None:
    # Accuracy = in-scope accuracy x share in scope + OOS recall x share out of scope, with the
    # shares of the test sets we ship: the published rows were computed on exactly these.
    for bot in ("sofmattress", "curekart", "powerplay11"):
        test = load_hint3(bot).test
        oos_share = sum(label == OOS for _, label in test) / len(test)
        for row in published_best(bot):
            s = row.scores
            assert s.oos_recall is not None
            mixed = s.in_scope_accuracy * (1 - oos_share) + s.oos_recall * oos_share
            assert mixed == pytest.approx(s.accuracy, abs=2e-3), (bot, row.system)


def test_published_best_row_is_the_highest_mcc() -> None:
    rows = {row.system: row for row in published_best("powerplay11")}
    assert set(rows) == {"rasa", "dialogflow", "luis", "bert", "haptik"}
    assert rows["haptik"].threshold == 0.3
    assert rows["haptik"].scores.mcc == pytest.approx(0.425, abs=1e-3)
    assert rows["haptik"].best_accuracy == pytest.approx(0.742, abs=1e-3)


def test_threshold_separates_confident_in_scope_from_unsure_out_of_scope() -> None:
    held_out = [prediction("refund", "refund", 0.9), prediction("shipping", "shipping", 0.8)]
    held_out += [prediction(OOS, "refund", 0.4), prediction(OOS, "shipping", 0.55)]
    threshold = choose_threshold(held_out, ambiguity=0.0)
    assert 0.55 < threshold <= 0.8
    assert threshold == 0.6  # the lowest of the equally good thresholds: answers most often
    best = scores_at(held_out, threshold, 0.0)
    assert best.in_scope_accuracy == 1.0 and best.oos_recall == 1.0
    # The ambiguity rule of the FallbackClassifier applies too.
    assert scores_at([prediction("refund", "refund", 0.9, 0.85)], 0.5, 0.1).accuracy == 0.0


def test_held_out_split_uses_training_data_only() -> None:
    hint3 = load_hint3("sofmattress")
    fit, held = held_out_split(hint3)
    train_texts = Counter(text for text, _ in hint3.train)
    assert Counter(text for text, _ in fit + held) == train_texts
    test_only = {text for text, _ in hint3.test} - set(train_texts)
    assert not test_only & {text for text, _ in fit + held}
    # No OOS examples in HINT3's training sets: left-out intents play them, never seen in fit.
    left_out = {text for text, label in held if label == OOS}
    assert left_out and not left_out & {text for text, _ in fit}
    assert {label for _, label in fit}.isdisjoint({OOS})
    assert held_out_split(hint3) == (fit, held)  # seeded: the same split every run


def test_clinc_held_out_part_has_its_own_oos_training_rows() -> None:
    clinc = load_clinc150()
    fit, held = held_out_split(clinc)
    assert sum(label == OOS for _, label in held) == len(clinc.oos_train) == 100
    assert len(fit) == 12_000 and len(held) == 3_000 + 100
    assert sum(label == OOS for _, label in clinc.test) == 1000


def test_clinc_oos_rows_are_split_between_the_oos_intent_and_the_held_out_part() -> None:
    clinc = load_clinc150()
    fit, held = held_out_split(clinc, oos_intent=True)
    trained = {text for text, label in fit if label == OOS}
    held_oos = {text for text, label in held if label == OOS}
    assert len(trained) == len(held_oos) == 50
    assert not trained & held_oos and trained | held_oos == set(clinc.oos_train)
    # The final model learns every out-of-scope row of the training split, none of the test's.
    final = clinc.training_examples(oos_intent=True)
    assert sum(label == OOS for _, label in final) == 100
    assert not {text for text, label in final if label == OOS} & {
        text for text, label in clinc.test if label == OOS
    }
    assert OOS not in {label for _, label in clinc.training_examples(oos_intent=False)}


def test_benchmark_pipeline_is_config_yml_without_the_fallback() -> None:
    pipeline = benchmark_pipeline(REPO_ROOT / "config.yml")
    names = [component["name"] for component in pipeline.config["pipeline"]]
    assert "bot.nlu.component.MessageUnderstanding" in names
    assert "FallbackClassifier" not in names  # applied after prediction, with a swept threshold
    assert pipeline.dropped == ()
    fallback = configured_fallback(REPO_ROOT / "config.yml")
    assert (pipeline.threshold, pipeline.ambiguity) == (fallback.threshold, fallback.ambiguity)


def test_datasets_without_oos_have_no_oos_labels() -> None:
    dataset = Dataset("tiny", [("a", "x"), ("b", "y"), ("c", "x")], [("d", "x")], [], False)
    fit, held = held_out_split(dataset)
    assert OOS not in {label for _, label in fit + held}
