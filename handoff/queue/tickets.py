"""Leaving a message when nobody can take the chat: a ticket the team answers by email."""

from __future__ import annotations

from handoff.conversations.store import now_ms
from handoff.queue.stats import QueueStats


class Tickets(QueueStats):
    async def leave_message(self, cid: str, email: str, text: str) -> str:
        """The customer's message left in the widget: stored in the conversation, and a ticket."""
        # What they wrote is part of the conversation: the agent who takes the ticket reads it
        # in the transcript, and the emails quote it in "the conversation so far". For a
        # person, not the assistant (channel "ticket": no bot turn).
        await self.store.append(cid, "customer", text, channel="ticket")
        return await self.open_ticket(cid, email, text)

    async def open_ticket(self, cid: str, email: str, text: str) -> str:
        """A ticket for a customer message already stored in the conversation (an email that
        came in, email/inbound.py, stores its own, once per Message-ID).

        The conversation is kept at least as long as a closed chat from now on: the team
        answers "within one business day", and a chat with the assistant may be kept only
        hours (RESUME_TOKEN_TTL_SECONDS). KeyError when the conversation is gone."""
        # Before the ticket exists, so no ticket ever points at a conversation about to expire;
        # one script raises the stored lifetime and the keys' TTLs together (lua/resume.lua).
        if not await self.store.keep_at_least(cid, self.settings.closed_conversation_ttl):
            raise KeyError(cid)
        ticket_id = await self.redis.xadd(
            self.keys.tickets,
            {
                "conversation": cid,
                "email": email,
                "text": text,
                "at": str(now_ms()),
                "status": "open",
            },
            # The oldest drop off past the bound, so a flood of messages cannot fill Redis.
            maxlen=self.settings.max_tickets,
            approximate=True,
        )
        # The email is the customer's own: agents find their past conversations by it, and
        # export and erasure find the conversation by it (handoff/archive/privacy.py).
        await self.store.set_fields(cid, {"customer_email": email.strip().lower()})
        await self.store.append(
            cid,
            "system",
            "Thanks, your message is with our team. We'll reply by email within one business day.",
            kind="event",
            event="ticket_created",
        )
        await self.count("tickets")
        conversation = await self.store.get(cid)
        if conversation is not None:
            await self.count_once(cid, conversation, "person_needed_at", "person_needed")
        await self.store.publish({"tickets": True})
        return str(ticket_id)
