"""A ticket stays answerable "within one business day" where chats with the assistant are kept
only a few hours (RESUME_TOKEN_TTL_SECONDS): opening one keeps its conversation at least as long
as a closed chat (handoff/queue/tickets.py, lua/resume.lua). Real Redis; seconds stand for hours.
"""

from __future__ import annotations

from email.message import EmailMessage
from functools import partial
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.console.accounts import Accounts
from handoff.email.inbound import receive
from handoff.state import AppState, app_state
from tests.app.agents import agent_online
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support import polling
from tests.support.clients import frames_until
from tests.support.fake_rasa import FakeRasa

RESUME_SECONDS = 2  # "4 hours": how long a chat with the assistant is kept
CLOSED_SECONDS = 3600  # "30 days": how long a closed chat, and now a ticket's, is kept
CUSTOMER = "kit@example.com"
DOMAIN = "reply.test"

until = partial(polling.until, seconds=10.0)


async def short_lived(make_client: AppFactory, **more: Any) -> TestClient:
    return await make_client(
        resume_token_ttl=RESUME_SECONDS, closed_conversation_ttl=CLOSED_SECONDS, **more
    )


def held(state: AppState, cid: str) -> list[str]:
    return [state.keys.conversation(cid), state.keys.log(cid), state.keys.seen(cid)]


async def least_ttl(state: AppState, cid: str) -> int:
    """The shortest time left (s) of the keys the conversation lives in (its hash and
    transcript at least; the client message ids once there is one)."""
    left = [int(await state.redis.ttl(key)) for key in held(state, cid)]
    assert min(left[:2]) != -2, "the conversation is gone"
    return min(seconds for seconds in left if seconds != -2)


async def left_a_message(client: TestClient) -> tuple[str, str]:
    """A customer who asked for a person when nobody was online and left a message, then closed
    the tab: (conversation, their resume token)."""
    customer, welcome = await open_chat(client)
    await customer.send_json({"type": "message", "id": "h", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("event") == "offer_leave_message")
    await customer.send_json({"type": "leave_message", "email": CUSTOMER, "text": "Call me"})
    await frames_until(customer, lambda f: f.get("event") == "ticket_created")
    await customer.close()
    return welcome["conversation"], welcome["token"]


async def chat_without_ticket(client: TestClient) -> str:
    customer, welcome = await open_chat(client)
    await customer.send_json({"type": "message", "id": "q", "text": "do you ship to Canada?"})
    await frames_until(customer, lambda f: f.get("from") == "bot")
    await customer.close()
    return str(welcome["conversation"])


async def test_a_ticket_left_in_the_evening_is_answered_the_next_morning(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await short_lived(make_client)
    state = app_state(client.server.app)
    cid, token = await left_a_message(client)
    assert await least_ttl(state, cid) > CLOSED_SECONDS - 60
    # The customer comes back to the shop (a reload resumes with a token of the short
    # lifetime): the ticket's conversation is not shortened by it.
    customer, welcome = await open_chat(client, token=token)
    assert welcome["conversation"] == cid
    await customer.close()
    assert await least_ttl(state, cid) > CLOSED_SECONDS - 60
    assert await state.redis.hget(state.keys.conversation(cid), "lifetime") == str(CLOSED_SECONDS)

    # A chat with no ticket, started after it, expires as before: the night has passed for
    # the ticket's conversation too.
    other = await chat_without_ticket(client)
    assert 0 < await least_ttl(state, other) <= RESUME_SECONDS
    await until(lambda: _gone(state, other))
    assert await state.store.state_of(cid) == "bot"

    # The next morning an agent takes the ticket and answers it.
    agent, session = await agent_online(client, accounts, "ray")
    (ticket_id, _), *_ = await state.redis.xrange(state.keys.tickets)
    taken = await client.post(f"/api/tickets/{ticket_id}/take", headers=session["headers"])
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["conversation"] == cid
    await agent.send_json({"type": "open", "conversation": cid})
    await agent.send_json(
        {"type": "message", "conversation": cid, "id": "r1", "text": "We'll call you today."}
    )
    await frames_until(agent, lambda f: f["type"] == "ack")
    texts = [entry.text for entry in await state.store.read_all(cid)]
    assert "Call me" in texts and "We'll call you today." in texts


async def _gone(state: AppState, cid: str) -> bool:
    return not any([await state.redis.exists(key) for key in held(state, cid)])


async def test_a_ticket_from_an_email_is_kept_as_long_as_a_closed_chat(
    make_client: AppFactory,
) -> None:
    client = await short_lived(make_client, reply_domain=DOMAIN)
    state = app_state(client.server.app)
    mail = EmailMessage()
    mail["From"] = f"Kit <{CUSTOMER}>"
    mail["To"] = f"help@{DOMAIN}"
    mail["Subject"] = "Order 4410"
    mail["Message-ID"] = "<evening-4410@example.com>"
    mail.set_content("Where is order 4410?")
    assert await receive(state, CUSTOMER, [f"help@{DOMAIN}"], mail.as_bytes()) == "ticket"
    ((_, ticket),) = await state.redis.xrange(state.keys.tickets)
    cid = ticket["conversation"]
    assert await least_ttl(state, cid) > CLOSED_SECONDS - 60
    # Its later writes (the receipt's event, an agent's note) keep it as long.
    await state.store.append(cid, "system", "noted", kind="event")
    assert await least_ttl(state, cid) > CLOSED_SECONDS - 60


async def test_a_ticket_never_shortens_a_conversation_kept_longer(
    make_client: AppFactory,
) -> None:
    client = await short_lived(make_client)
    state = app_state(client.server.app)
    longer = 2 * CLOSED_SECONDS
    cid = await state.store.create("support", lifetime=longer, max_entries=100)
    await state.queue.leave_message(cid, CUSTOMER, "Call me")
    assert await least_ttl(state, cid) > longer - 60
    assert await state.redis.hget(state.keys.conversation(cid), "lifetime") == str(longer)
