"""Customers' emails into conversations: the inbound SMTP server's handler (aiosmtpd).

    RCPT  only addresses at REPLY_DOMAIN (550 otherwise); at most MAX_RECIPIENTS
    DATA  over MAX_INBOUND_MAIL_BYTES: 552 naming the limit (email/service.py), before the
          mail is kept; storage down, or the same mail being stored by another delivery:
          451, and the sending server tries again later (nothing lost)

What a mail becomes (docs/email.md):

    to bounce+<mail>.<sig>, signed     the mail it names is marked failed with the reason
    automatic (Auto-Submitted, Precedence bulk/list/auto_reply, X-Autoreply, List-Id, a bounce
    otherwise)                          ignored: never attached, never answered
    to reply+<cid>.<sig>, signed for this sender, conversation still kept
                                        a customer message of that conversation (`channel`
                                        email); the agent sees it live. A conversation with
                                        nobody on it (with the assistant, or closed) also gets
                                        a ticket, so a person picks it up
    anything else (a forged, altered or replayed address, another sender, a conversation
    no longer kept, a new mail to the shop)
                                        a new conversation with a ticket, and a receipt that
                                        says nothing of any other conversation
    with files                          the text is attached, the files are not; the sender is
                                        told files are not accepted

Automatic answers go out at most once per MAIL_ANSWER_GAP per sender and are marked
Auto-Submitted, so two auto-responders never answer each other for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from handoff.conversations.keys import MAIL_ANSWER_GAP, MAIL_LEASE
from handoff.conversations.store import load_script
from handoff.email.addresses import (
    SignedRecipient,
    bounce_signed,
    read_recipient,
    reply_signed_for,
    sender_key,
)
from handoff.email.outbox import FAILED, queue_answer, set_status
from handoff.email.reading import InboundMail, bounce_reason, read_mail
from handoff.state import AppState
from vocabulary.pii import mask

log = logging.getLogger("handoff.email")

MAX_RECIPIENTS = 5
NO_FILES = (
    "We can't accept attachments by email, so the files you sent were not passed on (your "
    "message was). Please describe what they show in a reply, or paste the text."
)
RECEIPT = (
    "Thanks for your message. It is with our team now, and we'll reply by email within one "
    "business day. To add anything, reply to this email."
)


def refused_files_note(count: int) -> str:
    return f"[{count} attachment{'s' if count != 1 else ''} not accepted]"


class StillReceiving(Exception):
    """The same mail is being stored by another delivery right now: answered 451, so the
    sending server delivers it again later and finds it stored."""


class InboundMailHandler:
    """aiosmtpd's handler: what the server does at RCPT and DATA."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        domain = self.state.settings.reply_domain.lower()
        if address.rpartition("@")[2].lower() != domain:
            return "550 5.7.1 Not a mailbox of this service"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        try:
            await asyncio.wait_for(
                receive(self.state, envelope.mail_from or "", list(envelope.rcpt_tos), raw),
                timeout=self.state.settings.storage_deadline * 3,
            )
        except (RedisError, asyncio.TimeoutError, StillReceiving) as error:
            log.warning("inbound mail deferred: %r", error)
            return "451 4.3.0 Temporarily unable to take this message; try again later"
        return "250 OK: received"


async def receive(state: AppState, envelope_sender: str, recipients: list[str], raw: bytes) -> str:
    """Act on one inbound mail; what it became (for logs and tests): `bounce`, `ignored`,
    `attached`, `ticket`."""
    settings = state.settings
    secret = settings.secret.reveal()
    ours = [r for r in map(lambda a: read_recipient(a, settings.reply_domain), recipients) if r]
    for recipient in ours:
        if recipient.purpose == "bounce" and bounce_signed(secret, recipient):
            reason = bounce_reason(raw)
            log.info("email %s bounced: %s", recipient.subject, reason)
            await set_status(state, recipient.subject, FAILED, error=f"Bounced: {reason}")
            return "bounce"
    mail = read_mail(raw, envelope_sender)
    if mail.automatic or not mail.sender:
        log.info("inbound mail ignored: %s", mail.automatic or "no sender")
        return "ignored"
    async with _receiving(state, mail):
        return await _take(state, ours, mail)


