"""The local SMTP catcher (handoff/email/catcher.py) and the admins' Mail API
(handoff/email/catcher_api.py): the catcher runs as its own process, as `make run` starts it,
mail reaches it over real SMTP (smtplib), the service lists it from real Redis, and a reply as
the customer goes over real SMTP to an aiosmtpd server standing for the service's inbound mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.conversations.keys import CAUGHT_MAIL_KEPT, Keys
from handoff.email.catcher import caught_fields
from handoff.email.catcher_api import NotDelivered, customer_reply, deliver
from handoff.settings import ROOT
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support import polling
from tests.support.clients import PASSWORD, frames_until, login
from tests.support.servers import free_port, wait_for_port

PREFIX = "ha"
SHOP = "Harbor Goods support <support@harbor-goods.example>"
CUSTOMER = "pat.lee@example.com"
REPLY_TO = "reply+c0ffee.5ign@harbor-goods.example"


@dataclass
class CatcherProcess:
    port: int
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def started_catcher(redis_url: str) -> Iterator[CatcherProcess]:
    """`python -m handoff.email.catcher`, started as the launcher starts it: its Redis from the
    environment (REDIS_URL, REDIS_PREFIX), only --listen on the command line."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": PREFIX}
    process = subprocess.Popen(
        [sys.executable, "-m", "handoff.email.catcher", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield CatcherProcess(port, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def catcher(redis_url: str) -> Iterator[CatcherProcess]:
    with started_catcher(redis_url) as running:
        yield running


@pytest.fixture
async def accounts(redis_url: str) -> AsyncIterator[Accounts]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    yield Accounts(redis, Keys(PREFIX))
    await redis.aclose()


def shop_mail(subject: str, text: str, *, html: str | None = None, n: int = 1) -> EmailMessage:
    """A mail as the service sends a customer one: threaded, with a signed reply address."""
    message = EmailMessage()
    message["From"] = SHOP
    message["To"] = CUSTOMER
    message["Reply-To"] = REPLY_TO
    message["Subject"] = subject
    message["Date"] = "Sun, 06 Dec 2026 17:00:00 +0000"
    message["Message-ID"] = f"<conv-{n}@harbor-goods.example>"
    message["References"] = "<earlier@harbor-goods.example>"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(port: int, *messages: EmailMessage) -> None:
    """Deliver over one SMTP connection, as a mail server would (smtplib, blocking)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message in messages:
            smtp.send_message(message)


async def admin_client(make_client: AppFactory, accounts: Accounts, **overrides: Any) -> Any:
    client = await make_client(**{"mail_catcher": True, **overrides})
    if await accounts.get("root") is None:
        await accounts.create("root", PASSWORD, role="admin")
    return client, await login(client, "root")


async def caught(client: TestClient, session: dict[str, Any], query: str = "") -> Any:
    response = await client.get(f"/api/mail/caught{query}", headers=session["cookie"])
    assert response.status == 200, await response.text()
    return (await response.json())["mails"]


async def test_mail_sent_over_smtp_is_listed_for_admins_newest_first(
    catcher: CatcherProcess, make_client: AppFactory, accounts: Accounts
) -> None:
    client, session = await admin_client(make_client, accounts)
    assert await caught(client, session) == []
    first = shop_mail("Your message to Harbor Goods", "We got your message.\nA person replies.")
    second = shop_mail(
        "Re: <b>lamp</b> & cracked",
        "Hello Pat,\n<script>alert(1)</script> a new lamp is on its way.",
        html="<p>Hello Pat, <b>HTML</b> version</p>",
        n=2,
    )
    await asyncio.to_thread(send, catcher.port, first, second)

    mails = await caught(client, session)
    assert [m["subject"] for m in mails] == ["Re: <b>lamp</b> & cracked", first["Subject"]]
    newest = mails[0]
    assert newest["from"] == SHOP and newest["to"] == CUSTOMER
    assert newest["reply_to"] == REPLY_TO
    assert newest["message_id"] == "<conv-2@harbor-goods.example>"
    assert newest["references"] == "<earlier@harbor-goods.example>"
    assert newest["date"] == "Sun, 06 Dec 2026 17:00:00 +0000"
    assert (
        newest["envelope_to"] == CUSTOMER
        and newest["envelope_from"] == "support@harbor-goods.example"
    )
    # The plain text as it was written; the HTML alternative is not what is kept.
    assert (
        newest["text"].rstrip("\n")
        == "Hello Pat,\n<script>alert(1)</script> a new lamp is on its way."
    )
    assert "HTML" not in newest["text"]
    assert newest["truncated"] is False and newest["size"] > 0 and newest["at"] > 0
    assert [m["subject"] for m in await caught(client, session, "?limit=1")] == [newest["subject"]]
    bad = await client.get("/api/mail/caught?limit=0", headers=session["cookie"])
    assert bad.status == 400


async def test_the_catcher_keeps_the_newest_and_refuses_a_mail_too_large(
    catcher: CatcherProcess, make_client: AppFactory, accounts: Accounts
) -> None:
    client, session = await admin_client(make_client, accounts)
    mails = [shop_mail(f"mail {i}", f"text {i}", n=i) for i in range(CAUGHT_MAIL_KEPT + 5)]
    await asyncio.to_thread(send, catcher.port, *mails)
    kept = await caught(client, session, f"?limit={CAUGHT_MAIL_KEPT}")
    assert len(kept) == CAUGHT_MAIL_KEPT
    assert kept[0]["subject"] == f"mail {CAUGHT_MAIL_KEPT + 4}" and kept[-1]["subject"] == "mail 5"

    huge = shop_mail("huge", "x" * 1_100_000, n=9999)
    with pytest.raises(smtplib.SMTPException) as refused:
        await asyncio.to_thread(send, catcher.port, huge)
    assert getattr(refused.value, "smtp_code", None) == 552, refused.value
    long_text = shop_mail("long", "y" * 40_000, n=9998)
    await asyncio.to_thread(send, catcher.port, long_text)
    newest = (await caught(client, session, "?limit=1"))[0]
    assert newest["subject"] == "long" and newest["truncated"] is True
    assert len(newest["text"]) == 32_000


async def test_only_admins_read_caught_mail_and_nobody_where_no_catcher_runs(
    make_client: AppFactory, accounts: Accounts
) -> None:
    on = await make_client(mail_catcher=True)
    off = await make_client()
    await accounts.create("root", PASSWORD, role="admin")
    await accounts.create("gus", PASSWORD)
    admin, agent = await login(on, "root"), await login(on, "gus")
    reply = {"text": "hi"}
    assert (await on.get("/api/mail/caught")).status == 401
    assert (await on.get("/api/mail/caught", headers=agent["cookie"])).status == 403
    agent_reply = await on.post("/api/mail/caught/1-0/reply", json=reply, headers=agent["headers"])
    assert agent_reply.status == 403
    assert (await on.get("/api/mail/caught", headers=admin["cookie"])).status == 200
    # Without the catcher the admin finds nothing there: the console then shows no Mail tab.
    admin_off = await login(off, "root")
    listed = await off.get("/api/mail/caught", headers=admin_off["cookie"])
    assert listed.status == 404 and (await listed.json())["error"] == "mail_catcher_off"
    replied = await off.post("/api/mail/caught/1-0/reply", json=reply, headers=admin_off["headers"])
    assert replied.status == 404 and (await replied.json())["error"] == "mail_catcher_off"
    # A reply without the CSRF token changes nothing.
    forged = await on.post("/api/mail/caught/1-0/reply", json=reply, headers=admin["cookie"])
    assert forged.status == 403 and (await forged.json())["error"] == "csrf"


@dataclass
class Inbound:
    """An SMTP server standing for the service's inbound mail: it keeps what it takes, and
    refuses recipients it is told to."""

    refuse: set[str] = field(default_factory=set)
    taken: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 This reply address is not known here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.taken.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def inbound() -> Iterator[tuple[Inbound, int]]:
    handler = Inbound()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_a_reply_as_the_customer_reaches_an_smtp_server_threaded(
    inbound: tuple[Inbound, int],
) -> None:
    """What "Reply as the customer" sends, at a real SMTP server: a mail client's reply."""
    server, port = inbound
    raw = shop_mail("Re: my lamp arrived cracked", "A new one is on its way.").as_bytes()
    mail = caught_fields(raw, "bounce+1.2@harbor-goods.example", [CUSTOMER])
    await deliver(customer_reply(mail, "Thank you!\nThe new lamp is fine."), "127.0.0.1", port)

    # The server answered 250 to the data before deliver returned: the reply is there.
    assert len(server.taken) == 1
    envelope = server.taken[0]
    assert envelope.mail_from == CUSTOMER and envelope.rcpt_tos == [REPLY_TO]
    reply = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
    assert reply["From"] == CUSTOMER and reply["To"] == REPLY_TO
    assert reply["Subject"] == "Re: my lamp arrived cracked"
    assert reply["In-Reply-To"] == "<conv-1@harbor-goods.example>"
    assert reply["References"] == "<earlier@harbor-goods.example> <conv-1@harbor-goods.example>"
    assert reply["Message-ID"].endswith("@example.com>")
    body = reply.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == (
        "Thank you!\nThe new lamp is fine."
    )
    # A subject that already answers is not answered twice; no Reply-To: to its From.
    plain = caught_fields(shop_mail("Re: x", "y").as_bytes(), "", [CUSTOMER])
    plain["reply_to"] = ""
    again = customer_reply(plain, "z")
    assert again["Subject"] == "Re: x" and again["To"] == "support@harbor-goods.example"
    with pytest.raises(ValueError):
        customer_reply({**plain, "to": "", "envelope_to": ""}, "z")

    server.refuse.add(REPLY_TO)
    with pytest.raises(NotDelivered) as refused:
        await deliver(customer_reply(mail, "again"), "127.0.0.1", port)
    assert refused.value.code == "refused" and "550" in str(refused.value)
    with pytest.raises(NotDelivered) as unreachable:
        await deliver(customer_reply(mail, "again"), "127.0.0.1", free_port())
    assert unreachable.value.code == "unreachable"
    assert len(server.taken) == 1


async def test_the_email_loop_closes_on_a_laptop(
    catcher: CatcherProcess, make_client: AppFactory, accounts: Accounts
) -> None:
    """The issue's loop with no mail provider: a customer leaves a message, an agent takes the
    ticket and writes; the service mails the customer, the catcher catches it; an admin replies
    as the customer from the Mail API, and the reply lands in the same conversation, live."""
    client = await make_client(
        mail_catcher=True,
        smtp_url=f"smtp://127.0.0.1:{catcher.port}",
        inbound_smtp="127.0.0.1:0",
        email_after_away=0.0,
    )
    await accounts.create("root", PASSWORD, role="admin")
    await accounts.create("gus", PASSWORD, display_name="Gus")
    admin, agent = await login(client, "root"), await login(client, "gus")

    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json(
        {"type": "leave_message", "email": CUSTOMER, "text": "My lamp arrived cracked."}
    )

    async def left_ticket() -> dict[str, Any] | None:
        listed = await client.get("/api/tickets", headers=agent["cookie"])
        tickets = (await listed.json())["tickets"]
        return next((dict(t) for t in tickets if t["conversation"] == cid), None)

    ticket = await until(left_ticket)
    await customer.close()
    taken = await client.post(
        f"/api/tickets/{ticket['id']}/take", json={}, headers=agent["headers"]
    )
    assert taken.status == 200, await taken.text()

    ws = await client.ws_connect("/ws/agent", headers=agent["cookie"])
    await frames_until(ws, lambda f: f["type"] == "hello")
    await ws.send_json({"type": "open", "conversation": cid, "last_seen": None})
    await ws.send_json(
        {
            "type": "message",
            "conversation": cid,
            "id": "a1",
            "text": "Sorry! A new lamp ships today.",
        }
    )

    async def agents_mail() -> dict[str, Any] | None:
        for mail in await caught(client, admin):
            if "A new lamp ships today" in mail["text"]:
                return dict(mail)
        return None

    mail = await until(agents_mail)
    assert mail["to"] == CUSTOMER and mail["reply_to"].startswith(f"reply+{cid}.")
    replied = await client.post(
        f"/api/mail/caught/{mail['id']}/reply",
        json={"text": "Great, thank you!"},
        headers=admin["headers"],
    )
    assert replied.status == 200, await replied.text()
    answer = await replied.json()

    # The agent sees the customer's email in the chat, live.
    frames = await frames_until(
        ws, lambda f: f.get("type") == "event" and f.get("text") == "Great, thank you!"
    )
    assert frames[-1]["from"] == "customer" and frames[-1]["conversation"] == cid
    listed = await client.get(f"/api/conversations/{cid}", headers=agent["cookie"])
    fields = (await listed.json())["fields"]
    # Threaded: the service's next email to the customer answers this reply.
    assert answer["message_id"] in fields.get("mail_refs", ""), fields
    await ws.close()


until = partial(polling.until, seconds=10.0)


async def test_replies_refused_by_the_inbound_mail_and_bad_requests_are_said(
    catcher: CatcherProcess, make_client: AppFactory, accounts: Accounts
) -> None:
    client, session = await admin_client(make_client, accounts, inbound_smtp="127.0.0.1:0")
    # A mail whose Reply-To is not at REPLY_DOMAIN: the service's inbound server refuses it.
    elsewhere = shop_mail("Your ticket", "We will write back.")
    elsewhere.replace_header("Reply-To", "someone@elsewhere.example")
    await asyncio.to_thread(send, catcher.port, elsewhere)
    mail = (await caught(client, session))[0]
    path = f"/api/mail/caught/{mail['id']}/reply"

    refused = await client.post(path, json={"text": "hello"}, headers=session["headers"])
    body = await refused.json()
    assert refused.status == 502 and body["error"] == "refused", body
    assert "550" in body["message"]

    for text in ("", "   ", None, "x" * 10_001):
        bad = await client.post(path, json={"text": text}, headers=session["headers"])
        assert bad.status == 400, text
    for missing in ("1-0", "not-an-id", "99999999999999-0"):
        gone = await client.post(
            f"/api/mail/caught/{missing}/reply", json={"text": "hi"}, headers=session["headers"]
        )
        assert gone.status == 404, missing

    off, off_session = await admin_client(make_client, accounts, inbound_smtp="off")
    no_inbound = await off.post(path, json={"text": "hi"}, headers=off_session["headers"])
    assert no_inbound.status == 409 and (await no_inbound.json())["error"] == "inbound_off"


async def test_the_catcher_stops_cleanly_on_sigterm(catcher: CatcherProcess) -> None:
    catcher.process.send_signal(signal.SIGTERM)
    assert catcher.process.wait(timeout=10) == 0
    with pytest.raises(OSError):
        await asyncio.to_thread(send, catcher.port, shop_mail("late", "nobody takes this"))


async def test_a_mail_the_catcher_cannot_keep_is_left_with_the_sender() -> None:
    """Redis away: the catcher answers 451, so the sending server keeps the mail and retries."""
    with started_catcher(f"redis://127.0.0.1:{free_port()}/0") as running:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(send, running.port, shop_mail("kept?", "no"))
        assert refused.value.smtp_code == 451
