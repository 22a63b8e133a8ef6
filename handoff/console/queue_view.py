"""What the console shows of the queues: the waiting chats of a team, an agent's own chats, and
the handoff packet that came with a chat; what a chat is called, and how soon it needs a reply.
"""

from __future__ import annotations

import json
from typing import Any

from handoff.console.server_frames import BreachFrame, MineFrame, MyChat, QueueItem, ResponseDue
from handoff.console.sessions import SessionAgent
from handoff.conversations.store import PRIORITY_BAND, is_conversation_id, now_ms
from handoff.queue.targets import ResponseClock, chat_priority, response_clock, target_for
from handoff.state import AppState
from vocabulary.reasons import agent_text

# Crockford's base 32: no I, L, O or U, so a label read out or typed is not misread.
LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LABEL_CHARS = 4  # 20 bits: about a million labels, plenty to tell a day's visitors apart
NAME_CHARS = 60
# What a queue card and a chat in "my chats" are made of (conversations(); the first field is
# one every conversation has, so a gone conversation is told apart from an empty one).
_CLOCK_FIELDS = ("priority", "queued_at", "answered_queued_at", "awaiting_since")
QUEUE_CARD_FIELDS = ("state", "customer_name", "packet", "reason", *_CLOCK_FIELDS)
MY_CHAT_FIELDS = ("state", "customer_name", *_CLOCK_FIELDS)


def visitor_label(cid: str) -> str:
    """A short label that stays the same for a conversation on every page and replica: the
    first 20 bits of its (random) id in Crockford base 32, e.g. "7F3K". Not a way to find the
    conversation (two may share a label); the console's Preview and Claim act on the id."""
    bits = int(cid[:5], 16) if is_conversation_id(cid) else 0
    return "".join(
        LABEL_ALPHABET[(bits >> (5 * (LABEL_CHARS - 1 - i))) & 31] for i in range(LABEL_CHARS)
    )


def chat_title(cid: str, conversation: dict[str, str]) -> str:
    """What the console calls a chat: the customer's name once verified (`customer_name`, set
    at escalation from the verified order), else "Visitor" and its label. Shown only to staff,
    like the rest of the conversation; rendered as text."""
    name = " ".join((conversation.get("customer_name") or "").split())
    return name[:NAME_CHARS] if name else f"Visitor {visitor_label(cid)}"


def clock_of(state: AppState, conversation: dict[str, str]) -> ResponseClock | None:
    """The reply the chat's customer is waiting for, with the service's targets."""
    settings = state.settings
    return response_clock(
        conversation, settings.first_response_targets, settings.next_response_targets
    )


def due_of(clock: ResponseClock | None, now: int) -> ResponseDue | None:
    if clock is None:
        return None
    return {
        "kind": clock.kind,
        "target_seconds": clock.target_seconds,
        "left_seconds": clock.left_seconds(now),
        "started_at": clock.started_at,
    }


async def queue_items(state: AppState, team: str) -> list[QueueItem]:
    """The team's waiting chats, served first first (the summary has personal data masked)."""
    items: list[QueueItem] = []
    now = now_ms()
    waiting = await state.store.waiting(team)
    found = await conversations(state, [cid for cid, _ in waiting], QUEUE_CARD_FIELDS)
    for (cid, score), conversation in zip(waiting, found, strict=True):
        conversation = conversation or {}
        packet = packet_of(conversation)
        queued_at = int(conversation.get("queued_at") or now)
        reason = conversation.get("reason") or packet.get("reason", "")
        priority = int(score // PRIORITY_BAND)
        items.append(
            {
                "conversation": cid,
                "priority": priority,
                "reason": reason,
                "reason_text": agent_text(reason),
                "waiting_seconds": max(0, (now - queued_at) // 1000),
                "summary": card_summary(packet),
                "title": chat_title(cid, conversation),
                # A waiting chat's customer waits for a first response, counted from queued_at.
                "target_seconds": target_for(
                    state.settings.first_response_targets, chat_priority(conversation)
                ),
            }
        )
    return items


async def conversations(
    state: AppState, cids: list[str], names: tuple[str, ...]
) -> list[dict[str, str] | None]:
    """Some fields of each conversation (None for one that is gone), in one round trip: a
    console refreshes every waiting chat, or every chat of an agent, at once."""
    if not cids:
        return []
    async with state.redis.pipeline(transaction=False) as pipe:
        for cid in cids:
            pipe.hmget(state.keys.conversation(cid), list(names))
        rows: list[list[Any]] = await pipe.execute()
    return [
        {n: str(v) for n, v in zip(names, row, strict=True) if v is not None} if row[0] else None
        for row in rows
    ]


async def active_chats(state: AppState, name: str) -> list[str]:
    """The chats assigned to the agent."""
    return sorted(str(c) for c in await state.redis.smembers(state.keys.agent_chats(name)))


async def mine_frame(state: AppState, name: str) -> MineFrame:
    """The agent's assigned chats with their titles and the reply each customer waits for."""
    chats: list[MyChat] = []
    now = now_ms()
    mine = await active_chats(state, name)
    for cid, conversation in zip(
        mine, await conversations(state, mine, MY_CHAT_FIELDS), strict=True
    ):
        if conversation is None:
            continue
        chats.append(
            {
                "conversation": cid,
                "title": chat_title(cid, conversation),
                "priority": chat_priority(conversation),
                "due": due_of(clock_of(state, conversation), now),
            }
        )
    return {"type": "mine", "chats": chats}


def breach_hint(cid: str, conversation: dict[str, str], clock: ResponseClock) -> dict[str, Any]:
    """The live-channel hint of a breach, for the consoles that see the chat (breach_frame)."""
    return {
        "breach": cid,
        "kind": clock.kind,
        "priority": clock.priority,
        "target_seconds": clock.target_seconds,
        "title": chat_title(cid, conversation),
        "chat_state": conversation.get("state", ""),
        "team": conversation.get("team", ""),
        "agent": conversation.get("agent", ""),
    }


def breach_frame(agent: SessionAgent, hint: dict[str, Any]) -> BreachFrame | None:
    """The `breach` frame for this console, if its agent sees the chat: an assigned chat's own
    agent, a waiting chat's team (admins see every queue); None for everyone else."""
    if hint.get("chat_state") == "assigned":
        if hint.get("agent") != agent.name:
            return None
    elif agent.role != "admin" and hint.get("team") not in agent.account.teams:
        return None
    return {
        "type": "breach",
        "conversation": str(hint["breach"]),
        "title": str(hint.get("title", "")),
        "kind": str(hint.get("kind", "first")),
        "priority": int(hint.get("priority") or 0),
        "target_seconds": float(hint.get("target_seconds") or 1),
        "state": str(hint.get("chat_state", "queued")),
    }


def card_summary(packet: dict[str, Any]) -> str:
    """What a queue card says under its reason: the customer's words that got the chat handed
    over (the reason is already on the card), else the packet's summary (masked)."""
    trigger = packet.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("text"), str) and trigger["text"]:
        return f"“{trigger['text']}”"
    return str(packet.get("summary", ""))


def packet_of(conversation: dict[str, str]) -> dict[str, Any]:
    """The handoff packet stored with a conversation; {} if there is none or it is unreadable."""
    try:
        packet = json.loads(conversation.get("packet") or "{}")
    except ValueError:
        return {}
    return packet if isinstance(packet, dict) else {}
