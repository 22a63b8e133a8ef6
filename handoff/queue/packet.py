"""The handoff packet: what an agent needs to pick a chat up without asking the customer to
repeat themselves (why it was escalated, a summary, what the assistant understood, the mood)."""

from __future__ import annotations

import json
from typing import Any

from handoff.conversations.store import ConversationStore, Entry, now_ms
from vocabulary.pii import mask
from vocabulary.reasons import agent_text

# The assistant's slots may hold what verified the customer; the agent never needs those.
PRIVATE_SLOTS = frozenset({"email", "postal_code"})


async def build_packet(
    store: ConversationStore,
    cid: str,
    reason: str,
    priority: int,
    source: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    entries = await store.read_all(cid)
    first_customer = next((e.text for e in entries if e.sender == "customer"), "")
    summary = str(details.get("summary") or "")
    if not summary:
        summary = f"{agent_text(reason).capitalize()}: “{first_customer[:120]}”"
    intents = details.get("intents") if isinstance(details.get("intents"), list) else []
    slots: dict[str, Any] = details["slots"] if isinstance(details.get("slots"), dict) else {}
    conversation = await store.get(cid) or {}
    return {
        "reason": reason,
        "reason_text": agent_text(reason),
        "priority": priority,
        "source": source,
        "summary": mask(summary),
        "intents": intents,
        "slots": {k: v for k, v in slots.items() if k not in PRIVATE_SLOTS},
        "sentiment": sentiment_trend(entries, conversation),
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
        upset = max(
            (float(scores.get(k, 0.0)) for k in ("anger", "frustration", "distress")), default=0.0
        )
        trend.append({"id": entry.id, "upset": round(upset, 3)})
    return trend
