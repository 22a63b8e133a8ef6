"""Email as the conversation's second channel, over real SMTP both ways and a real Redis.

The customers' mail provider is an aiosmtpd server of the test's own (it takes, refuses or is
down as each test needs); the customers' replies are sent with aiosmtplib to the service's own
inbound SMTP server. No sleeps as barriers: each test waits for the mail, the frame or the
status it expects.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Any

import aiosmtplib
import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP
from redis.exceptions import ConnectionError as RedisConnectionError

from handoff.email import missed
from handoff.email import sender as mail_sender
from handoff.email.addresses import read_recipient, reply_address
from handoff.email.missed import MissedMail
from handoff.email.outbox import mail_status, queue_email
from handoff.email.service import INBOUND_ADDRESS
from handoff.state import AppState, app_state
from tests.app.agents import agent_online, console
from tests.app.conftest import SECRET, AppFactory
from tests.app.protocol import open_chat
from tests.support import polling
from tests.support.clients import frames_until, login

DOMAIN = "reply.test"
CUSTOMER = "kit@example.com"


class MailProvider:
    """A real SMTP server standing in for the customers' mail provider."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.arrived = asyncio.Event()
        self.refuse = ""  # an SMTP reply to every RCPT, e.g. "550 5.1.1 no such user"
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, _: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        self.arrived.set()
        return "250 OK"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def next_mail(
        self, count: int, timeout: float = 8.0
    ) -> tuple[str, list[str], EmailMessage]:
        """The `count`-th mail taken (1 = the first), waiting for it."""
        deadline = time.monotonic() + timeout
        while len(self.mails) < count:
            self.arrived.clear()
            left = deadline - time.monotonic()
            assert left > 0, f"no mail #{count}; got {len(self.mails)}"
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout=left)
            except asyncio.TimeoutError:
                continue
        return self.mails[count - 1]


@pytest.fixture
async def provider() -> AsyncIterator[MailProvider]:
    mail = MailProvider()
    await mail.start()
    yield mail
    await mail.stop()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mail_sender, "RETRY_FIRST_SECONDS", 0.1)
    monkeypatch.setattr(mail_sender, "RETRY_MAX_SECONDS", 0.3)
    monkeypatch.setattr(mail_sender, "POLL_SECONDS", 0.1)


async def email_app(make_client: AppFactory, smtp_port: int, **more: Any) -> TestClient:
    settings: dict[str, Any] = {
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
        "inbound_smtp": "127.0.0.1:0",
        "reply_domain": DOMAIN,
        "email_after_away": 0.0,
    }
    return await make_client(**{**settings, **more})


async def mail_in(client: TestClient, message: EmailMessage, *, bounce: bool = False) -> Any:
    host, port = client.app[INBOUND_ADDRESS]
    if bounce:  # a null envelope sender, MAIL FROM:<>, as every bounce has
        async with aiosmtplib.SMTP(hostname=host, port=port) as smtp:
            return await smtp.sendmail("", [str(message["To"])], message.as_bytes())
    return await aiosmtplib.send(message, hostname=host, port=port)