async def _take(state: AppState, ours: list[SignedRecipient], mail: InboundMail) -> str:
    """A customer's mail into their conversation, or a new one with a ticket."""
    secret = state.settings.secret.reveal()
    for recipient in ours:
        if reply_signed_for(secret, recipient, mail.sender):
            cid = recipient.subject
            conv_state = await state.store.state_of(cid)
            if conv_state is not None:
                await attach(state, cid, conv_state, mail)
                return "attached"
    # Nothing here says whether the address was close to a real one: the sender learns only
    # that their message reached the team.
    log.info("inbound mail from %s becomes a new ticket", mask(mail.sender))
    await new_ticket(state, mail)
    return "ticket"


@contextlib.asynccontextmanager
async def _receiving(state: AppState, mail: InboundMail) -> AsyncIterator[None]:
    """One delivery at a time acts on a mail (same sender and Message-ID), from storing its
    text to opening its ticket; another delivery meanwhile is StillReceiving (451), and
    delivered again later it finds the mail stored and its ticket open. Without this, two
    deliveries at the same moment could each find the text stored and no ticket yet, and open
    two. A delivery that dies holding it frees it within MAIL_LEASE."""
    if not mail.message_id:
        yield
        return
    taking = state.keys.mail_taking(_received_key(mail))
    token = secrets.token_hex(8)
    if not await state.redis.set(taking, token, nx=True, ex=MAIL_LEASE):
        raise StillReceiving
    try:
        yield
    finally:
        release = state.redis.register_script(load_script("release_lock.lua"))
        # Not freed (Redis failing): the lease runs out and the retry acts on the mail then.
        with contextlib.suppress(RedisError):
            await release(keys=[taking], args=[token])


def _received_key(mail: InboundMail) -> str:
    """The mail's key among those received: its sender's with its Message-ID, so another
    sender cannot reuse a Message-ID to have a customer's mail taken for a repeat."""
    return sender_key(mail.sender) + hashlib.sha256(mail.message_id.encode()).hexdigest()[:32]


def _mail_client_id(mail: InboundMail) -> str:
    """A client message id from the Message-ID: a mail delivered twice is stored once."""
    if not mail.message_id:
        return ""
    return "mail-" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:40]


def _text_of(mail: InboundMail) -> str:
    text = mail.text or "(an email without text)"
    if mail.attachments:
        text = f"{text}\n\n{refused_files_note(mail.attachments)}"
    return text


async def attach(state: AppState, cid: str, conv_state: str, mail: InboundMail) -> None:
    """The customer's reply as a message of their conversation (stored once per Message-ID)."""
    text = _text_of(mail)
    _, new = await state.store.append(
        cid, "customer", text, client_id=_mail_client_id(mail), channel="email"
    )
    unattended = conv_state in {"bot", "closed"}
    if new:
        state.metrics.customer_messages.inc()
    elif not unattended or await _ticket_opened(state, cid, mail):
        return
    # A delivery again, whose first one stopped after storing the text (Redis failing over,
    # the storage deadline): the rest is done now, so the mail is never left without a ticket.
    await _thread(state, cid, mail)
    if unattended:
        # Nobody is on this conversation: it becomes a ticket, as a message left in the widget.
        await _open_ticket(state, cid, mail, text)
    if mail.attachments:
        await answer(state, cid, mail, NO_FILES, "files")


