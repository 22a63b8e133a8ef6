"""Email inside the service: one cleanup context that starts, and stops together,

    the sender          due mails of the Redis outbox to SMTP_URL (email/sender.py), unless off
    the inbound server  aiosmtpd on INBOUND_SMTP_LISTEN (email/inbound.py), unless off; with
                        smtp+starttls:// it requires TLS before any mail
    the socket marks    where this replica's customer sockets are (email/away.py), refreshed
    the missed messages a sweeper hook that emails what away customers missed (email/missed.py)

Why an SMTP server rather than IMAP polling: docs/email.md ("Inbound").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from typing import AnyStr

from aiohttp import web
from aiosmtpd.smtp import SMTP

from handoff.background import stop_tasks
from handoff.email import away
from handoff.email.inbound import InboundMailHandler
from handoff.email.missed import MissedMail
from handoff.email.sender import MailSender
from handoff.email.smtp_url import InboundListen, parse_inbound_listen, parse_smtp_url
from handoff.settings import Settings
from handoff.state import AppState, app_state

log = logging.getLogger("handoff.email")

# The inbound server's address once it listens (port 0 in tests: the one it got).
INBOUND_ADDRESS: web.AppKey[tuple[str, int]] = web.AppKey("harbor_inbound_smtp", tuple)


def listen_address(value: str) -> InboundListen | None:
    """INBOUND_SMTP_LISTEN as an address, None for off; ValueError naming the variable."""
    return parse_inbound_listen(value)


def inbound_tls(settings: Settings) -> ssl.SSLContext:
    """The certificate the inbound server offers with STARTTLS; ValueError naming the settings
    when they are missing or unreadable (start-up fails rather than take mail in clear text)."""
    cert, key = settings.inbound_tls_cert, settings.inbound_tls_key
    if not cert or not key:
        raise ValueError(
            "INBOUND_SMTP_LISTEN=smtp+starttls://... needs INBOUND_TLS_CERT_FILE and"
            " INBOUND_TLS_KEY_FILE (PEM files of the reply domain's certificate and key)"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(
            f"INBOUND_TLS_CERT_FILE / INBOUND_TLS_KEY_FILE could not be loaded ({error})"
        ) from None
    return context


def size_text(size: int) -> str:
    """A mail size as a mail provider states its limits: "25 MB", "20 kB"."""
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size / 1000:g} kB"


def too_big_reply(limit: int) -> str:
    """The 552 a mail over the limit gets: the sending server quotes it in the bounce the
    customer reads, so it says what the limit is and what to do."""
    return (
        f"552 5.3.4 Message too big: this service takes mail up to {size_text(limit)}. "
        "Please send your text again without the attachments."
    )


class InboundSMTP(SMTP):
    """aiosmtpd's server, with a 552 that names the size limit (its own says only "Too much
    mail data", at SIZE in MAIL FROM and after DATA alike)."""

    async def push(self, status: AnyStr) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if text.startswith("552 ") and self.data_size_limit:
            text = too_big_reply(self.data_size_limit)
        await super().push(text)


async def start_inbound(state: AppState, listen: InboundListen) -> asyncio.Server:
    settings = state.settings
    handler = InboundMailHandler(state)
    # With STARTTLS the customers' replies (their words, their address) never cross the network
    # in clear text: a sender that does not upgrade is told 530 before MAIL.
    tls = inbound_tls(settings) if listen.starttls else None
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: InboundSMTP(
            handler,
            # A mail over the bound is refused with 552 (at MAIL FROM when it states its SIZE);
            # its bytes past the bound are read and dropped, never kept.
            data_size_limit=settings.max_inbound_mail_bytes,
            enable_SMTPUTF8=True,
            hostname=settings.reply_domain,
            ident="Harbor Assist",
            timeout=60,
            tls_context=tls,
            require_starttls=tls is not None,
        ),
        listen.host,
        listen.port,
    )


async def _keep_marks(state: AppState, stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    renewed_at: float | None = None
    while not stopping.is_set():
        renew = renewed_at is None or loop.time() - renewed_at >= away.renewal_gap(state)
        try:
            await away.beat(state, renew_chats=renew)
            if renew:
                renewed_at = loop.time()
        except Exception as error:  # Redis failing: marks age out, the next beat renews them
            log.warning("customer socket marks not refreshed: %s", error)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=away.BEAT_SECONDS)


async def email_context(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    settings = state.settings
    # Both checked here too: settings made in code skip the environment's validation.
    server = parse_smtp_url(settings.smtp_url)
    inbound = listen_address(settings.inbound_smtp)
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(_keep_marks(state, stopping), name="customer-marks")]
    missed: MissedMail | None = None
    if server is not None:
        sender = MailSender(state, server)
        tasks.append(asyncio.create_task(sender.run(stopping), name="email-sender"))
        # The sweeper (every 2 s, every replica) emails what away customers missed, when due.
        missed = MissedMail(state)
        state.sweep_hooks.append(missed.sweep_round)
    listening: asyncio.Server | None = None
    if inbound is not None:
        listening = await start_inbound(state, inbound)
        bound = listening.sockets[0].getsockname()
        app[INBOUND_ADDRESS] = (str(bound[0]), int(bound[1]))
        log.info("receiving email on %s:%d", *app[INBOUND_ADDRESS])
    try:
        yield
    finally:
        stopping.set()
        state.mail_wake.set()
        if missed is not None:
            state.sweep_hooks.remove(missed.sweep_round)
        if listening is not None:
            listening.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(listening.wait_closed(), timeout=2.0)
        await stop_tasks(tasks)
