"""A returning customer's order news, told before they ask (handoff/gateway/proactive.py).

Real Redis, a real order store (SQLite seeded from orders/orders.csv: HG-10029 is delayed with a
new estimate of November 26, 2026; HG-10036 was delivered), a server that accepts and never
answers for an order store that hangs, and the scripted Rasa peer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.assistant.turns import OFFER_BUTTONS, TAKE_OFFER
from handoff.console.accounts import Accounts
from handoff.gateway.proactive import TOLD_FIELD, order_news
from handoff.state import app_state
from orders.store import Order
from tests.app.agents import KEYS, agent_online
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until
from tests.support.fake_rasa import FakeRasa, handoff_on, verifies_on

DELAYED = {
    "reason": "order_delayed",
    "summary": "Verified order HG-10029 is delayed; the customer accepted a person.",
    "intents": [],
    "slots": {"order_number": "HG-10029", "order_verified": True, "order_state": "delayed"},
}


def is_notice(frame: dict[str, Any]) -> bool:
    return (
        frame.get("type") == "event"
        and isinstance(frame.get("data"), dict)
        and bool(frame["data"].get("proactive"))
    )


async def notices_in(client: TestClient, cid: str) -> list[Any]:
    """The order news entries in the stored transcript."""
    entries = await app_state(client.server.app).store.read_all(cid)
    return [e for e in entries if (e.json_field("data") or {}).get("proactive")]


async def sockets_done(client: TestClient) -> None:
    """Wait until the service has finished serving every customer socket (its order news
    included: a socket's handler waits for it before it ends)."""
    state = app_state(client.server.app)
    deadline = time.monotonic() + 10
    while state.customer_sockets:
        assert time.monotonic() < deadline, "customer sockets still served"
        await asyncio.sleep(0.02)


async def bot_chat_with(client: TestClient, order: str) -> tuple[str, str, str]:
    """A chat back with the assistant whose customer proved `order` earlier (as escalation
    records it); (conversation, token, last entry id)."""
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "hi"})
    echo = (await frames_until(ws, lambda f: f.get("text") == "echo: hi"))[-1]
    cid = welcome["conversation"]
    redis = app_state(client.server.app).redis
    await redis.hset(KEYS.conversation(cid), "verified_order", order)
    await ws.close()
    return cid, welcome["token"], echo["id"]


def order(state: str, estimate: dt.date | None, delivered: dt.date | None = None) -> Order:
    return Order(
        order_number="HG-10999",
        email="a@example.com",
        postal_code="12345",
        customer_name="A B",
        state=state,
        placed_at=dt.date(2026, 11, 1),
        carrier="UPS",
        tracking_number="UP1",
        estimated_delivery=estimate,
        delivered_at=delivered,
        items="1 x Mug",
        total_cents=100,
        refund_status=None,
    )


def test_what_counts_as_news() -> None:
    today = dt.date(2026, 12, 6)
    delayed = order_news(order("delayed", dt.date(2026, 12, 9)), today)
    assert delayed and delayed.kind == "delayed"
    assert "HG-10999 is delayed" in delayed.text and "December 9, 2026" in delayed.text
    unknown = order_news(order("delayed", None), today)
    assert unknown and "don't have a new delivery estimate" in unknown.text
    lost = order_news(order("lost", dt.date(2026, 12, 9)), today)
    assert lost and lost.kind == "exception" and "lost" in lost.text
    late = order_news(order("shipped", dt.date(2026, 12, 1)), today)
    assert late and late.kind == "exception" and "expected by December 1, 2026" in late.text
    # On its way and not late, delivered, or what the customer did themselves: no news.
    assert order_news(order("shipped", dt.date(2026, 12, 6)), today) is None
    assert order_news(order("delivered", dt.date(2026, 12, 1), dt.date(2026, 12, 1)), today) is None
    for quiet in ("placed", "processing", "cancelled", "returned"):
        assert order_news(order(quiet, dt.date(2026, 11, 1)), today) is None


