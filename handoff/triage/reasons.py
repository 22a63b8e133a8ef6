"""Escalation reasons and the queue priority each one gets (1 = most urgent).

Triage itself returns the first five; the service adds ``bot_fallback`` when the bot gives up
on its own, which is why it has the lowest priority: nobody is upset yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

RISK = "risk"
DISTRESS = "distress"
ANGER = "anger"
FRUSTRATION = "frustration"
HUMAN_REQUEST = "human_request"
BOT_FALLBACK = "bot_fallback"

# Order matters: when several labels pass their thresholds, the first one in this tuple wins
# the reason, so a customer who is angry *and* mentions a chargeback is queued as a risk.
TRIAGE_LABELS: tuple[str, ...] = (RISK, DISTRESS, ANGER, FRUSTRATION, HUMAN_REQUEST)

PRIORITY: Mapping[str, int] = MappingProxyType(
    {
        RISK: 1,
        DISTRESS: 2,
        ANGER: 3,
        FRUSTRATION: 3,
        HUMAN_REQUEST: 4,
        BOT_FALLBACK: 5,
    }
)
