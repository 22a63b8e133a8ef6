"""The triage's displeasure score: the mood the agent sees, learnt from GoEmotions, with the
real shipped weights (data/triage/displeasure.npz) and the real encoder.

Displeasure never escalates by itself: a mild complaint with a routine question stays with the
bot (the escalation labels decide), while the agent who later reads the chat sees the mood.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from handoff.assistant.triage import TriageModel
from handoff.assistant.triage.config import THRESHOLD_ENV_PREFIX
from handoff.assistant.triage.displeasure import (
    DISPLEASED_FROM,
    DISPLEASURE,
    DispleasureModelMissing,
    load_displeasure,
    ngram_buckets,
    to_mood_scale,
)
from handoff.assistant.triage.reasons import TRIAGE_LABELS
from handoff.conversations.entry import Entry
from handoff.queue.packet import sentiment_trend
from handoff.queue.summary import CALM_BELOW, mood_of


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Iterator[TriageModel]:
    with pytest.MonkeyPatch.context() as patch:
        for label in TRIAGE_LABELS:
            patch.delenv(THRESHOLD_ENV_PREFIX + label.upper(), raising=False)
        yield TriageModel.load(model_dir)


def test_open_annoyance_reads_displeased_and_thanks_read_calm(model: TriageModel) -> None:
    for text in (
        "this is absolutely ridiculous, worst service ever, i'm sick of it",
        "what a total waste of money, i'm so fed up with you people",
    ):
        verdict = model.assess(text)
        assert verdict.displeased, (text, verdict)
    for text in ("thanks so much, that's perfect", "lovely, it arrived early, thank you!"):
        verdict = model.assess(text)
        assert not verdict.displeased and verdict.displeasure < 0.3, (text, verdict)


@pytest.mark.parametrize(
    ("grumble", "plain"),
    [
        ("so annoying, my parcel is late again. where is order 55102?", "where is order 55102?"),
        (
            "ugh, so disappointing, the colour is nothing like the photo. how do i exchange it",
            "the colour is different from the photo, how do i exchange it",
        ),
    ],
)
def test_a_grumble_shows_in_the_mood_but_stays_with_the_bot(
    model: TriageModel, grumble: str, plain: str
) -> None:
    annoyed, neutral = model.assess(grumble), model.assess(plain)
    assert not annoyed.escalate and not neutral.escalate
    assert annoyed.displeasure >= neutral.displeasure + 0.2, (annoyed, neutral)


def test_plain_questions_and_answers_read_calm_to_the_agent(model: TriageModel) -> None:
    # The calm anchor: a plain question sits at the bottom of the mood scale, so a quiet chat's
    # summary says "calm", not "uneasy".
    plain = [
        "hello",
        "can i change my delivery address",
        "where is order 55102?",
        "do you deliver on sundays",
        "my email is ana@example.com",
        "yes please",
    ]
    moods = [verdict.displeasure for verdict in model.assess_many(plain)]
    assert max(moods) < CALM_BELOW, dict(zip(plain, moods, strict=True))
    assert mood_of(moods) == "calm"


def test_the_verdict_carries_displeasure_in_its_json(model: TriageModel) -> None:
    verdict = model.assess("honestly this is a joke")
    payload = json.loads(json.dumps(verdict.to_dict()))
    assert payload["displeasure"] == verdict.displeasure
    assert set(verdict.scores) == set(TRIAGE_LABELS)  # a mood, not an escalation label
    assert model.assess_many(["honestly this is a joke"])[0] == verdict


def test_the_agents_mood_trend_reads_displeasure_beside_the_feelings() -> None:
    entries = [Entry(f"1-{i}", "message", "customer", "…", i) for i in range(2)]
    stored = {
        "triage:1-0": json.dumps({"anger": 0.05, "frustration": 0.02, DISPLEASURE: 0.1}),
        "triage:1-1": json.dumps({"anger": 0.05, "frustration": 0.02, DISPLEASURE: 0.8}),
    }
    trend = sentiment_trend(entries, stored)
    assert [mark["upset"] for mark in trend] == [0.1, 0.8]
    assert mood_of([mark["upset"] for mark in trend]) == "calm, then upset"


def test_the_mood_scale_puts_the_chosen_threshold_at_the_displeased_mark() -> None:
    shipped = load_displeasure()
    calm, threshold = shipped.calm, shipped.threshold
    assert 0 < calm < threshold < 1
    middle = (calm + threshold) / 2
    scaled = to_mood_scale(np.array([0.0, calm, middle, threshold, 1.0]), calm, threshold)
    assert scaled.tolist() == pytest.approx([0.0, 0.0, DISPLEASED_FROM / 2, DISPLEASED_FROM, 1.0])
    ramp = to_mood_scale(np.linspace(calm, 1, 101), calm, threshold)
    assert np.all(np.diff(ramp) > 0)


def test_the_word_features_are_the_ones_the_shipped_weights_were_built_on() -> None:
    # crc32 of lowercased unigrams and bigrams, "!" and "?" as words: a change here would
    # silently misread data/triage/displeasure.npz, so rebuild it with the change.
    # "not", "happy", "!", "not happy", "happy !"
    assert ngram_buckets("Not HAPPY!") == [130421, 99273, 262099, 227669, 75379]
    assert ngram_buckets("don’t") == ngram_buckets("don't")


def test_missing_weights_say_how_to_rebuild_them(tmp_path: Path) -> None:
    with pytest.raises(DispleasureModelMissing, match="displeasure_build"):
        load_displeasure(tmp_path / "displeasure.npz")