async def test_a_returning_customer_with_a_delayed_order_is_told_once_with_the_offer(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    rasa[0].replies = handoff_on("person", DELAYED)
    client = await make_client()
    await agent_online(client, accounts, "ola")
    # The customer proves HG-10029 to the assistant and is handed over, then leaves the queue.
    ws, welcome = await open_chat(client)
    cid, token = welcome["conversation"], welcome["token"]
    await ws.send_json({"type": "message", "id": "m1", "text": "a person please"})
    await frames_until(ws, lambda f: f.get("state") == "queued")
    stored = await accounts.redis.hgetall(KEYS.conversation(cid))
    assert stored["verified_order"] == "HG-10029"
    await ws.send_json({"type": "cancel_queue"})
    frames = await frames_until(ws, lambda f: f.get("state") == "bot")
    assert not any(is_notice(f) for f in frames)
    await ws.close()
    last_seen = [f["id"] for f in frames if f.get("type") == "event"][-1]

    # Back on the shop: the chat opens with the news and the offer of a person.
    again, resumed = await open_chat(client, token, last_seen)
    assert resumed["type"] == "welcome" and resumed["state"] == "bot"
    notice = (await frames_until(again, is_notice))[-1]
    assert notice["from"] == "bot" and notice["kind"] == "message"
    assert notice["data"] == {"proactive": "delayed", "order": "HG-10029"}
    assert "HG-10029 is delayed" in notice["text"] and "November 26, 2026" in notice["text"]
    assert notice["buttons"] == OFFER_BUTTONS
    await again.close()

    # Back twice more, once with two tabs at once: not told again.
    third, resumed = await open_chat(client, resumed["token"], notice["id"])
    fourth, _ = await open_chat(client, resumed["token"], notice["id"])
    await third.close()
    await fourth.close()
    await sockets_done(client)
    assert len(await notices_in(client, cid)) == 1
    assert (await accounts.redis.hget(KEYS.conversation(cid), TOLD_FIELD)) == "HG-10029:delayed"

    # The offer's button asks for a person, as it does wherever the assistant offers one.
    fifth, resumed = await open_chat(client, resumed["token"], notice["id"])
    await fifth.send_json({"type": "message", "id": "m2", "text": TAKE_OFFER})
    await frames_until(fifth, lambda f: f.get("state") == "queued")


async def test_a_customer_the_assistant_verified_without_a_person_is_told_when_back(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    rasa[0].replies = verifies_on("hg-10029", "HG-10029", "Your order HG-10029 is delayed.")
    client = await make_client()  # nobody online: the chat never reaches a person
    # The customer proves HG-10029 to the assistant, reads its answer and goes on with it.
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "HG-10029, postcode 93936"})
    await ws.send_json({"type": "message", "id": "m2", "text": "ok"})
    # The second answer comes after the first turn, the recording of the customer included.
    frames = await frames_until(ws, lambda f: f.get("text") == "echo: ok")
    assert not any(is_notice(f) for f in frames)
    await ws.close()
    cid = welcome["conversation"]
    assert (await app_state(client.server.app).store.get(cid) or {}).get("state") == "bot"

    again, resumed = await open_chat(client, welcome["token"], frames[-1]["id"])
    assert resumed["type"] == "welcome" and resumed["state"] == "bot"
    notice = (await frames_until(again, is_notice))[-1]
    assert notice["data"] == {"proactive": "delayed", "order": "HG-10029"}
    assert "HG-10029 is delayed" in notice["text"] and notice["buttons"] == OFFER_BUTTONS
    await again.close()
    await sockets_done(client)
    assert len(await notices_in(client, cid)) == 1


async def test_two_tabs_coming_back_at_once_are_told_once(make_client: AppFactory) -> None:
    client = await make_client()
    cid, token, last = await bot_chat_with(client, "HG-10029")
    (one, _), (two, _) = await asyncio.gather(
        open_chat(client, token, last), open_chat(client, token, last)
    )
    # Both tabs show the one notice (each socket replays the conversation's new entries).
    await frames_until(one, is_notice)
    await frames_until(two, is_notice)
    await one.close()
    await two.close()
    await sockets_done(client)
    assert len(await notices_in(client, cid)) == 1


async def test_an_order_store_that_hangs_costs_the_notice_never_the_hello(
    make_client: AppFactory, silent_server: int
) -> None:
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/orders",
        orders_timeout=1.5,
    )
    cid, token, last = await bot_chat_with(client, "HG-10029")
    started = time.monotonic()
    ws, welcome = await open_chat(client, token, last)
    assert welcome["type"] == "welcome" and time.monotonic() - started < 1.0
    # The chat goes on while the store does not answer.
    await ws.send_json({"type": "message", "id": "m2", "text": "hello again"})
    frames = await frames_until(ws, lambda f: f.get("text") == "echo: hello again")
    assert time.monotonic() - started < 1.5 and not any(is_notice(f) for f in frames)
    await ws.close()
    await sockets_done(client)
    assert await notices_in(client, cid) == []
    stored = await app_state(client.server.app).redis.hget(KEYS.conversation(cid), TOLD_FIELD)
    assert stored is None  # nothing marked told: the next visit, with the store back, tells it


async def test_an_order_store_that_is_down_costs_the_notice_never_the_hello(
    make_client: AppFactory, closed_port: int
) -> None:
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders"
    )
    cid, token, last = await bot_chat_with(client, "HG-10029")
    ws, welcome = await open_chat(client, token, last)
    assert welcome["type"] == "welcome"
    await ws.send_json({"type": "message", "id": "m2", "text": "still there?"})
    await frames_until(ws, lambda f: f.get("text") == "echo: still there?")
    await ws.close()
    await sockets_done(client)
    assert await notices_in(client, cid) == []


async def test_no_news_without_a_verified_order_or_with_nothing_wrong(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    # A customer who proved nothing.
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "hi"})
    frames = await frames_until(ws, lambda f: f.get("text") == "echo: hi")
    await ws.close()
    plain = welcome["conversation"]
    again, _ = await open_chat(client, welcome["token"], frames[-1]["id"])
    await again.close()
    # A customer whose order was delivered.
    delivered, token, last = await bot_chat_with(client, "HG-10036")
    third, _ = await open_chat(client, token, last)
    await third.close()
    await sockets_done(client)
    assert await notices_in(client, plain) == []
    assert await notices_in(client, delivered) == []


async def test_no_news_in_a_chat_with_a_person(
    make_client: AppFactory, accounts: Accounts, rasa: tuple[FakeRasa, str]
) -> None:
    rasa[0].replies = handoff_on("person", DELAYED)
    client = await make_client()
    await agent_online(client, accounts, "pia")
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "a person please"})
    frames = await frames_until(ws, lambda f: f.get("state") == "queued")
    await ws.close()
    again, _ = await open_chat(client, welcome["token"], frames[-1]["id"])
    await again.close()
    await sockets_done(client)
    assert await notices_in(client, welcome["conversation"]) == []
