"""The triage's escalation reasons and their queue priorities (0 = most urgent).

They live in the shared vocabulary (vocabulary/reasons.py), one table with the assistant and the
rest of the service; this module keeps the names the triage modules import. Triage itself
returns the seven TRIAGE_LABELS; the service adds `bot_fallback` when the bot gives up on its
own, and the assistant's offers bring their own reasons (order_delayed, verification_failed).
``crisis`` (any hint of self-harm) comes before everything, at priority 0: such a chat is served
first, and the customer is told at once where immediate help is.
"""

from __future__ import annotations

from vocabulary.reasons import (
    ANGER,
    BOT_FALLBACK,
    COMPLEX,
    CRISIS,
    DISTRESS,
    FRUSTRATION,
    HUMAN_REQUEST,
    PRIORITIES,
    RISK,
    TRIAGE_LABELS,
)

# Every reason's priority, not only the triage labels': a verdict's reason is always a label, and
# whoever looks up another reason here gets its number rather than a KeyError.
PRIORITY = PRIORITIES

__all__ = [
    "ANGER",
    "BOT_FALLBACK",
    "COMPLEX",
    "CRISIS",
    "DISTRESS",
    "FRUSTRATION",
    "HUMAN_REQUEST",
    "PRIORITY",
    "RISK",
    "TRIAGE_LABELS",
]
