"""The live-agent queue: escalation into it and leaving it, assembled with the parts that count,
estimate waits and take messages (see handoff/queue/).

Escalation builds the handoff packet and queues the conversation by priority, first come first
served within a priority. When no agent of the team is online, or it is outside business hours,
the customer is told so honestly and offered to leave a message instead of waiting for nobody.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from handoff.conversations.store import ConversationStore, now_ms
from handoff.queue.context import Context, ContextSource
from handoff.queue.packet import build_packet, claimed_order
from handoff.queue.tickets import Tickets
from handoff.queue.waiting import Waiting, is_open
from handoff.settings import Settings

log = logging.getLogger(__name__)


class LiveQueue(Waiting, Tickets):
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        store: ConversationStore,
        settings: Settings,
        context: ContextSource | None = None,
    ):
        self.redis = redis
        self.keys = keys
        self.store = store
        self.settings = settings
        # Rasa's parses and the verified customer for the packet; None: the packet is built
        # from the transcript and the assistant's payload alone.
        self.context = context
        self._staffing = {}

    async def escalate(
        self, cid: str, reason: str, priority: int, source: str, details: dict[str, Any]
    ) -> bool:
        """Queue the conversation for a person; False (and an offer to leave a message) if
        nobody can take it now."""
        conversation = await self.store.get(cid)
        if conversation is None or conversation.get("state") != "bot":
            return False
        team = conversation.get("team") or self.settings.default_team
        await self.count("escalation_attempts")
        online, _ = await self.free_slots(team)
        if online == 0 or not is_open(self.settings):
            why = (
                "outside our opening hours"
                if online and not is_open(self.settings)
                else ("no agent is available right now")
            )
            await self.store.append(
                cid,
                "system",
                f"I'm sorry, {why}. Leave your email address and a message and we'll reply by "
                "email within one business day.",
                kind="event",
                event="offer_leave_message",
                reason=reason,
            )
            await self.count("unstaffed")
            return False
        entries = await self.store.read_all(cid)
        customer = [e for e in entries if e.sender == "customer" and e.kind == "message"]
        verified = claimed_order(details)
        context = (
            await self.context.gather(cid, customer, reason, verified)
            if self.context is not None
            else Context(verified_order=verified)
        )
        packet = build_packet(entries, conversation, reason, priority, source, details, context)
        result = await self.store.move(
            cid,
            allowed=["bot"],
            new_state="queued",
            event_text="You're in the queue for a person. They will see this whole chat.",
            priority=priority,
            fields={
                "reason": reason,
                "queued_at": now_ms(),
                "packet": json.dumps(packet),
                "escalations": int(conversation.get("escalations", "0") or 0) + 1,
                **context.identity(),
            },
            event={"reason": reason},
        )
        if result.ok:
            await self.store.publish({"q": team})
            await self.count_once(cid, conversation, "handed_off_at", "handoffs")
            await self.count_once(cid, conversation, "person_needed_at", "person_needed")
        return result.ok

    async def cancel(self, cid: str) -> bool:
        result = await self.store.move(
            cid,
            allowed=["queued"],
            new_state="bot",
            event_text="You left the queue. You're back with the assistant.",
            # What the customer wrote while waiting was for a person, up to the very move: the
            # bot starts after it.
            cursor_to_now=True,
            event={"reason": "customer_cancelled"},
        )
        if result.ok:
            await self.store.publish({"q": result.team or self.settings.default_team})
        return result.ok
