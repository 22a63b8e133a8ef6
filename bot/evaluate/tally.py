"""What customers got from a set of messages, and which fallback threshold serves them best.

Served right: the right answer, or an off-topic question declined. Served wrong: another answer,
or a shop question declined. Otherwise the customer was asked to rephrase. A wrong answer costs
the customer more than a "please rephrase" (they may act on it, then come back), so a threshold
is judged by

    utility = answered right - wrong_answer_cost x answered wrong

and the lowest threshold within a small tie of the best utility is chosen: between equally good
settings, the one that answers more often is the friendlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.prediction import Prediction

# Answers that serve a question as well as its own topic's. "Where is my parcel?" labelled as
# the tracking FAQ is served just as well by the order lookup, which finds that very parcel
# (and the tracking FAQ's answer offers the lookup anyway).
EQUIVALENT_ANSWERS: dict[str, frozenset[str]] = {
    "faq/track_package": frozenset({"check_order_status"}),
}


def is_right(answer: str, expected: str) -> bool:
    return answer == expected or answer in EQUIVALENT_ANSWERS.get(expected, frozenset())


def exactly_right(prediction: Prediction) -> bool:
    """The expected label exactly, no equivalent answer."""
    return prediction.correct


def served_right(prediction: Prediction) -> bool:
    """The expected label, or an answer that serves the question as well (EQUIVALENT_ANSWERS)."""
    return is_right(prediction.answer, prediction.gold)


@dataclass
class Tally:
    right: int = 0
    wrong: int = 0
    rephrase: int = 0
    declined: int = 0  # of all messages, how many got the out-of-scope decline
    misses: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.rephrase

    def share(self, count: int) -> float:
        return 100.0 * count / self.total if self.total else 0.0

    def utility(self, wrong_answer_cost: float) -> float:
        return self.right - wrong_answer_cost * self.wrong


def as_configured(predictions: Sequence[Prediction]) -> Tally:
    """What customers got from the model as configured (its own fallback decisions)."""
    right = sum(1 for p in predictions if not p.fell_back and p.correct)
    rephrase = sum(1 for p in predictions if p.fell_back)
    return Tally(right, len(predictions) - right - rephrase, rephrase)


def replay(
    predictions: Sequence[Prediction],
    threshold: float,
    ambiguity: float,
    joint: bool = False,
    right: Callable[[Prediction], bool] = exactly_right,
) -> Tally:
    """What customers would get from the raw predictions with this fallback setting."""
    tally = Tally()
    for prediction in predictions:
        if prediction.falls_back(threshold, ambiguity, joint):
            tally.rephrase += 1
        elif right(prediction):
            tally.right += 1
        else:
            tally.wrong += 1
    return tally


def lowest_within(utilities: Mapping[float, float], tie: float) -> float:
    """The lowest threshold whose utility is within `tie` (a share of the best) of the best."""
    best = max(utilities.values())
    return min(t for t, utility in utilities.items() if utility >= best - tie * abs(best))
