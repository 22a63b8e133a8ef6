"""Escalation reasons: why a conversation goes to a person, how urgently, and what the agent reads.

One table for everyone who names a reason: the escalation triage
(`handoff/assistant/triage`) returns the first seven, the assistant's actions
(`actions/handoff.py`) send four in their handoff payload,
and the handoff service adds `bot_fallback` (a bot reply without a reason),
`bot_unavailable` (Rasa down, the customer took the offer of a person) and `assistant_busy`
(the customer's turn waited too long in line for Rasa, and they took the offer of a person:
handoff/assistant/overload.py). The queue serves lower priorities first.

Before this table there were four that disagreed; the decisions, and why:

- Priority 0, not 1, is the most urgent. `crisis` was 0 in every table, while the triage's
  docstring and docs/triage.md still said "1 = most urgent" from before crisis existed. The
  numbers are what the queue sorts by, so the numbers stand and the prose was wrong.
- The triage's table lacked `order_delayed`, `verification_failed` and `bot_unavailable`
  (a KeyError waiting for whoever looked them up there); the bot-turn table and the agent texts
  had all eleven. One table (of twelve since `assistant_busy`) now serves all three.
- The actions' comment said the service knows four reasons; it knows them all. The actions'
  own `order_lookup_unavailable` stays an offer reason of the assistant alone and travels as
  `bot_fallback` (see ASSISTANT_REASONS): its agent text ("the assistant could not help") is
  true, its summary says the order system was unreachable, and a reason of its own would queue
  at the same priority (5) anyway.
- Unknown names: the bot-turn table queued them at 5 and the queue showed agents the raw name.
  Both defaults are kept (priority_of, agent_text): a reason added on one side before the other
  still reaches a person, last in line, rather than failing the escalation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class EscalationReason:
    """One reason a conversation is handed to a person."""

    name: str
    # Queue priority: lower is served first; 0 is the most urgent.
    priority: int
    # What the agent's queue and packet show, lower case: the queue capitalises it when it starts
    # a summary ("Customer is angry: “…”").
    agent_text: str


CRISIS = "crisis"
RISK = "risk"
DISTRESS = "distress"
ANGER = "anger"
FRUSTRATION = "frustration"
COMPLEX = "complex"
HUMAN_REQUEST = "human_request"
ORDER_DELAYED = "order_delayed"
VERIFICATION_FAILED = "verification_failed"
BOT_FALLBACK = "bot_fallback"
BOT_UNAVAILABLE = "bot_unavailable"
ASSISTANT_BUSY = "assistant_busy"

# Most urgent first, so reading the table top-down is reading the queue's order.
REASONS: Mapping[str, EscalationReason] = MappingProxyType(
    {
        reason.name: reason
        for reason in (
            # Any hint of self-harm: served before everything; the customer is told at once
            # where immediate help is (CRISIS_HELP_TEXT), whether or not an agent is free.
            EscalationReason(CRISIS, 0, "customer may be in crisis: respond first"),
            # Legal threats, chargebacks, injuries, fraud: costly for the shop if left waiting.
            EscalationReason(RISK, 1, "needs urgent attention"),
            EscalationReason(DISTRESS, 2, "customer is distressed"),
            EscalationReason(ANGER, 3, "customer is angry"),
            EscalationReason(FRUSTRATION, 3, "customer is frustrated"),
            # Several intertwined problems or a demand for compensation: the bot cannot untangle
            # them, but nobody is in danger; as urgent as an upset customer.
            EscalationReason(COMPLEX, 3, "several problems or a compensation demand"),
            EscalationReason(HUMAN_REQUEST, 4, "customer asked for a person"),
            # The assistant's offers the customer accepted: as urgent as asking for a person,
            # which is what accepting is.
            EscalationReason(ORDER_DELAYED, 4, "order is delayed"),
            EscalationReason(VERIFICATION_FAILED, 4, "order verification failed"),
            # The bot gave up, or could not be reached: nobody is upset yet, so last in line.
            EscalationReason(BOT_FALLBACK, 5, "the assistant could not help"),
            EscalationReason(BOT_UNAVAILABLE, 5, "the assistant was unavailable"),
            # Overloaded rather than down; told apart so a report shows which one to fix.
            EscalationReason(ASSISTANT_BUSY, 5, "the assistant was too busy to answer"),
        )
    }
)

# The escalation triage's labels. The order is part of the trained triage model: its output
# columns are checked against this tuple when it loads, so reordering it means retraining. It
# does not pick the reason when several labels pass (the old comment said it did): the triage
# takes the most urgent, then the one furthest above its threshold
# (handoff/assistant/triage/model.py).
TRIAGE_LABELS: tuple[str, ...] = (
    CRISIS,
    RISK,
    DISTRESS,
    ANGER,
    FRUSTRATION,
    COMPLEX,
    HUMAN_REQUEST,
)

# The reasons the assistant's actions may put in a handoff payload (vocabulary.payload checks
# it). Anything else, a triage label above all, would let the bot jump the queue.
ASSISTANT_REASONS: tuple[str, ...] = (
    HUMAN_REQUEST,
    BOT_FALLBACK,
    ORDER_DELAYED,
    VERIFICATION_FAILED,
)

# The priority of a reason nobody knows: the least urgent one, as the bot-turn table had it.
DEFAULT_PRIORITY = 5

PRIORITIES: Mapping[str, int] = MappingProxyType({n: r.priority for n, r in REASONS.items()})
AGENT_TEXTS: Mapping[str, str] = MappingProxyType({n: r.agent_text for n, r in REASONS.items()})


def is_reason(name: str) -> bool:
    """True if `name` is an escalation reason of this table."""
    return name in REASONS


def priority_of(name: str) -> int:
    """The queue priority of a reason; DEFAULT_PRIORITY (last in line) if it is unknown."""
    reason = REASONS.get(name)
    return reason.priority if reason is not None else DEFAULT_PRIORITY


def agent_text(name: str) -> str:
    """What the agent reads for a reason; an unknown one shows its own name, which at least
    says something to a person, where an empty text would say nothing."""
    reason = REASONS.get(name)
    return reason.agent_text if reason is not None else name
