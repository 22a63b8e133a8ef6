"""Hand-written cues for the phrasings where a miss is expensive and the wording is predictable.

A few hundred labelled messages are not enough for a classifier to be sure about every way of
asking for a person or threatening a chargeback, yet those are exactly the messages that must
never stay with the bot. Each cue is a spaCy ``Matcher`` pattern kept deliberately narrow (a
legal *threat*, not any mention of a lawyer; a *burn injury*, not "burnt orange"). When a cue
fires, its label scores at least :data:`CUE_SCORE`, which is above every tuned threshold.
Anything vaguer is left to the ``textcat_multilabel`` classifier.

This module says which cues there are, which label each raises and what it scores; it needs no
spaCy. The phrases are in :mod:`.cue_phrases_safety` (crisis, risk, distress) and
:mod:`.cue_phrases_service` (a person, frustration, anger); the spaCy component
that finds them in a message is :mod:`.cue_matcher`.

The patterns live in the code rather than in the saved model so that the pipeline on disk only
names the ``harbor_triage_cues`` factory: loading a model always uses the patterns of the
installed code, and changing them changes the training fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence

from .cue_phrases_safety import CRISIS_PATTERNS, DISTRESS_PATTERNS, RISK_PATTERNS
from .cue_phrases_service import ANGER_PATTERNS, BARE_REQUEST, FRUSTRATION_PATTERNS, HUMAN_PATTERNS
from .cue_tokens import Pattern
from .reasons import ANGER, CRISIS, DISTRESS, FRUSTRATION, HUMAN_REQUEST, RISK

# The name of the spaCy factory the saved pipeline config refers to (cue_matcher registers it).
FACTORY = "harbor_triage_cues"
# The floor a cue gives its label: above every tuned threshold, so a firing cue escalates.
CUE_SCORE = 0.9
# The Doc extension the matcher stores the names of the cues found in.
DOC_ATTR = "triage_cues"

# Every table of Matcher patterns, cue name -> patterns (the bare request is matched apart).
PATTERN_TABLES: tuple[dict[str, list[Pattern]], ...] = (
    HUMAN_PATTERNS,
    RISK_PATTERNS,
    CRISIS_PATTERNS,
    DISTRESS_PATTERNS,
    FRUSTRATION_PATTERNS,
    ANGER_PATTERNS,
)

CUE_LABELS: dict[str, str] = {
    **{name: HUMAN_REQUEST for name in HUMAN_PATTERNS},
    BARE_REQUEST: HUMAN_REQUEST,
    **{name: RISK for name in RISK_PATTERNS},
    **{name: CRISIS for name in CRISIS_PATTERNS},
    **{name: DISTRESS for name in DISTRESS_PATTERNS},
    **{name: FRUSTRATION for name in FRUSTRATION_PATTERNS},
    **{name: ANGER for name in ANGER_PATTERNS},
}


def cue_scores(cues: Sequence[str]) -> dict[str, float]:
    """The floor each label gets from the cues found in a message."""
    scores: dict[str, float] = {}
    for cue in cues:
        scores[CUE_LABELS[cue]] = CUE_SCORE
    return scores
