"""Rasa's FallbackClassifier as the evaluations replay it: its rule, and config.yml's setting.

The assistant asks the customer to rephrase when the top intent's confidence is below
`threshold`, or within `ambiguity_threshold` of the runner-up's. Rasa applies the rule while
serving; the evaluations replay it on raw confidences, so one trained model serves a whole
threshold sweep (bot/evaluate/, bot/nlu/calibrate.py, bench/nlu_bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.model import ROOT

CONFIG = ROOT / "config.yml"
# An earlier pipeline gated an FAQ's confidence by its topic's (P(faq) x P(topic)) in this
# component; the cross-validation sweep still compares both ways of gating.
GATE_COMPONENT = "bot.faq_confidence.FaqTopicConfidence"


def falls_back(top: float, runner_up: float, threshold: float, ambiguity: float) -> bool:
    """The rule: not sure enough, or the two likeliest intents too close to tell apart."""
    return top < threshold or top - runner_up < ambiguity


@dataclass(frozen=True)
class FallbackSetting:
    """config.yml's FallbackClassifier, and whether FAQ confidences are gated by the topic."""

    threshold: float
    ambiguity: float
    joint: bool


def configured_fallback(config: Path = CONFIG) -> FallbackSetting:
    """The setting in `config`; a pipeline without a FallbackClassifier never falls back."""
    pipeline = yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]
    names = [component["name"] for component in pipeline]
    fallback: dict[str, Any] = next((c for c in pipeline if c["name"] == "FallbackClassifier"), {})
    return FallbackSetting(
        threshold=float(fallback.get("threshold", 0.0)),
        ambiguity=float(fallback.get("ambiguity_threshold", 0.0)),
        joint=GATE_COMPONENT in names,
    )
