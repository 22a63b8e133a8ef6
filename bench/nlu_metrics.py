"""The NLU benchmark's metrics: what a test set says about a classifier (accuracy, in-scope
accuracy, out-of-scope recall, Matthews correlation) and the threshold chosen on held-out
predictions. Used by bench/nlu_bench.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.prediction import Prediction

OOS = "out_of_scope"  # the label this harness gives every out-of-scope message
THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))


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
