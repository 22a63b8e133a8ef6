"""What the console shows of the queues: the waiting chats of a team, an agent's own chats, and
the handoff packet that came with a chat."""

from __future__ import annotations

import json
from typing import Any

from handoff.console.server_frames import QueueItem
from handoff.conversations.store import PRIORITY_BAND, now_ms
from handoff.state import AppState
from vocabulary.reasons import agent_text


async def queue_items(state: AppState, team: str) -> list[QueueItem]:
    """The team's waiting chats, served first first (the summary has personal data masked)."""
    items: list[QueueItem] = []
    now = now_ms()
    for cid, score in await state.store.waiting(team):
        conversation = await state.store.get(cid) or {}
        packet = packet_of(conversation)
        queued_at = int(conversation.get("queued_at") or now)
        reason = conversation.get("reason") or packet.get("reason", "")
        items.append(
            {
                "conversation": cid,
                "priority": int(score // PRIORITY_BAND),
                "reason": reason,
                "reason_text": agent_text(reason),
                "waiting_seconds": max(0, (now - queued_at) // 1000),
                "summary": packet.get("summary", ""),
            }
        )
    return items


async def active_chats(state: AppState, name: str) -> list[str]:
    """The chats assigned to the agent."""
    return sorted(str(c) for c in await state.redis.smembers(state.keys.agent_chats(name)))


def packet_of(conversation: dict[str, str]) -> dict[str, Any]:
    """The handoff packet stored with a conversation; {} if there is none or it is unreadable."""
    try:
        packet = json.loads(conversation.get("packet") or "{}")
    except ValueError:
        return {}
    return packet if isinstance(packet, dict) else {}
