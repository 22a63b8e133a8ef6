"""Follow-up emails and the transcript by email at close (handoff/email/follow_up.py and
follow_up_rating.py): real Redis, a real order store (HG-10029 is delayed and belongs to
nora.silva53@example.com), the scripted Rasa peer, and an aiosmtpd server as the mail provider.
"""

from __future__ import annotations

import asyncio
import email
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from handoff.console.accounts import Accounts
from handoff.conversations.keys import FOLLOW_UP_LEASE
from handoff.email.follow_up import schedule, send_due
from handoff.email.follow_up_rating import rating_token
from handoff.state import app_state
from tests.app.agents import KEYS, agent_online, queued_chat
from tests.app.conftest import SECRET, AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until
from tests.support.fake_rasa import FakeRasa, handoff_on
from tests.support.servers import free_port

NORA = "nora.silva53@example.com"
DAY = 86_400
DELAYED = {
    "reason": "order_delayed",
    "summary": "Verified order HG-10029 is delayed; the customer accepted a person.",
    "intents": [],
    "slots": {"order_number": "HG-10029", "order_verified": True, "order_state": "delayed"},
}
# Another shop than the default MAIL_FROM's, so its name in an email comes from MAIL_FROM.
SHOP_FROM = "Lumen & Co <help@lumen.example>"
LINK = re.compile(r"(http://\S+/rate/(\S+))")


@dataclass
class Mailbox:
    """An SMTP server standing for the mail provider: it keeps what it is given."""

    taken: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.taken.append(email.message_from_bytes(bytes(envelope.content or b"")))
        self.arrived.set()
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def delayed_chat(
    client: TestClient, accounts: Accounts, rasa: FakeRasa, agent_name: str = "ann"
) -> tuple[Any, Any, dict[str, Any], str]:
    """A customer who proved HG-10029 (delayed) and took the offer of a person, claimed by an
    agent: (agent socket, customer socket, agent's session, conversation)."""
    rasa.replies = handoff_on("person", DELAYED)
    agent, session = await agent_online(client, accounts, agent_name)
    customer, welcome = await open_chat(client)
    await customer.send_json({"type": "message", "id": "m1", "text": "a person please"})
    await frames_until(customer, lambda f: f.get("state") == "queued")
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    return agent, customer, session, cid


async def close_chat(agent: Any, cid: str, **extra: Any) -> None:
    await agent.send_json({"type": "close", "conversation": cid, **extra})
    await frames_until(agent, lambda f: f["type"] == "closed")


async def mails(client: TestClient, kind: str) -> list[dict[str, str]]:
    """The outbox's mails of a kind (handoff/email/outbox.py), however they were delivered."""
    redis = app_state(client.server.app).redis
    found = []
    async for key in redis.scan_iter(match=KEYS.mail("*")):
        mail = await redis.hgetall(key)
        if mail.get("kind") == kind:
            found.append(mail)
    return found


def url(cid: str) -> str:
    return f"/api/conversations/{cid}/follow-up"


async def make_due(client: TestClient, cid: str) -> str:
    """Bring the conversation's follow-up's due time to now; its id."""
    redis = app_state(client.server.app).redis
    fid = str(await redis.hget(KEYS.conversation(cid), "follow_up"))
    await redis.zadd(KEYS.follow_ups_due, {fid: 0})
    return fid


# --- scheduling ------------------------------------------------------------------------------


