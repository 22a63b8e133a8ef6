"""Emails to customers, queued in Redis before anything is sent, so none is lost.

    queue_email(state, cid, kind=…, subject=…, body=…)  ─► {p}:mail:out:<id>  (status queued)
                                                           {p}:mail:due  <id> → now
    handoff/email/sender.py takes due mails, sends them (aiosmtplib), retries with backoff:
        sent    the SMTP server took it ("emailed")
        failed  refused for good (5xx), out of attempts, or bounced later (the agent sees why)

An agent's message to a customer who is away (no socket for EMAIL_AFTER_AWAY_SECONDS, see
email/away.py) and gave an address is such a mail too (`away_mail_id` decides before the
message is stored, so its transcript entry names the mail; `queue_agent_message` queues it).
Every status change is published as a hint, `{"c": cid, "mail": id, "entry": …, "status": …}`;
an agent console reading the entry later reads the status with it (`mail_status`).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from typing import Any, cast

from handoff.conversations.keys import MAIL_KEPT
from handoff.conversations.store import now_ms
from handoff.email.addresses import message_id, normalized
from handoff.email.away import away_seconds
from handoff.email.compose import agent_message_body, default_subject, history
from handoff.email.smtp_url import OFF
from handoff.state import AppState

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)
# References keeps the thread's newest message ids, as mail clients do (enough to thread).
THREAD_REFERENCES = 10
EMAIL_OFF = "Email is off on this service (SMTP_URL=off)."


class NoAddress(ValueError):
    """The conversation has no customer address to send to, and none was given."""


def new_mail_id() -> str:
    return secrets.token_hex(16)


def email_on(state: AppState) -> bool:
    return state.settings.smtp_url.strip().lower() != OFF


async def queue_email(
    state: AppState,
    cid: str,
    *,
    kind: str,
    subject: str,
    body: str,
    to: str | None = None,
) -> str:
    """Queue an email to the conversation's customer (or `to`), threaded into the
    conversation's mail; returns its id. It is sent in the background, retried until the SMTP
    server takes it or refuses it for good; `mail_status(state, id)` tells how it went.
    Raises NoAddress when there is nobody to send to, KeyError for no such conversation."""
    return await _queue(state, cid, new_mail_id(), kind=kind, subject=subject, body=body, to=to)


async def _queue(
    state: AppState,
    cid: str,
    mail_id: str,
    *,
    kind: str,
    subject: str,
    body: str,
    to: str | None = None,
    entry: str = "",
    auto: bool = False,
    in_reply_to: str = "",
) -> str:
    found = await state.store.fields_of(cid, "state", "customer_email", "mail_refs", "mail_subject")
    conv_state, customer, refs, thread_subject = found
    if conv_state is None:
        raise KeyError(cid)
    address = normalized(to or customer or "")
    if "@" not in address:
        raise NoAddress(cid)
    thread = (refs or "").split()
    if in_reply_to and in_reply_to not in thread:
        thread.append(in_reply_to)
    own_id = message_id(mail_id, state.settings.reply_domain)
    now = now_ms()
    on = email_on(state)
    mail: dict[str, str] = {
        "conversation": cid,
        "entry": entry,
        "kind": kind,
        "to": address,
        "subject": subject or thread_subject or default_subject(state.settings.mail_from),
        "body": body,
        "message_id": own_id,
        "in_reply_to": in_reply_to or (thread[-1] if thread else ""),
        "references": " ".join(thread[-THREAD_REFERENCES:]),
        "auto": "1" if auto else "",
        "status": QUEUED if on else FAILED,
        "error": "" if on else EMAIL_OFF,
        "attempts": "0",
        "created_at": str(now),
        "updated_at": str(now),
    }
    key = state.keys.mail(mail_id)
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=cast(Any, mail))
        pipe.expire(key, MAIL_KEPT)
        if on:
            pipe.zadd(state.keys.mail_due, {mail_id: now})
        await pipe.execute()
    thread_fields = {"mail_refs": " ".join([*thread, own_id][-THREAD_REFERENCES:])}
    if not thread_subject:
        thread_fields["mail_subject"] = str(mail["subject"])
    await state.store.set_fields(cid, thread_fields)
    state.mail_wake.set()
    return mail_id


async def away_mail_id(state: AppState, cid: str, conversation: Mapping[str, str]) -> str:
    """A new mail id when an agent's message now should also go out by email (the customer
    gave an address and has been away long enough), else "". Called before the message is
    stored, so the transcript entry can name its mail. A customer who left only just (gone
    less than EMAIL_AFTER_AWAY_SECONDS) may come back and read it in the chat; if they do not,
    the messages they missed go by email once that time has passed (email/missed.py)."""
    if not email_on(state) or "@" not in (conversation.get("customer_email") or ""):
        return ""
    away = await away_seconds(state, cid)
    if away is None:
        return ""
    threshold = state.settings.email_after_away
    if away < threshold:
        # NX: the first message of this absence sets when; the sweep checks it again then.
        due = now_ms() + int((threshold - away) * 1000)
        await state.redis.zadd(state.keys.mail_missed, {cid: due}, nx=True)
        return ""
    return new_mail_id()


async def queue_agent_message(
    state: AppState,
    cid: str,
    mail_id: str,
    entry: str,
    text: str,
    agent_name: str,
    *,
    carried: Collection[str] = (),
) -> str:
    """Email an agent's stored message (entry `entry`), or several joined in `text` (their
    entries `carried`), with the conversation so far."""
    entries = await state.store.read_all(cid)
    body = agent_message_body(
        text, agent_name, state.settings.mail_from, history(entries, leave_out={entry, *carried})
    )
    return await _queue(state, cid, mail_id, kind="message", subject="", body=body, entry=entry)


async def queue_answer(
    state: AppState, cid: str, *, to: str, subject: str, body: str, in_reply_to: str
) -> str:
    """An automatic answer to a customer's email (a receipt, "attachments are not accepted"),
    marked Auto-Submitted so well-behaved responders do not answer it again."""
    return await _queue(
        state,
        cid,
        new_mail_id(),
        kind="answer",
        subject=subject,
        body=body,
        to=to,
        auto=True,
        in_reply_to=in_reply_to,
    )


async def mail_status(state: AppState, mail_id: str) -> tuple[str, str]:
    """(status, error) of a queued mail; ("", "") when it is unknown (expired, never stored)."""
    status, error = await state.redis.hmget(state.keys.mail(mail_id), ["status", "error"])
    return str(status or ""), str(error or "")


async def set_status(
    state: AppState, mail_id: str, status: str, *, error: str = "", **more: str | int
) -> None:
    """Record a mail's new status and tell the consoles (a hint; the status is in the hash)."""
    key = state.keys.mail(mail_id)
    cid, entry = await state.redis.hmget(key, ["conversation", "entry"])
    if cid is None:
        return
    async with state.redis.pipeline(transaction=True) as pipe:
        changed: dict[str, str | int] = {"status": status, "error": error, "updated_at": now_ms()}
        pipe.hset(key, mapping=cast(Any, {**changed, **more}))
        pipe.expire(key, MAIL_KEPT)
        if status != QUEUED:
            pipe.zrem(state.keys.mail_due, mail_id)
        await pipe.execute()
    await publish_status(state, str(cid), mail_id, str(entry or ""), status, error)


async def publish_status(
    state: AppState, cid: str, mail_id: str, entry: str, status: str, error: str
) -> None:
    """The hint the agents' consoles turn into an `email_status` frame (console/outbox.py)."""
    await state.store.publish(
        {"c": cid, "mail": mail_id, "entry": entry, "status": status, "error": error[:300]}
    )


async def email_fields(state: AppState, fields: Mapping[str, str]) -> dict[str, str]:
    """What an agent's console shows of an entry's email (docs/protocol.md, agent `event`):
    `channel` "email" for a customer's emailed message; `email_status` (and `email_error`) for
    an agent's message that also went out by email, as it stands now."""
    shown: dict[str, str] = {}
    if fields.get("channel") == "email":
        shown["channel"] = "email"
    mail_id = fields.get("mail")
    if mail_id:
        status, error = await mail_status(state, mail_id)
        if status in STATUSES:
            shown["email_status"] = status
            if error:
                shown["email_error"] = error
    return shown
