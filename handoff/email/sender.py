"""The background sender: due emails from the Redis outbox to the SMTP server (aiosmtplib).

Each round takes the due mails (lua/claim_mail.lua holds each for MAIL_LEASE, so two replicas
never send one at once) and tries each:

    the server takes it              -> sent
    refused with a 5xx reply         -> failed at once (SMTP says the same would fail again)
    down, timed out, 4xx, bad login  -> tried again after RETRY_FIRST_SECONDS, doubling up to
                                        RETRY_MAX_SECONDS, until GIVE_UP_SECONDS after it was
                                        queued -> failed ("not delivered after …")

The envelope sender is the mail's signed bounce address, so a bounce that comes later reaches
the inbound server and marks the mail failed (email/inbound.py). A round runs when this replica
queued a mail (`AppState.mail_wake`) or every POLL_SECONDS (mail queued on other replicas,
retries coming due). The loop ends on its stop event: a cancellation inside a Redis call can
come back as a connection error, which a round logs and survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from importlib import resources
from typing import cast

import aiosmtplib

from handoff.conversations.keys import MAIL_LEASE
from handoff.conversations.store import now_ms
from handoff.email.addresses import bounce_address, reply_address
from handoff.email.compose import build_message
from handoff.email.outbox import FAILED, QUEUED, SENT, publish_status, set_status
from handoff.email.smtp_url import SmtpServer
from handoff.state import AppState

log = logging.getLogger("handoff.email")

POLL_SECONDS = 1.0
BATCH = 20
SMTP_TIMEOUT_SECONDS = 30.0
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 1800.0
# Past this, a mail still not taken is given up (an MTA's queue lifetime is days, too).
GIVE_UP_SECONDS = 2 * 86_400.0


class Refused(Exception):
    """The SMTP server refused the mail for good (a 5xx reply)."""


@functools.cache
def claim_script() -> str:
    return resources.files("handoff.email").joinpath("lua", "claim_mail.lua").read_text()


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: doubling, capped, with a little jitter so that
    many mails queued while the server was down do not all come back at the same instant."""
    delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.9, 1.1)


async def deliver(server: SmtpServer, message: object, sender: str, to: str) -> None:
    """One SMTP transaction; Refused for a permanent refusal, other errors are transient."""
    try:
        await aiosmtplib.send(
            message,  # type: ignore[arg-type]
            sender=sender,
            recipients=[to],
            hostname=server.host,
            port=server.port,
            username=server.username or None,
            password=server.password or None,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as refused:
        codes = [r.code for r in refused.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
        if codes and all(500 <= code < 600 for code in codes):
            raise Refused(text) from None
        raise ConnectionError(text) from None
    except aiosmtplib.SMTPAuthenticationError:
        raise  # a configuration problem: retried, so fixing the password delivers the mail
    except aiosmtplib.SMTPResponseException as error:
        if 500 <= error.code < 600:
            raise Refused(f"{error.code} {error.message}") from None
        raise


class MailSender:
    """Sends the due mails of the outbox; one per replica, started by email/service.py."""

    def __init__(self, state: AppState, server: SmtpServer) -> None:
        self.state = state
        self.server = server
        self._claim = state.redis.register_script(claim_script())

    async def run(self, stopping: asyncio.Event) -> None:
        wake = self.state.mail_wake
        while not stopping.is_set():
            wake.clear()
            try:
                await self.run_once()
            except Exception as error:  # Redis failing: the next round retries
                log.warning("email round failed: %s", error)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=POLL_SECONDS)

    async def run_once(self) -> int:
        """Try every due mail once; how many were taken."""
        now = now_ms()
        taken = await self._claim(
            keys=[self.state.keys.mail_due], args=[now, now + MAIL_LEASE * 1000, BATCH]
        )
        ids = [str(mail_id) for mail_id in taken or []]
        await asyncio.gather(*(self.attempt(mail_id) for mail_id in ids))
        return len(ids)

    async def attempt(self, mail_id: str) -> None:
        state = self.state
        mail = cast(dict[str, str], await state.redis.hgetall(state.keys.mail(mail_id)))
        if not mail or mail.get("status") != QUEUED:
            await state.redis.zrem(state.keys.mail_due, mail_id)
            return
        settings = state.settings
        secret = settings.secret.reveal()
        domain = settings.reply_domain
        reply_to = reply_address(secret, domain, mail["conversation"], mail["to"])
        message = build_message(mail, settings.mail_from, reply_to)
        attempts = int(mail.get("attempts") or 0) + 1
        try:
            await deliver(self.server, message, bounce_address(secret, domain, mail_id), mail["to"])
        except Refused as refused:
            log.warning("email %s refused: %s", mail_id, refused)
            await set_status(state, mail_id, FAILED, error=f"Refused: {refused}", attempts=attempts)
            return
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            await self._later(mail_id, mail, attempts, str(error) or type(error).__name__)
            return
        await set_status(state, mail_id, SENT, attempts=attempts, sent_at=now_ms())

    async def _later(self, mail_id: str, mail: dict[str, str], attempts: int, error: str) -> None:
        state = self.state
        age = (now_ms() - int(mail.get("created_at") or 0)) / 1000
        if age >= GIVE_UP_SECONDS:
            log.warning("email %s given up after %d attempts: %s", mail_id, attempts, error)
            await set_status(
                state,
                mail_id,
                FAILED,
                error=f"Not delivered after {attempts} attempts: {error}",
                attempts=attempts,
            )
            return
        log.info("email %s not sent yet (attempt %d): %s", mail_id, attempts, error)
        next_at = now_ms() + int(retry_delay(attempts) * 1000)
        async with state.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                state.keys.mail(mail_id),
                mapping={"attempts": attempts, "error": error, "updated_at": now_ms()},
            )
            pipe.zadd(state.keys.mail_due, {mail_id: next_at}, xx=True)
            await pipe.execute()
        # Still queued, now with the reason it is not delivered yet.
        await publish_status(
            state, mail["conversation"], mail_id, mail.get("entry", ""), QUEUED, error
        )