async def new_ticket(state: AppState, mail: InboundMail) -> str:
    """A new conversation for a mail that belongs to none, with a ticket and a receipt. The
    same mail delivered again is stored once: nothing more happens, unless its first delivery
    stopped before its ticket was opened (then this one opens it)."""
    cid = await _conversation_for(state, mail)
    text = _text_of(mail)
    _, new = await state.store.append(
        cid, "customer", text, client_id=_mail_client_id(mail), channel="email"
    )
    if not new and await _ticket_opened(state, cid, mail):
        log.info("inbound mail delivered again: already in conversation %s", cid)
        return cid
    subject = mail.subject if mail.subject.lower().startswith("re:") else f"Re: {mail.subject}"
    await state.store.set_fields(cid, {"mail_subject": subject if mail.subject else ""})
    await _thread(state, cid, mail)
    await _open_ticket(state, cid, mail, text)
    receipt = RECEIPT if not mail.attachments else f"{RECEIPT}\n\n{NO_FILES}"
    await answer(state, cid, mail, receipt, "receipt")
    return cid


async def _ticket_opened(state: AppState, cid: str, mail: InboundMail) -> bool:
    """Whether this mail's ticket was opened already (by an earlier delivery of it)."""
    (opened,) = await state.store.fields_of(cid, "mail_ticket_for")
    return bool(opened) and opened == _mail_client_id(mail)


async def _open_ticket(state: AppState, cid: str, mail: InboundMail, text: str) -> None:
    await state.queue.open_ticket(cid, mail.sender, text)
    # Marked after the ticket: a delivery that dies in between opens a second ticket on the
    # retry, which an agent closes; marked before, it could leave the mail with none.
    await state.store.set_fields(cid, {"mail_ticket_for": _mail_client_id(mail)})


async def _conversation_for(state: AppState, mail: InboundMail) -> str:
    """The conversation a mail for no conversation goes to: the one an earlier delivery of the
    same mail (same sender and Message-ID) started, else a new one (the caller holds the
    mail's lease, `_receiving`, so no other delivery starts one meanwhile)."""
    received = state.keys.mail_received(_received_key(mail)) if mail.message_id else ""
    if received:
        earlier = await state.redis.get(received)
        if earlier and await state.store.state_of(str(earlier)) is not None:
            return str(earlier)
        # None yet, or that conversation is gone meanwhile: the mail starts a new one.
    settings = state.settings
    cid = await state.store.create(
        settings.default_team,
        lifetime=settings.resume_token_ttl,
        max_entries=settings.max_transcript_entries,
        channel="email",
    )
    if received:
        # As long as the ticket's conversation is kept (opening a ticket keeps it at least the
        # closed lifetime, queue/tickets.py): a delivery again within it is one ticket.
        await state.redis.set(received, cid, ex=settings.closed_conversation_ttl)
    state.metrics.conversations.inc()
    await state.queue.count("conversations")
    return cid


async def _thread(state: AppState, cid: str, mail: InboundMail) -> None:
    """The customer's mail joins the conversation's thread: our next email answers it."""
    if not mail.message_id:
        return
    (refs,) = await state.store.fields_of(cid, "mail_refs")
    if mail.message_id in (refs or "").split():
        return  # a delivery again
    thread = [*(refs or "").split(), mail.message_id][-10:]
    await state.store.set_fields(cid, {"mail_refs": " ".join(thread)})


async def answer(state: AppState, cid: str, mail: InboundMail, text: str, purpose: str) -> str:
    """An automatic answer to the sender, at most one per MAIL_ANSWER_GAP ("" if held back)."""
    key = state.keys.mail_answered(sender_key(f"{mail.sender} {purpose}"))
    if not await state.redis.set(key, "1", nx=True, ex=MAIL_ANSWER_GAP):
        log.info("automatic answer to %s held back (one per hour)", mask(mail.sender))
        return ""
    subject = mail.subject if mail.subject.lower().startswith("re:") else f"Re: {mail.subject}"
    return await queue_answer(
        state,
        cid,
        to=mail.sender,
        subject=subject if mail.subject else "",
        body=text + "\n",
        in_reply_to=mail.message_id,
    )
