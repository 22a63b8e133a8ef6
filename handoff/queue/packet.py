"""The handoff packet: what an agent needs to pick a chat up without asking the customer to
repeat themselves: why it was escalated, a summary of the whole conversation
(handoff/queue/summary.py), what the assistant understood, the orders named and whether one is
proved the customer's, the mood."""

from __future__ import annotations

import json
from typing import Any

from handoff.assistant.triage.displeasure import DISPLEASURE
from handoff.conversations.entry import Entry
from handoff.conversations.store import now_ms
from handoff.queue.context import Context
from handoff.queue.summary import summarise
from vocabulary.payload import verified_order
from vocabulary.reasons import agent_text

# The assistant's slots may hold what verified the customer; the agent never needs those.
PRIVATE_SLOTS = frozenset({"email", "postal_code"})
# A customer message's mood is the highest of these triage scores: the escalation labels that
# are feelings, and displeasure (so annoyance that did not escalate still shows).
UPSET_SCORES = ("anger", "frustration", "distress", DISPLEASURE)


def claimed_order(details: dict[str, Any]) -> str | None:
    """The order the assistant's handoff payload says the customer proved is theirs."""
    return verified_order(details.get("slots"))


def build_packet(
    entries: list[Entry],
    conversation: dict[str, str],
    reason: str,
    priority: int,
    source: str,
    details: dict[str, Any],
    context: Context,
) -> dict[str, Any]:
    """The packet of a conversation (its transcript `entries` and its fields), handed over for
    `reason` by `source` ("bot", "triage", "gateway"); `details` is what that source said (the
    assistant's payload, or the triggering message)."""
    raw_intents = details.get("intents")
    intents = raw_intents if isinstance(raw_intents, list) else []
    slots: dict[str, Any] = details["slots"] if isinstance(details.get("slots"), dict) else {}
    slots = {k: v for k, v in slots.items() if k not in PRIVATE_SLOTS}
    if context.verified_order and not slots.get("order_verified"):
        # Triage handed the chat over after the customer had proved an order to the assistant.
        slots = {**slots, "order_number": context.verified_order, "order_verified": True}
    trend = sentiment_trend(entries, conversation)
    summary = summarise(
        entries,
        reason=reason,
        trigger_id=str(details.get("message") or "") or None,
        parses=context.parses,
        upset={mark["id"]: mark["upset"] for mark in trend},
        verified_order=context.verified_order,
        assistant_note=str(details.get("summary") or ""),
        assistant_intents=[i for i in intents if isinstance(i, dict)],
    )
    return {
        "reason": reason,
        "reason_text": agent_text(reason),
        "priority": priority,
        "source": source,
        **summary.as_packet(),
        "slots": slots,
        "sentiment": trend,
        "scores": details.get("scores") or {},
        "escalated_at": now_ms(),
    }


def sentiment_trend(entries: list[Entry], conversation: dict[str, str]) -> list[dict[str, Any]]:
    """Per customer message, how negative triage judged it (0 calm .. 1 upset), oldest first."""
    trend = []
    for entry in entries:
        if entry.sender != "customer":
            continue
        raw = conversation.get(f"triage:{entry.id}")
        if not raw:
            continue
        scores = json.loads(raw)
        upset = max(float(scores.get(k, 0.0)) for k in UPSET_SCORES)
        trend.append({"id": entry.id, "upset": round(upset, 3)})
    return trend
