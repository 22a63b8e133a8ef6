"""Escalation reasons and the queue priority each one gets (1 = most urgent).

Triage itself returns the first seven; the service adds ``bot_fallback`` when the bot gives up
on its own, which is why it has the lowest priority: nobody is upset yet. ``crisis`` (any hint
of self-harm) comes before everything, at priority 0: such a chat is served first, and the
customer is told at once where immediate help is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CRISIS = "crisis"
RISK = "risk"
DISTRESS = "distress"
ANGER = "anger"
FRUSTRATION = "frustration"
COMPLEX = "complex"
HUMAN_REQUEST = "human_request"
BOT_FALLBACK = "bot_fallback"

# Order matters: when several labels pass their thresholds, the first one in this tuple wins
# the reason, so a customer who is angry *and* mentions a chargeback is queued as a risk.
TRIAGE_LABELS: tuple[str, ...] = (
    CRISIS,
    RISK,
    DISTRESS,
    ANGER,
    FRUSTRATION,
    COMPLEX,
    HUMAN_REQUEST,
)

PRIORITY: Mapping[str, int] = MappingProxyType(
    {
        CRISIS: 0,
        RISK: 1,
        DISTRESS: 2,
        ANGER: 3,
        FRUSTRATION: 3,
        # Several intertwined problems or a demand for compensation: the bot cannot untangle
        # them, but nobody is in danger; as urgent as an upset customer.
        COMPLEX: 3,
        HUMAN_REQUEST: 4,
        BOT_FALLBACK: 5,
    }
)
