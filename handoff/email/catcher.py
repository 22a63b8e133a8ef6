"""The local SMTP catcher: the customers' mail provider on a laptop.

    .venv-app/bin/python -m handoff.email.catcher --listen 127.0.0.1:2525 \\
        [--redis-url redis://127.0.0.1:6390/0] [--prefix ha]

`make run` starts it (bot/launcher/services.py) unless the operator set SMTP_URL, and points the
service's SMTP_URL at it. It takes every mail over SMTP, as any mail server would, and keeps
the newest CAUGHT_MAIL_KEPT in a capped Redis stream (`Keys.caught_mail`): the envelope, the
headers a reply threads on (Message-ID, Reply-To, In-Reply-To, References), the date and the
plain text, at most MAX_CAUGHT_TEXT_CHARS of it. Admins read them in the console's Mail tab
(handoff/email/catcher_api.py, with MAIL_CATCHER on) and reply as the customer would.

Why a process of its own, not a part of the service: it stands for the outside world. The
service must reach it the way it reaches a real provider, over SMTP at SMTP_URL, so the loop a
laptop runs is the loop production runs; inside the service it would be a shortcut the tests
could not tell from the real path, it would be started once per replica, and a production
deployment would carry a mail sink that anyone reaching its port could fill. Started apart,
it is one more child of the launcher: stopped with the rest on Ctrl-C, absent in production.

Its Redis address and key prefix come from REDIS_URL and REDIS_PREFIX (the launcher gives it
the service's environment), so a Redis password never shows in `ps`; the flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import logging
import os
import signal
import sys
from email.message import EmailMessage, Message
from typing import cast

from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from handoff.conversations.keys import CAUGHT_MAIL_KEPT, Keys
from handoff.conversations.store import now_ms
from handoff.email.smtp_url import host_port

log = logging.getLogger("handoff.email.catcher")

# The largest mail it takes (larger is refused at the SMTP level, 552): a laptop's catcher
# needs no attachments, and a stream of 500 mails stays small.
MAX_CAUGHT_MAIL_BYTES = 1_000_000
# The plain text kept of a mail; what is cut is said (`truncated`).
MAX_CAUGHT_TEXT_CHARS = 32_000
# A header value kept (a subject, an address list, a References chain).
MAX_HEADER_CHARS = 2_000
# The headers kept, as the stream's field names.
HEADERS = {
    "from": "From",
    "to": "To",
    "subject": "Subject",
    "date": "Date",
    "message_id": "Message-ID",
    "reply_to": "Reply-To",
    "in_reply_to": "In-Reply-To",
    "references": "References",
}
# What a caught mail is, as stored and as the API lists it (every value a string).
FIELDS = ("at", "envelope_from", "envelope_to", *HEADERS, "text", "truncated", "size")


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):  # a header the parser cannot read
        return ""
    return " ".join(str(value or "").split())[:MAX_HEADER_CHARS]


def _plain_text(message: Message) -> str:
    """The mail's plain text: its text/plain body, never HTML (which is not read at all)."""
    try:
        body = cast(EmailMessage, message).get_body(preferencelist=("plain",))
        if body is None:
            return ""
        return str(cast(EmailMessage, body).get_content())
    except (LookupError, ValueError, TypeError, AttributeError):
        payload = message.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def caught_fields(raw: bytes, envelope_from: str, envelope_to: list[str]) -> dict[str, str]:
    """What the catcher keeps of a mail (FIELDS, `at` aside)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    # On the wire lines end in CRLF; the text is kept as text, with plain newlines.
    text = _plain_text(message).replace("\r\n", "\n")
    fields = {
        "envelope_from": envelope_from[:MAX_HEADER_CHARS],
        "envelope_to": ", ".join(envelope_to)[:MAX_HEADER_CHARS],
        **{field: _header(message, header) for field, header in HEADERS.items()},
        "text": text[:MAX_CAUGHT_TEXT_CHARS],
        "truncated": "true" if len(text) > MAX_CAUGHT_TEXT_CHARS else "false",
        "size": str(len(raw)),
    }
    return fields


def caught_mail(entry_id: str, fields: dict[str, str]) -> dict[str, object]:
    """A stored mail as the API lists it: its stream id, when it was caught, the rest."""
    mail: dict[str, object] = {"id": entry_id}
    for name in FIELDS:
        mail[name] = fields.get(name, "")
    mail["at"] = int(fields.get("at", "0") or 0)
    mail["size"] = int(fields.get("size", "0") or 0)
    mail["truncated"] = fields.get("truncated") == "true"
    return mail


class Catcher:
    """aiosmtpd's handler: each mail accepted is one entry of the capped stream."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        fields = caught_fields(raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        stored: dict[FieldT, EncodableT] = {"at": str(now_ms())}
        stored.update(fields.items())
        try:
            entry = await self.redis.xadd(
                self.keys.caught_mail,
                stored,
                maxlen=CAUGHT_MAIL_KEPT,
                approximate=False,
            )
        except RedisError as error:
            # A transient failure: the sender keeps the mail and tries again later.
            log.warning("could not keep a mail (%s); the sender was told to retry", error)
            return "451 Requested action aborted: local error in processing"
        # Who wrote to whom stays out of the log (personal data); the Mail tab shows it.
        log.info(
            "caught mail %s: %d bytes for %d recipients", entry, len(raw), len(envelope.rcpt_tos)
        )
        return "250 Message accepted for delivery"


async def serve(listen: str, redis: Redis, keys: Keys, stop: asyncio.Event) -> None:
    """Take mail on `listen` until `stop` is set."""
    host, port = host_port(listen, "--listen")
    handler = Catcher(redis, keys)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=MAX_CAUGHT_MAIL_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname="harbor-mail-catcher",
        ),
        host=host,
        port=port,
    )
    log.info("catching mail on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


async def _main(listen: str, redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(listen, redis, Keys(prefix), stop)
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handoff.email.catcher",
        description="A local SMTP server that keeps the mail it takes for the console's Mail tab.",
    )
    parser.add_argument("--listen", default="127.0.0.1:2525", help="host:port to take mail on")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--prefix", default=os.environ.get("REDIS_PREFIX", "").strip() or "ha")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd logs every command at INFO, addresses included: personal data stays out of logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        host_port(args.listen, "--listen")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.listen, args.redis_url, args.prefix))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