def customer_mail(to: str, text: str, *, sender: str = CUSTOMER, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Kit <{sender}>"
    message["To"] = to
    message["Subject"] = headers.pop("Subject", "Re: Your conversation")
    message["Message-ID"] = f"<{time.monotonic_ns()}@example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


async def conversation_for(state: AppState, email: str = CUSTOMER) -> str:
    cid = await state.store.create("support", lifetime=3600, max_entries=100)
    await state.store.set_fields(cid, {"customer_email": email})
    return cid


until = partial(polling.until, seconds=8.0)


async def tickets_by(state: AppState, email: str) -> list[dict[str, str]]:
    raw = await state.redis.xrange(state.keys.tickets)
    return [dict(v) for _, v in raw if v.get("email") == email]


async def customer_messages(state: AppState, cid: str) -> list[tuple[str, str]]:
    """The conversation's customer messages as (text, channel)."""
    entries = await state.store.read_all(cid)
    return [
        (e.text, e.fields.get("channel", ""))
        for e in entries
        if e.kind == "message" and e.sender == "customer"
    ]


async def outbox(state: AppState, kind: str, to: str = CUSTOMER) -> list[dict[str, str]]:
    """The mails of a kind queued to `to` (queued before the inbound SMTP server says 250)."""
    found = []
    async for key in state.redis.scan_iter(match=state.keys.mail("*")):
        mail = await state.redis.hgetall(key)
        if mail.get("kind") == kind and mail.get("to") == to:
            found.append(mail)
    return found


# --- the whole loop: a ticket answered by email, the reply back in the chat -----------------


async def test_a_ticket_is_answered_by_email_and_the_reply_comes_back_live(
    make_client: AppFactory,
    accounts: Any,
    handoff_bot: Any,
    provider: MailProvider,
) -> None:
    client = await email_app(make_client, provider.port)
    await accounts.create("ray", "correct horse battery", display_name="Ray")
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "h", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("event") == "offer_leave_message")
    await customer.send_json({"type": "leave_message", "email": CUSTOMER, "text": "Call me"})
    await frames_until(customer, lambda f: f.get("event") == "ticket_created")
    await customer.close()  # the customer leaves the site

    session = await login(client, "ray")
    agent, _ = await console(client, session)
    tickets = await (await client.get("/api/tickets", headers=session["headers"])).json()
    ticket = tickets["tickets"][0]
    taken = await client.post(f"/api/tickets/{ticket['id']}/take", headers=session["headers"])
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["conversation"] == cid
    listed = await (await client.get("/api/tickets", headers=session["headers"])).json()
    assert listed["tickets"][0]["status"] == "taken"

    await agent.send_json({"type": "open", "conversation": cid})
    await agent.send_json(
        {"type": "message", "conversation": cid, "id": "m1", "text": "Your parcel left today."}
    )
    acked = await frames_until(agent, lambda f: f["type"] == "ack")
    entry = acked[-1]["entry"]
    envelope_from, rcpts, mail = await provider.next_mail(1)
    assert rcpts == [CUSTOMER]
    assert mail["Reply-To"] == reply_address(SECRET, DOMAIN, cid, CUSTOMER)
    assert mail["Message-ID"].endswith(f"@{DOMAIN}>")
    assert read_recipient(envelope_from, DOMAIN) is not None  # the signed bounce address
    body = mail.get_content()
    assert "Your parcel left today." in body and "a human please" in body  # + so far
    await frames_until(
        agent,
        lambda f: f["type"] == "email_status" and f["entry"] == entry and f["status"] == "sent",
    )
    # A console loading the chat afresh (a reload, another agent) sees the status too.
    loaded = await (
        await client.get(f"/api/conversations/{cid}", headers=session["headers"])
    ).json()
    sent = next(e for e in loaded["entries"] if e["id"] == entry)
    assert sent["email_status"] == "sent"

    reply = customer_mail(
        mail["Reply-To"],
        "Great, thanks!\n\nOn Mon, 7 Dec 2026, Ray wrote:\n> Your parcel left today.\n",
        In_Reply_To=mail["Message-ID"],
    )
    await mail_in(client, reply)
    seen = await frames_until(agent, lambda f: f["type"] == "event" and f.get("channel") == "email")
    assert seen[-1]["text"] == "Great, thanks!" and seen[-1]["from"] == "customer"
    # The agent's next message answers the customer's mail in the same thread.
    await agent.send_json(
        {"type": "message", "conversation": cid, "id": "m2", "text": "Glad to hear it."}
    )
    _, _, second = await provider.next_mail(2)
    assert second["In-Reply-To"] == reply["Message-ID"]
    assert mail["Message-ID"] in second["References"]


