"""Escalation triage: decides whether a customer message should go from the bot to a person.

Importing this package is cheap: spaCy and the trained pipeline load only in
:meth:`TriageModel.load`. See docs/triage.md.
"""

from .config import TriageConfigError, TriageThresholds, model_dir
from .model import TriageModel, TriageModelMissing, Verdict
from .reasons import PRIORITY, TRIAGE_LABELS

__all__ = [
    "PRIORITY",
    "TRIAGE_LABELS",
    "TriageConfigError",
    "TriageModel",
    "TriageModelMissing",
    "TriageThresholds",
    "Verdict",
    "model_dir",
]
