"""Email as the conversation's second channel, the whole loop on the real stack that `make run`
starts (launcher, service, the local SMTP catcher standing in for the customer's mail provider,
the service's inbound SMTP server):

a customer leaves a message when nobody is online → an admin takes the ticket and writes in it
→ the message reaches the customer's mailbox (the catcher) by SMTP, threaded and with a signed
reply address → the customer answers that mail by SMTP → the agent's console sees the answer
live in the same conversation → a follow-up email asks whether it was resolved, and the
customer's one-click rating lands in the conversation and in the dashboard's CSAT.

The shared stack runs with EMAIL_AFTER_AWAY_SECONDS=0 (an agent's message to a customer with no
socket goes by email at once, not after two minutes) and FOLLOW_UP_DAYS of a few seconds
(tests/support/stack.py), so the loop fits a test."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from functools import partial
from typing import Any

import aiohttp
import pytest

from tests.support import polling
from tests.support.clients import Agent, login
from tests.support.stack import RunningStack

pytestmark = pytest.mark.e2e

CUSTOMER = "pat.nguyen@example.net"


until = partial(polling.until, seconds=60.0, every=0.5)


async def leave_a_message(stack: RunningStack) -> str:
    """A customer asks for a person with nobody online and leaves a message with their email."""
    async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url) as ws:
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=10)
        await ws.send_json({"type": "message", "id": "m1", "text": "I want to talk to a human"})
        while (await ws.receive_json(timeout=60)).get("event") != "offer_leave_message":
            pass
        await ws.send_json(
            {
                "type": "leave_message",
                "email": CUSTOMER,
                "text": "My lantern arrived without its handle. Can you send one?",
            }
        )
        while (await ws.receive_json(timeout=30)).get("event") != "ticket_created":
            pass
    return str(welcome["conversation"])


def answer_by_smtp(port: int, caught: dict[str, Any], text: str) -> None:
    """The customer's mail client answers the shop's mail: to its Reply-To, threaded."""
    reply = EmailMessage()
    reply["From"] = CUSTOMER
    reply["To"] = caught["reply_to"]
    reply["Subject"] = "Re: " + str(caught["subject"])
    reply["Message-ID"] = make_msgid(domain="example.net")
    reply["In-Reply-To"] = caught["message_id"]
    reply["References"] = caught["message_id"]
    reply.set_content(f"{text}\n\nOn a day before, Harbor Goods wrote:\n> {caught['text'][:80]}\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(reply, from_addr=CUSTOMER, to_addrs=[parseaddr(caught["reply_to"])[1]])


def test_a_ticket_is_answered_by_email_the_reply_comes_back_and_the_follow_up_is_rated(
    stack: RunningStack,
) -> None:
    async def run() -> None:
        cid = await leave_a_message(stack)
        jar = aiohttp.CookieJar(unsafe=True)  # keep the cookie of a bare IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            session = await login(
                http, "admin", stack.admin_password(), base_url=stack.url, keep_cookie=True
            )
            headers = {"X-CSRF-Token": session["csrf"]}

            async def get(path: str) -> Any:
                async with http.get(stack.url + path) as answer:
                    assert answer.status == 200, await answer.text()
                    return await answer.json()

            tickets = (await get("/api/tickets"))["tickets"]
            ticket = next(t for t in tickets if t["conversation"] == cid)
            async with http.post(
                f"{stack.url}/api/tickets/{ticket['id']}/take", headers=headers
            ) as taken:
                assert taken.status == 200, await taken.text()
            agent = Agent(http, "admin", session["sid"])
            await agent.connect(stack.url.replace("http://", "ws://"), online=False)
            try:
                # The chat on the agent's screen: its new entries come live.
                await agent.send({"type": "open", "conversation": cid, "last_seen": None})
                said = await agent.say(cid, "a1", "So sorry! A new handle is in the post today.")
                assert said["type"] == "ack", said

                async def caught_answer() -> dict[str, Any] | None:
                    mails = (await get("/api/mail/caught"))["mails"]
                    return next(
                        (m for m in mails if CUSTOMER in m["to"] and "new handle" in m["text"]),
                        None,
                    )

                caught = await until(caught_answer)
                assert caught["reply_to"].startswith("reply+") and caught["message_id"]
                assert "lantern arrived without its handle" in caught["text"], "the chat so far"

                start = len(agent.log.frames)
                await asyncio.to_thread(
                    answer_by_smtp,
                    stack.ports["INBOUND_SMTP_PORT"],
                    caught,
                    "Thank you, it came and fits.",
                )
                live = await agent.log.wait_for(
                    lambda f: (
                        f.get("conversation") == cid
                        and f.get("from") == "customer"
                        and "it came and fits" in str(f.get("text"))
                    ),
                    timeout=30,
                    start=start,
                )
                assert "wrote:" not in live["text"], "the quoted history is trimmed"

                # -- the follow-up, due FOLLOW_UP_DAYS later, and its one-click rating --
                async with http.post(
                    f"{stack.url}/api/conversations/{cid}/follow-up", json={}, headers=headers
                ) as scheduled:
                    assert scheduled.status == 200, await scheduled.text()

                async def follow_up_mail() -> dict[str, Any] | None:
                    mails = (await get("/api/mail/caught"))["mails"]
                    return next(
                        (m for m in mails if CUSTOMER in m["to"] and "/rate/" in m["text"]), None
                    )

                follow_up = await until(follow_up_mail)
                # One line per answer: "  5 - Yes, all sorted: http://…/rate/<token>".
                links = {
                    line.split(" - ", 1)[0].strip(): line.split()[-1]
                    for line in follow_up["text"].splitlines()
                    if "/rate/" in line
                }
                assert sorted(links) == ["1", "2", "3", "4", "5"], follow_up["text"]
                top = links["5"]
                async with aiohttp.ClientSession() as browser, browser.get(top) as page:
                    assert page.status == 200, await page.text()
                conversation = await get(f"/api/conversations/{cid}")
                assert conversation["fields"].get("follow_up_rating") == "5"
                stats = await get("/api/stats?days=1")
                assert stats["ratings"] >= 1 and stats["csat"] is not None, stats
            finally:
                await agent.drop()

    asyncio.run(run())
