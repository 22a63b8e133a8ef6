"""Per-label escalation thresholds chosen from cross-validated triage scores.

Each label starts at the threshold with its best F1; then, while too many routine messages
would escalate, the label whose next useful step up costs the fewest real escalations is raised
(never `crisis`). Used by training (handoff/assistant/triage/train.py); reads no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import TriageThresholds
from .reasons import CRISIS, TRIAGE_LABELS

# At most this share of routine messages may escalate (cross-validated): agents' time is the
# cost of a needless handoff, and the goal is 2 %.
ROUTINE_ESCALATION_TARGET = 0.02
# Thresholds are searched below the cue floor (0.9) so a firing cue always escalates.
THRESHOLD_GRID = tuple(round(0.1 + 0.01 * i, 2) for i in range(76))


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    labels: frozenset[str]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_threshold(
    scores: Sequence[float], truth: Sequence[bool], grid: Sequence[float] = THRESHOLD_GRID
) -> tuple[float, float]:
    """(threshold, F1) with the best F1 on `grid`; the middle of the best plateau, for
    stability."""
    results = []
    for threshold in grid:
        tp = sum(1 for s, t in zip(scores, truth, strict=True) if s >= threshold and t)
        fp = sum(1 for s, t in zip(scores, truth, strict=True) if s >= threshold and not t)
        fn = sum(1 for s, t in zip(scores, truth, strict=True) if s < threshold and t)
        results.append((round(_f1(tp, fp, fn), 6), threshold))
    top = max(f1 for f1, _ in results)
    plateau = [threshold for f1, threshold in results if f1 == top]
    return plateau[len(plateau) // 2], top


def _escalate_counts(
    messages: Sequence[LabelledMessage],
    scores: Sequence[dict[str, float]],
    thresholds: dict[str, float],
) -> tuple[int, int, int]:
    """(true, false, missed) escalations of the any-label decision."""
    tp = fp = fn = 0
    for message, score in zip(messages, scores, strict=True):
        predicted = any(score[label] >= thresholds[label] for label in TRIAGE_LABELS)
        actual = bool(message.labels)
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return tp, fp, fn


def choose_thresholds(
    messages: Sequence[LabelledMessage], scores: Sequence[dict[str, float]]
) -> tuple[TriageThresholds, dict[str, float], dict[str, float]]:
    """Per-label thresholds from cross-validated scores, and the escalate-decision figures.

    Each label starts at its best-F1 threshold. Seven labels each a little eager add up, so
    while more than ROUTINE_ESCALATION_TARGET of the routine messages would escalate, the
    label whose next step up removes the most needless escalations per real escalation lost is
    raised to the next threshold that removes any. `crisis` is never raised: a missed hint of
    self-harm costs too much.
    """
    chosen: dict[str, float] = {}
    f1s: dict[str, float] = {}
    for label in TRIAGE_LABELS:
        chosen[label], f1s[label] = best_threshold(
            [s[label] for s in scores], [label in m.labels for m in messages]
        )
    routine = sum(1 for m in messages if not m.labels) or 1
    tp, fp, _ = _escalate_counts(messages, scores, chosen)
    while fp / routine > ROUTINE_ESCALATION_TARGET:
        best: tuple[float, str, float] | None = None
        for label in TRIAGE_LABELS:
            if label == CRISIS:
                continue
            for higher in (t for t in THRESHOLD_GRID if t > chosen[label]):
                trial_tp, trial_fp, _ = _escalate_counts(
                    messages, scores, {**chosen, label: higher}
                )
                removed, lost = fp - trial_fp, tp - trial_tp
                if removed > 0:
                    if best is None or removed / (lost + 1) > best[0]:
                        best = (removed / (lost + 1), label, higher)
                    break
        if best is None:
            break
        chosen[best[1]] = best[2]
        tp, fp, _ = _escalate_counts(messages, scores, chosen)
    thresholds = TriageThresholds().merged(chosen)
    tp, fp, fn = _escalate_counts(messages, scores, chosen)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    escalate = {
        "precision": precision,
        "recall": recall,
        "f1": _f1(tp, fp, fn),
        "routine_escalated": fp / routine,
    }
    return thresholds, f1s, escalate
