"""The agent's messages a customer missed, emailed once they have been away long enough.

An agent's message goes by email at once when the customer has been gone
EMAIL_AFTER_AWAY_SECONDS (email/outbox.py `away_mail_id`). One written sooner after they left
is not, since they may come back and read it in the chat; instead the conversation is put in
`Keys.mail_missed`, scored by when that time will have passed. Every replica's sweeper (every
2 s) then takes the due conversations:

    customer back (a socket anywhere)       nothing to send: the widget showed them everything
    back and gone again since               checked again once the new absence is long enough
    still away                              one email with every agent message since they left
                                            that went by no email, and an event in the chat
                                            that names the mail (the console shows its status)

**Once across replicas**: a replica takes a conversation with the outbox's own claim script
(lua/claim_mail.lua: the member moves a lease ahead, MAIL_LEASE), queues the mail, records the
last message it carried (`missed_mailed_through`, so no message is emailed twice), and only
then removes it; an agent message written meanwhile (which found it listed) lists it again. A
replica that dies in between leaves it to another after the lease: a rare second email rather
than a lost one, as with follow-ups.
"""

from __future__ import annotations

import logging

from handoff.conversations.entry import Entry
from handoff.conversations.keys import MAIL_LEASE
from handoff.conversations.store import now_ms
from handoff.email.away import away_seconds
from handoff.email.outbox import email_on, new_mail_id, queue_agent_message
from handoff.email.sender import claim_script
from handoff.state import AppState

log = logging.getLogger("handoff.email")

# Conversations taken per replica per sweep round: a backlog drains without holding the sweeper.
TAKEN_PER_ROUND = 20
MISSED_EVENT = "missed_messages_emailed"


def _stream_order(entry_id: str) -> tuple[int, int]:
    """A Redis stream id as (ms, sequence), the order the transcript keeps."""
    ms, _, sequence = entry_id.partition("-")
    return int(ms or 0), int(sequence or 0)


def missed_messages(entries: list[Entry], left_at_ms: int, mailed_through: str) -> list[Entry]:
    """The agent's messages stored since the customer left that no email carried yet."""
    after = _stream_order(mailed_through) if mailed_through else (0, 0)
    return [
        e
        for e in entries
        if e.kind == "message"
        and e.sender == "agent"
        and e.text
        and not e.fields.get("mail")
        and e.at >= left_at_ms
        and _stream_order(e.id) > after
    ]


class MissedMail:
    """The sweeper's job (one per replica): email what away customers missed, when due."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._claim = state.redis.register_script(claim_script())

    async def sweep_round(self) -> None:
        """The sweeper's hook (`AppState.sweep_hooks`)."""
        await self.sweep()

    async def sweep(self) -> int:
        """Take the due conversations no other replica holds; how many emails were queued."""
        state = self.state
        now = now_ms()
        taken = await self._claim(
            keys=[state.keys.mail_missed], args=[now, now + MAIL_LEASE * 1000, TAKEN_PER_ROUND]
        )
        sent = 0
        for cid in (str(c) for c in taken or []):
            sent += await self._send(cid)
        return sent

    async def _send(self, cid: str) -> int:
        state = self.state
        away = await away_seconds(state, cid)
        threshold = state.settings.email_after_away
        if away is not None and away < threshold:
            # They came back and left again: their new absence is not long enough yet.
            due = now_ms() + int((threshold - away) * 1000)
            await state.redis.zadd(state.keys.mail_missed, {cid: due}, xx=True)
            return 0
        queued = 0
        email, through = await state.store.fields_of(cid, "customer_email", "missed_mailed_through")
        # Back (None), or no marks left to say since when they are gone (inf): nothing is
        # known to be missed, and an email must not repeat what they read in the chat.
        known = away is not None and away != float("inf")
        if known and email_on(state) and "@" in (email or ""):
            queued = await self._email_missed(cid, away or 0.0, through or "")
        await state.redis.zrem(state.keys.mail_missed, cid)
        if email_on(state) and "@" in (email or ""):
            await self._again_if_missed(cid)
        return queued

    async def _again_if_missed(self, cid: str) -> None:
        """An agent message written while this conversation was taken (the customer back at
        the first look, gone again since; or a message after the transcript was read) found it
        listed and left it (outbox: ZADD NX), and the removal above took it away: listed again
        when the customer is away and the transcript holds a message no email carried, so it
        goes in the next email. The message is stored before it is listed, so either its
        listing comes after the removal or this reading sees it."""
        state = self.state
        away = await away_seconds(state, cid)
        if away is None or away == float("inf"):
            return  # back: the widget shows it
        (through,) = await state.store.fields_of(cid, "missed_mailed_through")
        left_at = now_ms() - int(away * 1000)
        if missed_messages(await state.store.read_all(cid), left_at, through or ""):
            due = max(now_ms(), left_at + int(state.settings.email_after_away * 1000))
            await state.redis.zadd(state.keys.mail_missed, {cid: due}, nx=True)

    async def _email_missed(self, cid: str, away: float, through: str) -> int:
        state = self.state
        left_at = now_ms() - int(away * 1000)
        missed = missed_messages(await state.store.read_all(cid), left_at, through)
        if not missed:
            return 0
        mail_id = new_mail_id()
        event, _ = await state.store.append(
            cid,
            "system",
            "We emailed you the messages you missed.",
            kind="event",
            event=MISSED_EVENT,
            mail=mail_id,
        )
        last = missed[-1]
        await queue_agent_message(
            state,
            cid,
            mail_id,
            event,
            "\n\n".join(e.text.strip() for e in missed),
            last.fields.get("agent_name", ""),
            carried=[e.id for e in missed],
        )
        await state.store.set_fields(cid, {"missed_mailed_through": last.id})
        log.info("emailed %d missed message(s) of a conversation", len(missed))
        return 1
