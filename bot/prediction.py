"""What the assistant made of one customer message, read from a Rasa parse.

Every check and evaluation reads a parse this one way: the FAQ tool's conflict check and its
publish scores (bot/faq/), the held-out reports (bot/evaluate/, bot/nlu/served.py), the
threshold calibration (bot/nlu/calibrate.py) and the public benchmarks (bench/nlu_bench.py).
No rasa import: a parse is a dict, and the editor's quick commands import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import fallback

FAQ = "faq"  # the retrieval intent of every FAQ topic (faq/<key>)
FALLBACK = "nlu_fallback"  # the intent the FallbackClassifier sets: "please rephrase"
OUT_OF_SCOPE = "out_of_scope"  # questions the shop does not answer, declined politely
SUGGESTED_TOPICS = 3  # actions/faq_fallback.py offers up to three


@dataclass(frozen=True)
class Prediction:
    """One message's expected label and the model's prediction.

    `intent` and the confidences are what the classifiers said before any fallback;
    `fell_back` is whether the model as configured asked the customer to rephrase.
    """

    text: str
    gold: str  # intent, or faq/<key>; "" where nothing is expected (a conflict check)
    intent: str
    intent_confidence: float
    runner_up_confidence: float
    faq_key: str | None  # the chosen FAQ topic (faq/<key>), whatever the intent
    faq_confidence: float
    faq_top: tuple[str, ...]  # the likeliest topics, as the rephrase buttons offer them
    fell_back: bool

    @property
    def answer(self) -> str:
        """What the assistant would do without a fallback: the intent, or the FAQ it answers."""
        return self.faq_key if self.intent == FAQ and self.faq_key else self.intent

    @property
    def label(self) -> str:
        """What the assistant as configured did: its answer, or FALLBACK when it asked the
        customer to rephrase."""
        return FALLBACK if self.fell_back else self.answer

    @property
    def correct(self) -> bool:
        return self.answer == self.gold

    def falls_back(self, threshold: float, ambiguity: float, joint: bool = False) -> bool:
        """Would a FallbackClassifier with this setting refuse to answer?

        `joint` replays the old topic gate (bot.fallback.GATE_COMPONENT) in front of it: an
        FAQ's confidence becomes P(faq) x P(topic).
        """
        confidence = self.intent_confidence
        if joint and self.intent == FAQ:
            confidence *= self.faq_confidence
        return fallback.falls_back(confidence, self.runner_up_confidence, threshold, ambiguity)


def to_prediction(text: str, gold: str, parsed: dict[str, Any]) -> Prediction:
    """Read a Rasa parse (`/model/parse`, `Agent.parse_message`) of `text`."""
    # A parse without a ranking (a pipeline with no intent classifier that ranks, or a peer
    # that answers only the top intent) still names its intent.
    ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
    # A model with a FallbackClassifier puts nlu_fallback first; what it overrode comes after.
    ranking = [entry for entry in ranking if entry.get("name") not in {None, FALLBACK}]
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