async def test_an_agent_schedules_a_follow_up_moves_and_cancels_it(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    _agent, customer, session, cid = await delayed_chat(client, accounts, rasa[0])
    headers = session["headers"]
    assert (await (await client.get(url(cid), headers=headers)).json()) == {
        "follow_up": None,
        "max_days": 28,
    }
    # Without the CSRF header, or with days out of range, nothing is scheduled.
    no_csrf = {k: v for k, v in headers.items() if k != "X-CSRF-Token"}
    assert (await client.post(url(cid), json={"days": 2}, headers=no_csrf)).status == 403
    for bad in (0, 29, 2.5, "2", True):
        answer = await client.post(url(cid), json={"days": bad}, headers=headers)
        assert answer.status == 400, bad
    before = int(time.time() * 1000)
    answer = await client.post(url(cid), json={"days": 2}, headers=headers)
    assert answer.status == 200
    scheduled = (await answer.json())["follow_up"]
    assert scheduled["state"] == "scheduled" and scheduled["by"] == "ann"
    assert abs(scheduled["due_at"] - (before + 2 * 86_400_000)) < 60_000
    # The customer and the agent are told in the chat.
    told = (await frames_until(customer, lambda f: f.get("event") == "follow_up_scheduled"))[-1]
    assert told["text"].startswith("We'll email you on ")
    # Scheduling again moves it: one follow-up is due, the first is cancelled.
    moved = await (await client.post(url(cid), json={"days": 5}, headers=headers)).json()
    assert moved["follow_up"]["id"] != scheduled["id"]
    redis = accounts.redis
    assert await redis.zrange(KEYS.follow_ups_due, 0, -1) == [moved["follow_up"]["id"]]
    assert await redis.hget(KEYS.follow_up(scheduled["id"]), "state") == "cancelled"
    shown = await (await client.get(url(cid), headers=headers)).json()
    assert shown["follow_up"]["id"] == moved["follow_up"]["id"] and shown["follow_up"]["days"] == 5
    # Cancelled: nothing due, and a second cancel says there is nothing to cancel.
    assert (await client.delete(url(cid), headers=headers)).status == 200
    assert await redis.zcard(KEYS.follow_ups_due) == 0
    assert (await client.delete(url(cid), headers=headers)).status == 404
    # Another agent may not schedule in a chat that is not theirs.
    _, other = await agent_online(client, accounts, "bo")
    assert (await client.post(url(cid), json={}, headers=other["headers"])).status == 403


async def test_days_past_what_a_closed_chat_is_kept_are_refused_naming_the_limit(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    # Closed chats kept five days here (and an hour): a follow-up in six would find none.
    client = await make_client(closed_conversation_ttl=5 * DAY + 3600)
    agent, _customer, session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)  # the delayed order's own follow-up, in 3 days, is scheduled
    headers = session["headers"]
    shown = await (await client.get(url(cid), headers=headers)).json()
    assert shown["max_days"] == 5 and shown["follow_up"]["state"] == "scheduled"
    refused = await client.post(url(cid), json={"days": 6}, headers=headers)
    assert refused.status == 400
    message = (await refused.json())["message"]
    assert "from 1 to 5" in message and "closed chats are kept 5 days" in message
    # Refused, it changed nothing: the one scheduled is still the one due.
    due = await accounts.redis.zrange(KEYS.follow_ups_due, 0, -1)
    assert due == [shown["follow_up"]["id"]]
    taken = await client.post(url(cid), json={"days": 5}, headers=headers)
    assert taken.status == 200 and (await taken.json())["max_days"] == 5
    assert (await taken.json())["follow_up"]["days"] == 5


async def test_the_chat_is_kept_until_its_follow_up_is_due(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    # Closed chats kept exactly five days: one followed up in five is still there when due.
    client = await make_client(closed_conversation_ttl=5 * DAY, resume_token_ttl=3600)
    agent, _customer, session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    answer = await client.post(url(cid), json={"days": 5}, headers=session["headers"])
    assert answer.status == 200
    due_in = ((await answer.json())["follow_up"]["due_at"] - time.time() * 1000) / 1000
    assert await accounts.redis.ttl(KEYS.conversation(cid)) > due_in + FOLLOW_UP_LEASE - 5
    # A chat with the assistant (kept an hour) that knows the customer's address, too.
    state = app_state(client.server.app)
    short = await state.store.create("support", lifetime=3600, max_entries=100)
    await state.store.set_fields(short, {"customer_email": NORA})
    await schedule(state, short, days=2.0, by="ann")
    assert await accounts.redis.ttl(KEYS.log(short)) > 2 * DAY


async def test_no_customer_email_is_refused_clearly(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, session = await agent_online(client, accounts, "cy")
    _customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    answer = await client.post(url(cid), json={"days": 3}, headers=session["headers"])
    assert answer.status == 400
    body = await answer.json()
    assert body["error"] == "no_email" and "no email address" in body["message"]
    assert await accounts.redis.zcard(KEYS.follow_ups_due) == 0
    # Closed with the transcript asked for: closed all the same, nothing queued.
    await close_chat(agent, cid, email_transcript=True)
    assert await mails(client, "transcript") == []
    assert await accounts.redis.hget(KEYS.conversation(cid), "state") == "closed"


async def test_a_delayed_order_chat_gets_its_follow_up_and_transcript_at_close(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client(follow_up_days=4.0, mail_from=SHOP_FROM)
    agent, customer, session, cid = await delayed_chat(client, accounts, rasa[0])
    await agent.send_json({"type": "message", "conversation": cid, "id": "a1", "text": "Sorry!"})
    await frames_until(customer, lambda f: f.get("text") == "Sorry!")
    await close_chat(agent, cid, notes="late parcel", email_transcript=True)
    frames = await frames_until(customer, lambda f: f.get("event") == "follow_up_scheduled")
    assert any(f.get("event") == "transcript_emailed" for f in frames)
    shown = (await (await client.get(url(cid), headers=session["headers"])).json())["follow_up"]
    assert shown["state"] == "scheduled" and shown["by"] == "rule:order_delayed"
    assert abs(shown["due_at"] - (time.time() * 1000 + 4 * 86_400_000)) < 60_000
    (transcript,) = await mails(client, "transcript")
    assert transcript["to"] == NORA and transcript["conversation"] == cid
    assert "You: a person please" in transcript["body"] and "Ann: Sorry!" in transcript["body"]
    # The shop's name is MAIL_FROM's, whatever the shop.
    assert transcript["subject"] == "Your chat with Lumen & Co"
    assert "your chat with Lumen & Co, as you asked" in transcript["body"]
    assert "Harbor" not in transcript["subject"] + transcript["body"]


async def test_other_chats_get_no_follow_up_at_close(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, _ = await agent_online(client, accounts, "di")
    _customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    # The customer is known by email (as after a left message), but the chat was not about a
    # delayed order, and the transcript was not asked for.
    await accounts.redis.hset(KEYS.conversation(cid), "customer_email", "kim@example.com")
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await close_chat(agent, cid)
    assert await accounts.redis.zcard(KEYS.follow_ups_due) == 0
    assert await mails(client, "transcript") == []


# --- sending ---------------------------------------------------------------------------------


async def test_a_due_follow_up_is_queued_once_by_two_instances(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    first = await make_client(mail_from=SHOP_FROM)
    second = await make_client(mail_from=SHOP_FROM)
    agent, customer, _session, cid = await delayed_chat(first, accounts, rasa[0])
    await close_chat(agent, cid)
    fid = await make_due(first, cid)
    states = [app_state(first.server.app), app_state(second.server.app)]
    # Both replicas' sweepers (and both once more) at the same moment.
    sent = await asyncio.gather(*(send_due(s) for s in states + states))
    assert sum(sent) == 1
    (mail,) = await mails(first, "follow_up")
    assert mail["to"] == NORA and mail["subject"] == "Was your question to Lumen & Co resolved?"
    assert "you chatted with Lumen & Co." in mail["body"] and "Harbor" not in mail["body"]
    links = LINK.findall(mail["body"])
    assert [token.split(".")[1] for _, token in links] == ["1", "2", "3", "4", "5"]
    assert all(token.startswith(f"{fid}.") for _, token in links)
    assert "Hello Nora," in mail["body"]
    stored = await accounts.redis.hgetall(KEYS.follow_up(fid))
    assert stored["state"] == "sent" and stored["mail_id"]
    assert await accounts.redis.zcard(KEYS.follow_ups_due) == 0
    # Later rounds send nothing more.
    assert await send_due(states[0]) == 0 and await send_due(states[1]) == 0
    assert len(await mails(first, "follow_up")) == 1
    await frames_until(customer, lambda f: f.get("event") == "follow_up_sent")


async def test_a_follow_up_whose_address_is_gone_is_skipped(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    agent, _, _session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    fid = await make_due(client, cid)
    await accounts.redis.hdel(KEYS.conversation(cid), "customer_email")
    assert await send_due(app_state(client.server.app)) == 0
    assert await accounts.redis.hget(KEYS.follow_up(fid), "state") == "skipped"
    assert await accounts.redis.zcard(KEYS.follow_ups_due) == 0
    assert await mails(client, "follow_up") == []
    shown = (await (await client.get(url(cid), headers=_session["headers"])).json())["follow_up"]
    assert shown["state"] == "skipped" and shown["skipped"] == "no_email"


async def test_a_follow_up_whose_chat_is_gone_says_so_not_that_there_was_no_address(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    agent, _, _session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    fid = await make_due(client, cid)
    # The conversation expired or was erased before the follow-up was due.
    await accounts.redis.delete(KEYS.conversation(cid), KEYS.log(cid), KEYS.seen(cid))
    assert await send_due(app_state(client.server.app)) == 0
    skipped = await accounts.redis.hgetall(KEYS.follow_up(fid))
    assert (skipped["state"], skipped["skipped"]) == ("skipped", "chat_gone")
    assert await accounts.redis.zcard(KEYS.follow_ups_due) == 0
    assert await mails(client, "follow_up") == []


# --- the rating links ------------------------------------------------------------------------


async def test_the_rating_link_lands_in_the_chat_and_csat_and_the_latest_click_counts(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    agent, _, session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    await make_due(client, cid)
    assert await send_due(app_state(client.server.app)) == 1
    (mail,) = await mails(client, "follow_up")
    links = {token.split(".")[1]: token for _, token in LINK.findall(mail["body"])}
    # The agent who closed the chat has it open and sees the answer arrive.
    await agent.send_json({"type": "open", "conversation": cid})
    page = await client.get(f"/rate/{links['4']}")
    assert page.status == 200 and page.content_type == "text/html"
    text = await page.text()
    assert "mostly resolved (4 of 5)" in text and "<script" not in text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    event = (await frames_until(agent, lambda f: f.get("event") == "follow_up_rated"))[-1]
    assert event["text"] == "Follow-up email: the customer rated 4 of 5 (mostly resolved)."
    stored = await accounts.redis.hgetall(KEYS.conversation(cid))
    assert stored["follow_up_rating"] == "4"
    stats = await (await client.get("/api/stats", headers=session["headers"])).json()
    assert (stats["ratings"], stats["csat"], stats["csat_average"]) == (1, 1.0, 4)
    shown = (await (await client.get(url(cid), headers=session["headers"])).json())["follow_up"]
    assert shown["state"] == "rated" and shown["rating"] == 4
    # A mis-click put right: still one rating, now a 2, not satisfied.
    assert (await client.get(f"/rate/{links['2']}")).status == 200
    event = (await frames_until(agent, lambda f: f.get("event") == "follow_up_rated"))[-1]
    assert "changed their answer to 2 of 5" in event["text"]
    stats = await (await client.get("/api/stats", headers=session["headers"])).json()
    assert (stats["ratings"], stats["csat"], stats["csat_average"]) == (1, 0.0, 2)
    # The same answer again (or a scanner's HEAD) changes nothing and tells nobody.
    assert (await client.get(f"/rate/{links['2']}")).status == 200
    assert (await client.head(f"/rate/{links['5']}")).status == 200
    entries = await app_state(client.server.app).store.read_all(cid)
    assert sum(e.fields.get("event") == "follow_up_rated" for e in entries) == 2
    assert await accounts.redis.hget(KEYS.conversation(cid), "follow_up_rating") == "2"


async def test_forged_foreign_and_expired_links_are_refused_alike(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    agent, _, session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    fid = await make_due(client, cid)
    assert await send_due(app_state(client.server.app)) == 1
    good = rating_token(SECRET, fid, 5)
    signature = good.split(".")[2]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    refused = [
        f"{fid}.5.{flipped}",  # forged signature
        f"{fid}.4.{signature}",  # another score's signature
        rating_token("another-secret", fid, 5),  # signed with another key
        rating_token(SECRET, "0" * 32, 5),  # a follow-up that does not exist
        "not-a-token",
        good + "x",
    ]
    pages = [await client.get(f"/rate/{token}") for token in refused]
    bodies = {await p.text() for p in pages}
    assert [p.status for p in pages] == [404] * len(refused)
    assert len(bodies) == 1 and fid not in bodies.pop()
    # Expired: past its 30 days the genuine link is refused the same way.
    await accounts.redis.hset(KEYS.follow_up(fid), "rate_until", 1)
    expired = await client.get(f"/rate/{good}")
    assert expired.status == 404 and await expired.text() == await pages[0].text()
    assert await accounts.redis.hget(KEYS.conversation(cid), "follow_up_rating") is None
    stats = await (await client.get("/api/stats", headers=session["headers"])).json()
    assert stats["ratings"] == 0
    # A follow-up not sent yet cannot be answered either.
    fresh = await (await client.post(url(cid), json={"days": 1}, headers=session["headers"])).json()
    early = await client.get(f"/rate/{rating_token(SECRET, fresh['follow_up']['id'], 5)}")
    assert early.status == 404


# --- over SMTP -------------------------------------------------------------------------------


async def test_the_follow_up_reaches_the_customer_by_smtp_and_its_link_answers(
    make_client: AppFactory,
    accounts: Accounts,
    rasa: tuple[FakeRasa, str],
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    client = await make_client(smtp_url=f"smtp://127.0.0.1:{port}")
    agent, _, _session, cid = await delayed_chat(client, accounts, rasa[0])
    await close_chat(agent, cid)
    await make_due(client, cid)
    # The service's own sweeper sends it (every 2 s), and its mail sender delivers it.
    await asyncio.wait_for(box.arrived.wait(), timeout=15)
    (message,) = box.taken
    assert message["To"] == NORA
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    links = dict((token.split(".")[1], path) for path, token in LINK.findall(body.decode()))
    assert len(links) == 5
    path = links["5"].split("/rate/", 1)[1]
    assert (await client.get(f"/rate/{path}")).status == 200
    assert await accounts.redis.hget(KEYS.conversation(cid), "follow_up_rating") == "5"
