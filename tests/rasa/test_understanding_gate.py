"""The classifier's optional gate (bot/nlu/classifier.py): the likeliest label's confidence
becomes the gate's, and no other label can overtake it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bot.nlu.classifier import (
    GATE_FEATURES,
    MessageClassifier,
    Settings,
    gate_probability,
    gated,
)

PHRASINGS = {
    "faq/returns": ["how do i return a lamp", "send the lamp back", "return policy for lamps"],
    "faq/shipping": ["how long does shipping take", "when will my parcel ship", "delivery time"],
    "out_of_scope": ["what is the weather", "tell me a joke", "who won the match"],
}


def encode(texts: Sequence[str]) -> np.ndarray:
    """A stand-in sentence encoder: unit vectors of letter counts (the real one has its own
    tests in tests/understanding)."""
    vectors = np.zeros((len(texts), 26), dtype=np.float32)
    for row, text in enumerate(texts):
        for letter in text.lower():
            if "a" <= letter <= "z":
                vectors[row, ord(letter) - ord("a")] += 1.0
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def trained(settings: Settings) -> MessageClassifier:
    texts = [text for phrasings in PHRASINGS.values() for text in phrasings]
    labels = [label for label, phrasings in PHRASINGS.items() for _ in phrasings]
    return MessageClassifier.train(texts, labels, encode, settings)


@pytest.mark.parametrize("confidence", [0.05, 0.3, 0.5, 0.9, 0.99])
def test_the_gated_label_keeps_its_place_and_the_others_their_order(confidence: float) -> None:
    fused = np.array([0.1, 0.45, 0.4, 0.05])
    result = gated(fused, confidence)
    assert result[1] == pytest.approx(confidence)
    assert int(np.argmax(result)) == 1  # a doubted label never lets the runner-up through
    others = np.delete(result, 1)
    assert list(np.argsort(-others)) == list(np.argsort(-np.delete(fused, 1)))
    assert result.sum() <= 1.0 + 1e-9


def test_a_gate_of_zero_weights_is_even_odds() -> None:
    assert gate_probability([0.0] * (len(GATE_FEATURES) + 1), np.ones(len(GATE_FEATURES))) == 0.5


def test_with_a_gate_the_likeliest_label_reports_the_gates_probability() -> None:
    plain = trained(Settings())
    gate = (0.0,) * len(GATE_FEATURES) + (2.0,)  # sure of everything: sigmoid(2) = 0.88
    with_gate = trained(Settings(gate=gate))
    message = ["can i send this lamp back"]
    (before,) = plain.scores(message, encode)
    (after,) = with_gate.scores(message, encode)
    assert np.argmax(after.probabilities) == np.argmax(before.probabilities)
    assert after.probabilities.max() == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert np.array_equal(after.gate_features, before.gate_features)
    assert len(after.gate_features) == len(GATE_FEATURES)
