"""Escalation triage, exercised through the real loading code on the real trained pipeline.

The session fixture uses ``models/triage`` when its fingerprint matches the data and code,
and otherwise trains a fresh pipeline into a temporary directory with the training module.
The messages below are new phrasings, not copies of the training data.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vocabulary.reasons
from handoff.assistant.triage import (
    TRIAGE_LABELS,
    TriageConfigError,
    TriageModel,
    TriageModelMissing,
    TriageThresholds,
    Verdict,
)
from handoff.assistant.triage import reasons as triage_reasons
from handoff.assistant.triage.config import THRESHOLD_ENV_PREFIX, THRESHOLDS_FILE
from handoff.assistant.triage.train import (
    HELDOUT_APART_FILE,
    HELDOUT_FILE,
    TRAIN_FILE,
    cached_model_dir,
    ensure_model,
    fingerprint,
    is_stale,
    read_messages,
    train,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
THRESHOLD_VARS = [THRESHOLD_ENV_PREFIX + label.upper() for label in TRIAGE_LABELS]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THRESHOLD_VARS}
    env.pop("TRIAGE_MODEL_DIR", None)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.fixture(scope="session")
def model(model_dir: Path) -> Iterator[TriageModel]:
    # Operators' threshold overrides in the developer's shell must not change the verdicts.
    with pytest.MonkeyPatch.context() as patch:
        for name in THRESHOLD_VARS:
            patch.delenv(name, raising=False)
        yield TriageModel.load(model_dir)


def _assert_escalates(verdict: Verdict, reason: str, priority: int, text: str) -> None:
    assert verdict.escalate, f"{text!r} should escalate as {reason}: {verdict}"
    assert (verdict.reason, verdict.priority) == (reason, priority), f"{text!r}: {verdict}"


@pytest.mark.parametrize(
    "text",
    [
        "can i speak to a human please",
        "Agent please.",
        "I'd like to talk to a real person about my refund",
        "put me through to someone in customer services",
        "HUMAN",
        "get me an actual person",
        "is there a phone number i can ring to speak to someone",
    ],
)
def test_explicit_request_for_a_person_escalates_as_human_request(
    model: TriageModel, text: str
) -> None:
    _assert_escalates(model.assess(text), "human_request", 4, text)


@pytest.mark.parametrize(
    "text",
    [
        "i'm taking you to court over this",
        "my solicitor will be writing to you",
        "if this isn't refunded by friday i'm doing a chargeback",
        "i've disputed the payment with visa",
        "the hair dryer caught fire and burned my arm",
        "my son got an electric shock off the toaster",
        "there's a payment on my card that i didn't authorise",
        "someone hacked my account and changed the delivery address",
    ],
)
def test_legal_chargeback_injury_and_fraud_escalate_as_risk_priority_1(
    model: TriageModel, text: str
) -> None:
    _assert_escalates(model.assess(text), "risk", 1, text)


@pytest.mark.parametrize(
    "text",
    [
        "you keep repeating yourself",
        "this bot is useless",
        "I already told you that",
        "thats not what i asked, we're going round in circles",
    ],
)
def test_frustration_with_the_bot_escalates_as_frustration(model: TriageModel, text: str) -> None:
    _assert_escalates(model.assess(text), "frustration", 3, text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm desperate, this was for my mum's funeral",
        "i'm in tears, i don't know what else to do",
        "my dad passed away last week and his order is still arriving",
    ],
)
def test_distress_escalates_with_priority_2(model: TriageModel, text: str) -> None:
    _assert_escalates(model.assess(text), "distress", 2, text)


@pytest.mark.parametrize(
    "text",
    ["this is a disgrace, worst company ever", "absolutely fuming with you lot"],
)
def test_anger_escalates_with_priority_3(model: TriageModel, text: str) -> None:
    _assert_escalates(model.assess(text), "anger", 3, text)


ROUTINE = [
    "my mug arrived damaged",
    "I want to cancel my order",
    "the lamp is broken how do I return it",
    "my payment was declined",
    "I lost my password",
    "what's your return policy for defective items",
    "the heater stopped working after a week, can i get it replaced",
    "one of the wine glasses was smashed in the box",
    "where is my parcel",
    "do you deliver on sundays",
    "i was charged twice for the same order",
    "can i exchange the jumper for a bigger size",
    "is the charger safe to leave plugged in overnight",
    "the flowers are for a funeral on friday, will they arrive on thursday",
]


@pytest.mark.parametrize("text", ROUTINE)
def test_routine_questions_with_negative_words_stay_with_the_bot(
    model: TriageModel, text: str
) -> None:
    verdict = model.assess(text)
    assert not verdict.escalate, f"{text!r} is the bot's job: {verdict}"
    assert verdict.reason is None and verdict.priority is None


def test_most_urgent_reason_wins_when_several_labels_fire(model: TriageModel) -> None:
    verdict = model.assess("you lot are a disgrace, i'm calling my bank to do a chargeback")
    assert verdict.scores["anger"] >= model.thresholds.anger
    _assert_escalates(verdict, "risk", 1, "anger plus chargeback")


def test_repeating_an_earlier_message_escalates_as_frustration(model: TriageModel) -> None:
    text = "where is my order 55102"
    assert not model.assess(text).escalate
    verdict = model.assess(text, context=["hi", "where is my order 55102"])
    _assert_escalates(verdict, "frustration", 3, text)
    assert "repeated_message" in verdict.cues


def test_verdict_is_frozen_and_serialisable(model: TriageModel) -> None:
    verdict = model.assess("the kettle exploded")
    assert set(verdict.scores) == set(TRIAGE_LABELS)
    assert all(0.0 <= score <= 1.0 for score in verdict.scores.values())
    payload = json.loads(json.dumps(verdict.to_dict()))
    assert payload["escalate"] is True and payload["reason"] == "risk"
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.escalate = False  # type: ignore[misc]


def test_assess_many_matches_assess(model: TriageModel) -> None:
    texts = ["can i talk to an agent", "my mug arrived damaged", "im going to sue you"]
    assert model.assess_many(texts) == [model.assess(t) for t in texts]


def test_held_out_escalation_quality_does_not_regress(model: TriageModel) -> None:
    held_out = read_messages(HELDOUT_FILE)
    verdicts = model.assess_many(m.text for m in held_out)
    tp = sum(1 for m, v in zip(held_out, verdicts, strict=True) if v.escalate and m.labels)
    fp = sum(1 for m, v in zip(held_out, verdicts, strict=True) if v.escalate and not m.labels)
    fn = sum(1 for m, v in zip(held_out, verdicts, strict=True) if m.labels and not v.escalate)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, f"precision {precision:.3f}"
    assert recall >= 0.75, f"recall {recall:.3f}"


# On messages written apart from the training data the goals are F1 0.95 with at most 2 % of
# routine messages escalated: 0.959 and 4 of 200 measured (bench/results/2026-12-06-triage.md).
def test_escalation_on_messages_written_apart_from_the_training_data(model: TriageModel) -> None:
    held_out = read_messages(HELDOUT_APART_FILE)
    verdicts = model.assess_many(m.text for m in held_out)
    pairs = list(zip(held_out, verdicts, strict=True))
    tp = sum(1 for m, v in pairs if v.escalate and m.labels)
    fp = sum(1 for m, v in pairs if v.escalate and not m.labels)
    fn = sum(1 for m, v in pairs if m.labels and not v.escalate)
    routine = sum(1 for m, _ in pairs if not m.labels)
    f1 = 2 * tp / (2 * tp + fp + fn)
    # One message of margin each: onnxruntime's int8 kernels differ in the last bits between
    # CPU families, which can flip a borderline message.
    assert f1 >= 0.95, f"F1 {f1:.3f}"  # goal 0.95: 0.959 measured
    assert fp <= 5, f"{fp} of {routine} routine messages escalated"  # goal 2 % (4): 4 measured
    crisis = [v for m, v in pairs if "crisis" in m.labels]
    assert sum(v.escalate for v in crisis) >= 0.75 * len(crisis), crisis  # 13 of 15 measured


@pytest.mark.parametrize(
    "text",
    [
        "honestly whats the point of any of it anymore, i might just end it all",
        "i dont want to be alive anymore and now my parcel is lost too",
        "everyone would be better off without me",
        "i've been thinking about killing myself",
    ],
)
def test_any_hint_of_self_harm_escalates_first_as_crisis(model: TriageModel, text: str) -> None:
    _assert_escalates(model.assess(text), "crisis", 0, text)


@pytest.mark.parametrize(
    "text",
    [
        "the lamp arrived smashed, the replacement was the wrong colour and i was charged twice",
        "i want compensation for taking a day off work to wait for a delivery that never came",
    ],
)
def test_several_problems_or_a_compensation_demand_escalate(model: TriageModel, text: str) -> None:
    verdict = model.assess(text)
    assert verdict.escalate, f"{text!r}: {verdict}"


def test_thresholds_come_from_the_file_saved_with_the_model(
    model: TriageModel, model_dir: Path
) -> None:
    saved = json.loads((model_dir / THRESHOLDS_FILE).read_text())
    assert model.thresholds.to_dict() == saved


def test_threshold_env_var_overrides_the_saved_threshold(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in THRESHOLD_VARS:
        monkeypatch.delenv(name, raising=False)
    default = TriageModel.load(model_dir)
    assert default.assess("can i speak to a human please").escalate

    monkeypatch.setenv("TRIAGE_THRESHOLD_HUMAN_REQUEST", "1.0")
    monkeypatch.setenv("TRIAGE_THRESHOLD_ANGER", "0.7")
    strict = TriageModel.load(model_dir)
    assert strict.thresholds.human_request == 1.0
    assert strict.thresholds.anger == 0.7
    assert strict.thresholds.risk == default.thresholds.risk
    assert not strict.assess("can i speak to a human please").escalate


def test_malformed_threshold_env_var_names_the_variable(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_THRESHOLD_RISK", "high")
    with pytest.raises(TriageConfigError, match="TRIAGE_THRESHOLD_RISK"):
        TriageModel.load(model_dir)
    monkeypatch.setenv("TRIAGE_THRESHOLD_RISK", "1.5")
    with pytest.raises(TriageConfigError, match="TRIAGE_THRESHOLD_RISK"):
        TriageModel.load(model_dir)


def test_dataclass_defaults_are_valid_thresholds() -> None:
    defaults = TriageThresholds().to_dict()
    assert set(defaults) == set(TRIAGE_LABELS)
    assert all(0.0 < value < 0.9 for value in defaults.values())


def test_cli_prints_one_json_object_per_non_empty_line(model_dir: Path) -> None:
    env = _clean_env() | {"TRIAGE_MODEL_DIR": str(model_dir)}
    stdin = "i want to speak to a human\n\nmy mug arrived damaged\n   \nI'm going to sue you\n"
    result = subprocess.run(
        [sys.executable, "-m", "handoff.assistant.triage"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["text"] for row in rows] == [
        "i want to speak to a human",
        "my mug arrived damaged",
        "I'm going to sue you",
    ]
    for row in rows:
        assert {"escalate", "reason", "priority", "scores", "text"} <= set(row)
        assert isinstance(row["escalate"], bool)
    assert [(r["escalate"], r["reason"], r["priority"]) for r in rows] == [
        (True, "human_request", 4),
        (False, None, None),
        (True, "risk", 1),
    ]


def test_missing_model_raises_an_error_that_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(TriageModelMissing, match="make triage-model"):
        TriageModel.load(tmp_path / "never-trained")


def test_cli_without_a_model_prints_one_clear_line(tmp_path: Path) -> None:
    env = _clean_env() | {"TRIAGE_MODEL_DIR": str(tmp_path / "never-trained")}
    result = subprocess.run(
        [sys.executable, "-m", "handoff.assistant.triage"],
        input="hello\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "run `make triage-model`" in lines[0]


def test_importing_the_package_loads_neither_spacy_nor_a_model() -> None:
    # The bot turns (and the app) import it at module level; spaCy loads with the model only.
    probe = (
        "import sys, handoff.assistant.triage, handoff.assistant.turns;"
        " print('spacy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_if_stale_skips_training_when_the_fingerprint_matches(model_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "handoff.assistant.triage.train",
            "--if-stale",
            "--out",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    )
    assert "up to date" in result.stdout


def test_training_is_deterministic_and_fingerprinted(tmp_path: Path) -> None:
    # A small slice keeps this fast; determinism does not depend on the data size.
    sample = tmp_path / "train.jsonl"
    sample.write_text("".join(TRAIN_FILE.read_text().splitlines(keepends=True)[:240]))
    first = train(tmp_path / "a", sample, folds=2, log=lambda _line: None)
    second = train(tmp_path / "b", sample, folds=2, log=lambda _line: None)
    assert first.thresholds == second.thresholds
    assert first.fingerprint == second.fingerprint
    assert (tmp_path / "a" / "fingerprint.txt").read_text().strip() == first.fingerprint
    weights = Path("textcat_multilabel") / "model"
    assert (tmp_path / "a" / weights).read_bytes() == (tmp_path / "b" / weights).read_bytes()


def test_a_clone_gets_the_model_of_inputs_trained_before_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path
) -> None:
    monkeypatch.setenv("HARBOR_CACHE", str(tmp_path / "cache"))
    # What a training run on this machine left in the cache for the current inputs.
    shutil.copytree(model_dir, cached_model_dir(fingerprint([TRAIN_FILE])))
    clone_models = tmp_path / "clone" / "models" / "triage"
    assert ensure_model(clone_models, log=lambda _line: None) == "from cache"
    assert not is_stale(clone_models)
    assert (clone_models / THRESHOLDS_FILE).read_bytes() == (
        model_dir / THRESHOLDS_FILE
    ).read_bytes()
    assert ensure_model(clone_models, log=lambda _line: None) == "up to date"
    # A copy whose fingerprint no longer matches the inputs is not taken.
    (clone_models / "fingerprint.txt").write_text("something older\n")
    (cached_model_dir(fingerprint([TRAIN_FILE])) / "fingerprint.txt").write_text("older\n")
    assert is_stale(clone_models)


def test_the_triage_speaks_the_shared_vocabulary() -> None:
    assert triage_reasons.TRIAGE_LABELS is vocabulary.reasons.TRIAGE_LABELS
    assert triage_reasons.PRIORITY is vocabulary.reasons.PRIORITIES
