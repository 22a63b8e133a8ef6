"""The admins' Mail tab: what the local SMTP catcher caught, and replies as the customer.

    GET  /api/mail/caught?limit=                 {mails: [...]}, newest first
    POST /api/mail/caught/{id}/reply  {text}     {sent: true, message_id, to}

Both are for admins, and exist only with MAIL_CATCHER on (`make run` turns it on with its
catcher, handoff/email/catcher.py): otherwise 404, as for a route that is not there. The reply
closes the email loop on a laptop: it is written as the customer's mail client would write it,
From the address the caught mail was sent to, To its Reply-To (the conversation's signed reply
address), with In-Reply-To and References naming its Message-ID, and sent over real SMTP to the
service's own inbound server (INBOUND_SMTP_LISTEN), which threads it into the conversation.
"""

from __future__ import annotations

import json
import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, cast

import aiosmtplib
from aiohttp import web

from handoff.console.sessions import require_agent
from handoff.conversations.keys import CAUGHT_MAIL_KEPT
from handoff.email.addresses import first_address
from handoff.email.catcher import caught_mail
from handoff.email.service import INBOUND_ADDRESS, listen_address
from handoff.email.smtp_url import InboundListen
from handoff.state import AppState, app_state

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
# The longest reply an admin may write as the customer (a chat message's bound is 2000; a mail
# may be longer, but this is a test bench, not a mail client).
MAX_REPLY_CHARS = 10_000
# The inbound server answers within this, or the reply is reported as not delivered.
SEND_TIMEOUT_SECONDS = 10.0


def _refusal(cls: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    return cls(
        text=json.dumps({"error": code, "message": message}), content_type="application/json"
    )


async def _catcher_admin(request: web.Request) -> AppState:
    """Admins only (401/403 first, as on every route), then 404 when the catcher is off."""
    await require_agent(request, roles=("admin",))
    state = app_state(request.app)
    if not state.settings.mail_catcher:
        raise _refusal(
            web.HTTPNotFound,
            "mail_catcher_off",
            "No local mail catcher runs here (MAIL_CATCHER is off).",
        )
    return state


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= CAUGHT_MAIL_KEPT:
        raise _refusal(
            web.HTTPBadRequest,
            "bad_limit",
            f"limit must be a whole number from 1 to {CAUGHT_MAIL_KEPT}.",
        )
    return int(raw)


async def list_caught(request: web.Request) -> web.Response:
    """The caught mails, newest first."""
    state = await _catcher_admin(request)
    raw = cast(
        list[tuple[str, dict[str, str]]],
        await state.redis.xrevrange(state.keys.caught_mail, count=_limit(request)),
    )
    return web.json_response({"mails": [caught_mail(entry, fields) for entry, fields in raw]})


def _stream_id(request: web.Request) -> str:
    entry = request.match_info["id"]
    parts = entry.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 20 for p in parts):
        raise _refusal(web.HTTPNotFound, "not_found", "No such caught mail.")
    return entry


async def _reply_text(request: web.Request) -> str:
    body: Any = await request.json()
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise _refusal(web.HTTPBadRequest, "bad_request", "Write the reply's text.")
    if len(text) > MAX_REPLY_CHARS:
        raise _refusal(
            web.HTTPBadRequest,
            "too_long",
            f"The reply is longer than {MAX_REPLY_CHARS} characters.",
        )
    if "\x00" in text:
        raise _refusal(web.HTTPBadRequest, "bad_request", "The reply contains a NUL character.")
    return text


def customer_reply(mail: dict[str, str], text: str) -> EmailMessage:
    """The customer's answer to a caught mail, threaded as a mail client threads it.

    ValueError when the mail names nobody to reply to or no customer to reply as."""
    to = first_address(mail.get("reply_to")) or first_address(mail.get("from"))
    customer = first_address(mail.get("to")) or first_address(mail.get("envelope_to"))
    if not to or not customer:
        raise ValueError("The caught mail names no address to reply to or from.")
    message = EmailMessage()
    message["From"] = Address(addr_spec=customer)
    message["To"] = Address(addr_spec=to)
    subject = mail.get("subject", "")
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=customer.rpartition("@")[2] or None)
    original = mail.get("message_id", "")
    if original:
        message["In-Reply-To"] = original
        message["References"] = " ".join(filter(None, [mail.get("references", ""), original]))
    message.set_content(text)
    return message


class NotDelivered(Exception):
    """The inbound server refused the reply (`refused`, with its SMTP answer) or could not be
    reached (`unreachable`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def deliver(message: EmailMessage, host: str, port: int, starttls: bool = False) -> None:
    """Hand the reply to the SMTP server at host:port, as the customer's provider would (with
    STARTTLS when the server requires it); returns once it answered 250 to the data.
    NotDelivered otherwise."""
    # A wildcard bind is reached on loopback.
    host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    try:
        await aiosmtplib.send(
            message,
            hostname=host,
            port=port,
            timeout=SEND_TIMEOUT_SECONDS,
            start_tls=starttls,
            # The service's own inbound server, reached on this machine by the catcher: its
            # certificate names the reply domain, not the address dialled here.
            validate_certs=False,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        reasons = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        raise NotDelivered("refused", f"The inbound mail refused the reply: {reasons}") from None
    except aiosmtplib.SMTPResponseException as error:
        raise NotDelivered(
            "refused", f"The inbound mail refused the reply: {error.code} {error.message}"
        ) from None
    except (aiosmtplib.SMTPException, OSError) as error:
        raise NotDelivered(
            "unreachable", f"The inbound mail at {host}:{port} did not take the reply ({error})."
        ) from None


def _inbound(request: web.Request, state: AppState) -> InboundListen:
    """Where this service takes email: the address its inbound server got (INBOUND_SMTP_LISTEN
    may name port 0), else the setting; 409 when it takes none."""
    try:
        listen = listen_address(state.settings.inbound_smtp)
    except ValueError as error:
        raise _refusal(web.HTTPConflict, "inbound_off", str(error)) from None
    if listen is None:
        raise _refusal(
            web.HTTPConflict,
            "inbound_off",
            "This service takes no email (INBOUND_SMTP_LISTEN is off), so a reply cannot arrive.",
        )
    bound = request.app.get(INBOUND_ADDRESS)
    return listen if bound is None else InboundListen(*bound, starttls=listen.starttls)


async def reply_as_customer(request: web.Request) -> web.Response:
    """Send a reply to a caught mail, as its customer, to the service's inbound SMTP."""
    state = await _catcher_admin(request)
    entry = _stream_id(request)
    text = await _reply_text(request)
    found = cast(
        list[tuple[str, dict[str, str]]],
        await state.redis.xrange(state.keys.caught_mail, min=entry, max=entry),
    )
    if not found:
        raise _refusal(web.HTTPNotFound, "not_found", "No such caught mail (it may be too old).")
    inbound = _inbound(request, state)
    try:
        message = customer_reply(found[0][1], text)
    except ValueError as error:
        raise _refusal(web.HTTPConflict, "cannot_reply", str(error)) from None
    try:
        await deliver(message, inbound.host, inbound.port, inbound.starttls)
    except NotDelivered as error:
        raise _refusal(web.HTTPBadGateway, error.code, str(error)) from None
    log.info("replied as the customer to caught mail %s", entry)
    return web.json_response(
        {"sent": True, "message_id": str(message["Message-ID"]), "to": str(message["To"])}
    )