async def test_a_customer_still_connected_gets_no_email_and_one_who_returns_sees_it_all(
    make_client: AppFactory,
    accounts: Any,
    provider: MailProvider,
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await state.store.set_fields(cid, {"customer_email": CUSTOMER})
    agent, session = await agent_online(client, accounts, "ann")
    taken_id = await state.redis.xadd(state.keys.tickets, {"conversation": cid, "email": CUSTOMER})
    assert (await client.post(f"/api/tickets/{taken_id}/take", headers=session["headers"])).ok
    await agent.send_json({"type": "open", "conversation": cid})
    await agent.send_json({"type": "message", "conversation": cid, "id": "a", "text": "Here?"})
    here_id = (await frames_until(customer, lambda f: f.get("text") == "Here?"))[-1]["id"]
    await customer.close()
    await until(lambda: _away(state, cid))
    await agent.send_json({"type": "message", "conversation": cid, "id": "b", "text": "Gone?"})
    _, _, mail = await provider.next_mail(1)
    assert mail.get_content().startswith("Gone?")  # the first mail is the second message
    entries = await state.store.read_all(cid)
    assert [e.text for e in entries if e.fields.get("mail")] == ["Gone?"]
    # They answer by email, then come back to the widget: one transcript, both ways, once.
    await mail_in(client, customer_mail(str(mail["Reply-To"]), "Yes, still here."))
    back, _ = await open_chat(client, token=str(welcome["token"]), last_seen=here_id)
    replay = await frames_until(back, lambda f: f.get("text") == "Yes, still here.")
    said = [(f["from"], f["text"]) for f in replay if f.get("kind") == "message"]
    assert said == [("agent", "Gone?"), ("customer", "Yes, still here.")]
    await back.close()


async def _away(state: AppState, cid: str) -> bool:
    marks = await state.redis.zrange(state.keys.customer_sockets(cid), 0, -1)
    return marks == ["left"]


# --- faults of the outbound side --------------------------------------------------------------


async def test_smtp_down_keeps_the_mail_queued_and_delivers_it_when_back(
    make_client: AppFactory, fast_retries: None
) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = await email_app(make_client, port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    mail_id = await queue_email(state, cid, kind="message", subject="Hello", body="Still there?")
    status = await until(lambda: _status_with_error(state, mail_id))
    assert status[0] == "queued"  # not delivered yet, and why
    provider = MailProvider()
    await provider.start(port)
    try:
        _, _, mail = await provider.next_mail(1)
        assert mail.get_content().strip() == "Still there?"
        assert (await until(lambda: _sent(state, mail_id))) == ("sent", "")
        assert await state.redis.zcard(state.keys.mail_due) == 0
    finally:
        await provider.stop()


async def _status_with_error(state: AppState, mail_id: str) -> tuple[str, str] | None:
    status = await mail_status(state, mail_id)
    return status if status[1] else None


async def _sent(state: AppState, mail_id: str) -> tuple[str, str] | None:
    status = await mail_status(state, mail_id)
    return status if status[0] == "sent" else None


async def test_a_refusing_server_fails_the_mail_and_a_bounce_fails_a_sent_one(
    make_client: AppFactory, provider: MailProvider, fast_retries: None
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    provider.refuse = "550 5.1.1 No such user here"
    refused = await queue_email(state, cid, kind="message", subject="", body="one")
    status = await until(lambda: _final(state, refused))
    assert status[0] == "failed" and "550" in status[1]
    provider.refuse = ""
    sent = await queue_email(state, cid, kind="message", subject="", body="two")
    envelope_from, _, original = await provider.next_mail(1)
    await until(lambda: _sent(state, sent))
    bounce = EmailMessage()
    bounce["From"] = f"MAILER-DAEMON@{DOMAIN}"
    bounce["To"] = envelope_from
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce.set_content("Your message could not be delivered.")
    bounce.add_attachment(
        "Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; kit@example.com\n"
        "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\n",
        subtype="delivery-status",
    )
    await mail_in(client, bounce, bounce=True)
    status = await until(lambda: _final(state, sent))
    assert status[0] == "failed" and "Bounced" in status[1] and "mailbox unavailable" in status[1]
    assert original["Message-ID"]


async def _final(state: AppState, mail_id: str) -> tuple[str, str] | None:
    status = await mail_status(state, mail_id)
    return status if status[0] == "failed" else None


# --- the inbound side: forged, foreign, replayed, huge, HTML, files, automatic ---------------


async def test_forged_foreign_and_replayed_reply_addresses_become_new_tickets(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    original = await conversation_for(state)
    await state.store.append(original, "customer", "My secret order 7781 is late")
    other = await conversation_for(state, "lee@example.com")
    good = reply_address(SECRET, DOMAIN, original, CUSTOMER)
    local, _, _ = good.partition("@")
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{DOMAIN}"
    replayed = good.replace(original, other)  # the signature of one, the id of another
    attempts = [
        (good, "mallory@example.com"),  # the right address from another sender
        (forged, CUSTOMER),
        (replayed, "lee@example.com"),
    ]
    for number, (to, sender) in enumerate(attempts, start=1):
        await mail_in(client, customer_mail(to, f"attempt {number}", sender=sender))
    for number, (_, sender) in enumerate(attempts, start=1):
        tickets = await until(lambda s=sender: tickets_by(state, s))
        assert any(t["text"] == f"attempt {number}" for t in tickets)
        assert all(t["conversation"] not in (original, other) for t in tickets)
    for number, (_, sender) in enumerate(attempts, start=1):
        (ticket,) = await tickets_by(state, sender)
        # The customer's text is in the new conversation once, as the email it came as.
        assert await customer_messages(state, ticket["conversation"]) == [
            (f"attempt {number}", "email")
        ]
    assert [e.text for e in await state.store.read_all(original) if e.kind == "message"] == [
        "My secret order 7781 is late"
    ]
    assert not [e for e in await state.store.read_all(other) if e.kind == "message"]
    # Each sender got a receipt that reveals nothing of the conversation they aimed at.
    receipts = [await provider.next_mail(n) for n in (1, 2, 3)]
    assert sorted(r[1][0] for r in receipts) == sorted(
        ["mallory@example.com", CUSTOMER, "lee@example.com"]
    )
    for _, _, receipt in receipts:
        assert "7781" not in receipt.get_content()
        assert receipt["Auto-Submitted"] == "auto-replied"
        assert original not in receipt["Reply-To"]


async def test_a_mail_over_the_size_limit_is_refused_at_data(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port, max_inbound_mail_bytes=20_000)
    state = app_state(client.app)
    cid = await conversation_for(state)
    huge = customer_mail(reply_address(SECRET, DOMAIN, cid, CUSTOMER), "x" * 50_000)
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await mail_in(client, huge)
    assert refused.value.code == 552
    # The sender's bounce quotes this: it says what the limit is and what to do.
    assert "up to 20 kB" in refused.value.message and "without the attachments" in (
        refused.value.message
    )
    assert not [e for e in await state.store.read_all(cid) if e.kind == "message"]


async def test_a_reply_with_a_phone_photo_is_taken_by_default(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)  # MAX_INBOUND_MAIL_BYTES as shipped
    state = app_state(client.app)
    cid = await conversation_for(state)
    reply = customer_mail(reply_address(SECRET, DOMAIN, cid, CUSTOMER), "The box was crushed.")
    photo = bytes(range(256)) * (4 * 1024 * 1024 // 256)  # 4 MB, a phone camera's photo
    reply.add_attachment(photo, maintype="image", subtype="jpeg", filename="box.jpg")
    await mail_in(client, reply)
    assert await customer_messages(state, cid) == [
        ("The box was crushed.\n\n[1 attachment not accepted]", "email")
    ]
    (told,) = await outbox(state, "answer")
    assert "can't accept attachments" in told["body"]


async def test_html_only_quoted_history_files_and_auto_replies(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    to = reply_address(SECRET, DOMAIN, cid, CUSTOMER)
    auto = customer_mail(to, "I am out of office until Monday.", Auto_Submitted="auto-replied")
    await mail_in(client, auto)
    html = EmailMessage()
    html["From"], html["To"], html["Subject"] = CUSTOMER, to, "Re: order"
    html["Message-ID"] = "<html-1@example.com>"
    html.set_content(
        "<html><body><p>The <b>blue</b> one, please.</p>"
        '<div class="gmail_quote">On Sun, Ray wrote:<blockquote>old text</blockquote></div>'
        "<script>alert(1)</script></body></html>",
        subtype="html",
    )
    await mail_in(client, html)
    with_file = customer_mail(
        to, "Photo attached.\n\n-----Original Message-----\nFrom: support\nold", Subject="Re: x"
    )
    with_file.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="a.png")
    await mail_in(client, with_file)

    async def messages() -> list[str]:
        entries = await state.store.read_all(cid)
        return [
            e.text for e in entries if e.kind == "message" and e.fields.get("channel") == "email"
        ]

    texts = await until(lambda: _two(messages))
    assert texts[0] == "The blue one, please."
    assert texts[1] == "Photo attached.\n\n[1 attachment not accepted]"
    assert not any("out of office" in t for t in texts)  # the auto-reply was ignored
    _, rcpts, answer = await provider.next_mail(1)
    assert rcpts == [CUSTOMER] and "attachments" in answer.get_content()


async def _two(read: Callable[[], Awaitable[list[str]]]) -> list[str] | None:
    texts = await read()
    return texts if len(texts) >= 2 else None


async def test_a_signature_logo_drawn_inline_is_not_a_refused_file(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    mail = customer_mail(reply_address(SECRET, DOMAIN, cid, CUSTOMER), "Size M, please.")
    mail.add_alternative(
        '<p>Size M, please.</p><p><img src="cid:logo@kit"> Kit Ltd</p>', subtype="html"
    )
    html = mail.get_payload()[1]
    html.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@kit>")
    await mail_in(client, mail)
    assert await customer_messages(state, cid) == [("Size M, please.", "email")]
    # The server's 250 came after everything the mail set off: no "files not accepted".
    assert await outbox(state, "answer") == []


# --- new mail to the shop: one ticket per mail, however often it is delivered -----------------


async def test_a_new_mail_becomes_one_ticket_with_its_text_once_even_delivered_twice(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    mail = customer_mail(f"help@{DOMAIN}", "Where is order 4410?", Subject="Order 4410")
    await mail_in(client, mail)
    await mail_in(client, mail)  # the sending server lost our 250 and delivers it again
    (ticket,) = await tickets_by(state, CUSTOMER)
    cid = ticket["conversation"]
    assert ticket["text"] == "Where is order 4410?"
    assert await customer_messages(state, cid) == [("Where is order 4410?", "email")]
    (receipt,) = await outbox(state, "answer")
    assert receipt["conversation"] == cid and receipt["subject"] == "Re: Order 4410"
    # Two deliveries at the same moment: one stores it; the other is stored once too, or told
    # to come back later (451), as a sending server does, and then finds it stored.
    again = customer_mail(f"help@{DOMAIN}", "And order 4411?", Subject="Order 4411")
    outcomes = await asyncio.gather(
        mail_in(client, again), mail_in(client, again), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, aiosmtplib.SMTPResponseException), outcome
            assert outcome.code == 451
            await mail_in(client, again)
    tickets = await tickets_by(state, CUSTOMER)
    assert sorted(t["text"] for t in tickets) == ["And order 4411?", "Where is order 4410?"]
    second = next(t["conversation"] for t in tickets if t["text"] == "And order 4411?")
    assert await customer_messages(state, second) == [("And order 4411?", "email")]


async def mail_for_nobody(
    make_client: AppFactory, provider: MailProvider, addressed: str, text: str
) -> tuple[TestClient, AppState, EmailMessage]:
    """The service, and a customer's mail that must become a ticket: new mail to the shop, or a
    reply to a conversation nobody is on (with the assistant)."""
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    to = f"help@{DOMAIN}" if addressed == "new" else reply_address(SECRET, DOMAIN, cid, CUSTOMER)
    return client, state, customer_mail(to, text)


async def assert_one_ticket_with(state: AppState, text: str) -> None:
    """The customer has exactly one ticket, for `text`, stored once in its conversation."""
    (ticket,) = await tickets_by(state, CUSTOMER)
    assert ticket["text"] == text
    assert await customer_messages(state, ticket["conversation"]) == [(text, "email")]


@pytest.mark.parametrize("addressed", ["new", "reply"])
async def test_a_delivery_that_stopped_after_storing_the_text_gets_its_ticket_on_the_retry(
    make_client: AppFactory, provider: MailProvider, monkeypatch: pytest.MonkeyPatch, addressed: str
) -> None:
    client, state, mail = await mail_for_nobody(
        make_client, provider, addressed, "Order 4412 came broken."
    )
    opening = state.queue.open_ticket

    async def redis_fails_over(*args: Any) -> str:
        monkeypatch.setattr(state.queue, "open_ticket", opening)  # only this once
        raise RedisConnectionError("the master is gone")

    monkeypatch.setattr(state.queue, "open_ticket", redis_fails_over)
    with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
        await mail_in(client, mail)
    assert deferred.value.code == 451  # the sending server keeps it and delivers it again
    await mail_in(client, mail)
    await assert_one_ticket_with(state, "Order 4412 came broken.")
    await mail_in(client, mail)  # and once it has its ticket, a third delivery adds nothing
    assert len(await tickets_by(state, CUSTOMER)) == 1


@pytest.mark.parametrize("addressed", ["new", "reply"])
async def test_a_delivery_while_another_is_opening_the_ticket_is_told_to_come_back(
    make_client: AppFactory, provider: MailProvider, monkeypatch: pytest.MonkeyPatch, addressed: str
) -> None:
    # The moment that once opened two tickets: the first delivery has stored the text and is
    # opening the ticket when the second arrives, finds the text stored and no ticket yet.
    client, state, mail = await mail_for_nobody(
        make_client, provider, addressed, "Order 4413 never came."
    )
    opening = state.queue.open_ticket
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def held_while_opening(*args: Any) -> str:
        inside.set()
        await go_on.wait()
        return await opening(*args)

    monkeypatch.setattr(state.queue, "open_ticket", held_while_opening)
    first = asyncio.create_task(mail_in(client, mail))
    await asyncio.wait_for(inside.wait(), 10)
    with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
        await mail_in(client, mail)
    assert deferred.value.code == 451
    go_on.set()
    await first
    await mail_in(client, mail)  # the sending server's retry finds the ticket open
    await assert_one_ticket_with(state, "Order 4413 never came.")


async def test_a_reply_to_a_chat_nobody_is_on_is_stored_once_with_its_ticket(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)  # with the assistant: nobody is on it
    reply = customer_mail(reply_address(SECRET, DOMAIN, cid, CUSTOMER), "Still waiting.")
    await mail_in(client, reply)
    await mail_in(client, reply)
    assert await customer_messages(state, cid) == [("Still waiting.", "email")]
    (ticket,) = await tickets_by(state, CUSTOMER)
    assert ticket["conversation"] == cid


# --- mail loops: automatic mail is never attached nor answered --------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"X_Autoreply": "yes"},
        {"List_Id": "Deals <deals.shop.example>"},
    ],
    ids=["precedence-bulk", "precedence-auto-reply", "x-autoreply", "list-id"],
)
async def test_automatic_mail_is_neither_attached_nor_answered(
    make_client: AppFactory, provider: MailProvider, headers: dict[str, str]
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    for to in (reply_address(SECRET, DOMAIN, cid, CUSTOMER), f"help@{DOMAIN}"):
        await mail_in(client, customer_mail(to, "I am away until Monday.", **headers))
    # The same mail without the header is taken: the header alone made the difference.
    await mail_in(client, customer_mail(f"help@{DOMAIN}", "Back now."))
    assert await customer_messages(state, cid) == []
    assert [t["text"] for t in await tickets_by(state, CUSTOMER)] == ["Back now."]
    assert len(await outbox(state, "answer")) == 1


async def test_an_unsigned_bounce_changes_no_mail_and_reaches_nobody(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    sent = await queue_email(state, cid, kind="message", subject="", body="Your refund is done.")
    envelope_from, _, _ = await provider.next_mail(1)
    await until(lambda: _sent(state, sent))
    local = envelope_from.partition("@")[0]
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{DOMAIN}"
    for to, sender in ((forged, f"MAILER-DAEMON@{DOMAIN}"), (f"help@{DOMAIN}", "")):
        bounce = EmailMessage()
        bounce["From"] = sender or f"Mail Delivery System <MAILER-DAEMON@{DOMAIN}>"
        bounce["To"] = to
        bounce["Subject"] = "Undelivered Mail Returned to Sender"
        bounce.set_content("Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable")
        await mail_in(client, bounce, bounce=True)
    assert await mail_status(state, sent) == ("sent", "")
    assert await tickets_by(state, f"mailer-daemon@{DOMAIN}") == []
    assert await customer_messages(state, cid) == []


async def test_automatic_answers_go_to_a_sender_at_most_once_an_hour(
    make_client: AppFactory, provider: MailProvider
) -> None:
    client = await email_app(make_client, provider.port)
    state = app_state(client.app)
    cid = await conversation_for(state)
    to = reply_address(SECRET, DOMAIN, cid, CUSTOMER)
    for number in (1, 2):
        with_file = customer_mail(to, f"Photo {number}.")
        with_file.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="a.png")
        await mail_in(client, with_file)
        await mail_in(client, customer_mail(f"help@{DOMAIN}", f"New question {number}"))
    # Every mail is taken; one "files" note and one receipt are all the sender got.
    assert len(await customer_messages(state, cid)) == 2
    texts = [t["text"] for t in await tickets_by(state, CUSTOMER)]
    assert "New question 1" in texts and "New question 2" in texts
    answers = await outbox(state, "answer")
    assert len(answers) == 2
    assert sum("can't accept attachments" in a["body"] for a in answers) == 1


# --- messages written just after the customer left: emailed once they stay away ---------------


async def _chat_left_by_customer(
    client: TestClient, staff: Any, agent_name: str
) -> tuple[Any, str, str]:
    """A chat the agent took and answered live, then the customer closed the page: (agent
    socket, conversation, the customer's resume token)."""
    state = app_state(client.app)
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await state.store.set_fields(cid, {"customer_email": CUSTOMER})
    agent, session = await agent_online(client, staff, agent_name)
    taken_id = await state.redis.xadd(state.keys.tickets, {"conversation": cid, "email": CUSTOMER})
    assert (await client.post(f"/api/tickets/{taken_id}/take", headers=session["headers"])).ok
    await agent.send_json({"type": "open", "conversation": cid})
    await agent.send_json({"type": "message", "conversation": cid, "id": "a", "text": "Here?"})
    await frames_until(customer, lambda f: f.get("text") == "Here?")
    await customer.close()
    await until(lambda: _away(state, cid))
    return agent, cid, str(welcome["token"])


async def _left_out(state: AppState, cid: str) -> bool:
    return await state.redis.zscore(state.keys.mail_missed, cid) is None


async def test_messages_written_just_after_the_customer_left_are_emailed_once_together(
    make_client: AppFactory,
    accounts: Any,
    provider: MailProvider,
) -> None:
    client = await email_app(make_client, provider.port, email_after_away=1.0)
    # A second replica sweeps the same Redis: the missed messages still go out once.
    other = await email_app(make_client, provider.port, email_after_away=1.0)
    state = app_state(client.app)
    agent, cid, _ = await _chat_left_by_customer(client, accounts, "ann")
    for number, text in enumerate(["Are you still there?", "Found it: it ships Monday."]):
        await agent.send_json(
            {"type": "message", "conversation": cid, "id": f"m{number}", "text": text}
        )
        await frames_until(agent, lambda f, n=number: f["type"] == "ack" and f["id"] == f"m{n}")
    # Nothing went at once (the customer had just left); once they stayed away, one email.
    _, rcpts, mail = await provider.next_mail(1)
    body = mail.get_content().replace("\r\n", "\n")
    assert rcpts == [CUSTOMER]
    assert body.startswith("Are you still there?\n\nFound it: it ships Monday.\n\nAnn, ")
    # The conversation so far quotes what they read in the chat, not the messages again.
    assert "] Ann: Here?" in body
    assert body.count("ships Monday") == 1
    # The agent sees it was emailed, on the chat's note that names the mail.
    seen = await frames_until(
        agent, lambda f: f["type"] == "email_status" and f["status"] == "sent"
    )
    entries = await state.store.read_all(cid)
    note = next(e for e in entries if e.id == seen[-1]["entry"])
    assert note.fields.get("event") == "missed_messages_emailed"
    # Done on both replicas: a sweep finds nothing more, and the next message, written with
    # the customer long gone, is the second mail there is.
    await until(lambda: _left_out(state, cid))
    for replica in (client, other):
        assert await MissedMail(app_state(replica.app)).sweep() == 0
    await agent.send_json({"type": "message", "conversation": cid, "id": "m9", "text": "Bye!"})
    _, _, second = await provider.next_mail(2)
    assert second.get_content().startswith("Bye!")
    assert len(provider.mails) == 2


async def test_a_message_written_while_the_sweeper_holds_the_chat_is_not_lost(
    make_client: AppFactory,
    accounts: Any,
    provider: MailProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await email_app(make_client, provider.port, email_after_away=1.0)
    agent, cid, token = await _chat_left_by_customer(client, accounts, "ann")
    await agent.send_json({"type": "message", "conversation": cid, "id": "b", "text": "Back?"})
    await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "b")
    customer, _ = await open_chat(client, token=token)  # back: they read "Back?" in the chat
    first_look = missed.away_seconds
    looks = 0

    async def back_then_gone_again(state: AppState, cid: str) -> float | None:
        nonlocal looks
        looks += 1
        seen = await first_look(state, cid)
        if looks == 1:
            # Between the sweeper's look (back) and its removal of the chat from the list, the
            # customer leaves again and the agent writes: the list still holds the chat.
            await customer.close()
            await until(lambda: _away(state, cid))
            await agent.send_json(
                {"type": "message", "conversation": cid, "id": "c", "text": "Ships Monday."}
            )
            await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "c")
        return seen

    monkeypatch.setattr(missed, "away_seconds", back_then_gone_again)
    _, _, mail = await provider.next_mail(1)
    assert mail.get_content().startswith("Ships Monday.")
    assert "Back?\n\n" not in mail.get_content().replace("\r\n", "\n")


async def test_a_customer_who_comes_back_in_time_gets_no_email(
    make_client: AppFactory,
    accounts: Any,
    provider: MailProvider,
) -> None:
    client = await email_app(make_client, provider.port, email_after_away=1.0)
    state = app_state(client.app)
    agent, cid, token = await _chat_left_by_customer(client, accounts, "ann")
    await agent.send_json({"type": "message", "conversation": cid, "id": "b", "text": "Back?"})
    await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "b")
    assert not await _left_out(state, cid)  # to be checked once the customer stayed away
    customer, _ = await open_chat(client, token=token)  # they came back and read it
    await until(lambda: _left_out(state, cid))  # the sweeper looked, and let it go
    assert await outbox(state, "message") == []
    await customer.close()
