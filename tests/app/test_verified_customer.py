"""A customer who proves an order to the assistant is known to the service from that moment, in a
chat the assistant answers on its own (handoff/assistant/reply.py, turns.py, queue/context.py).

Real Redis, the real order store (SQLite seeded from orders/orders.csv: HG-10029 is Nora Silva's,
nora.silva53@example.com), an order store that is down or hangs, and the scripted Rasa peer
sending the verified-order notice as actions/order_status.py does.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.state import app_state
from tests.app.agents import KEYS, agent_online
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until
from tests.support.fake_rasa import FakeRasa, handoff_on, verifies_on

ANSWER = "Your order HG-10029 is delayed; the new estimated delivery date is November 26."
IDENTITY = ("verified_order", "customer_email", "customer_name")


def bot_messages(frames: list[dict[str, Any]]) -> list[str]:
    """What the assistant said to the customer, as their widget shows it."""
    return [
        f["text"]
        for f in frames
        if f.get("type") == "event" and f.get("kind") == "message" and f.get("from") == "bot"
    ]


async def verified_chat(client: TestClient) -> tuple[Any, str, list[dict[str, Any]]]:
    """A customer proves HG-10029 to the assistant and then writes once more; (socket,
    conversation, every frame up to the answer to the second message). That answer comes after
    the first turn has finished, recording included: the positive barrier."""
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "HG-10029, postcode 93936"})
    await ws.send_json({"type": "message", "id": "m2", "text": "thanks"})
    frames = await frames_until(ws, lambda f: f.get("text") == "echo: thanks")
    return ws, welcome["conversation"], frames


async def identity(client: TestClient, cid: str) -> dict[str, str | None]:
    redis = app_state(client.server.app).redis
    values = await redis.hmget(KEYS.conversation(cid), list(IDENTITY))
    return dict(zip(IDENTITY, values, strict=True))


async def test_a_contained_chat_knows_its_verified_customer_and_never_shows_the_notice(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    rasa[0].replies = verifies_on("hg-10029", "HG-10029", ANSWER)
    client = await make_client()  # nobody online: the chat never reaches a person
    ws, cid, frames = await verified_chat(client)
    await ws.close()
    assert await identity(client, cid) == {
        "verified_order": "HG-10029",
        "customer_email": "nora.silva53@example.com",
        "customer_name": "Nora Silva",
    }
    state = app_state(client.server.app)
    assert (await state.store.get(cid) or {}).get("state") == "bot"
    # The customer saw the answer, and nothing of the notice, live or in the transcript.
    assert bot_messages(frames) == [ANSWER, "echo: thanks"]
    assert "verified_order" not in json.dumps(frames)
    stored = [e.text for e in await state.store.read_all(cid) if e.sender == "bot"]
    assert stored == [ANSWER, "echo: thanks"]


async def test_an_order_store_that_is_down_costs_the_name_never_the_answer(
    make_client: AppFactory, rasa: tuple[FakeRasa, str], closed_port: int
) -> None:
    rasa[0].replies = verifies_on("hg-10029", "HG-10029", ANSWER)
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders"
    )
    ws, cid, frames = await verified_chat(client)
    await ws.close()
    assert ANSWER in [f.get("text") for f in frames]
    # The proof stands (the proactive notice and the archive's order search use it); the name
    # and email wait for an escalation or the next verification.
    assert await identity(client, cid) == {
        "verified_order": "HG-10029",
        "customer_email": None,
        "customer_name": None,
    }


async def test_an_order_store_that_hangs_holds_the_chat_no_longer_than_the_bound(
    make_client: AppFactory, rasa: tuple[FakeRasa, str], silent_server: int
) -> None:
    rasa[0].replies = verifies_on("hg-10029", "HG-10029", ANSWER)
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/orders",
        orders_timeout=10.0,
    )
    started = time.monotonic()
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "m1", "text": "HG-10029, postcode 93936"})
    await frames_until(ws, lambda f: f.get("text") == ANSWER)
    # The answer does not wait for the store at all.
    assert time.monotonic() - started < 1.0
    await ws.send_json({"type": "message", "id": "m2", "text": "thanks"})
    await frames_until(ws, lambda f: f.get("text") == "echo: thanks", timeout=8)
    # The next message waited for the lookup's 1.5 s bound, not the store's 10 s timeout.
    assert time.monotonic() - started < 4.0
    await ws.close()
    assert (await identity(client, welcome["conversation"]))["verified_order"] == "HG-10029"


async def test_a_notice_that_names_no_order_recognises_nobody_and_is_not_shown(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    def replies(sender: str, text: str) -> list[dict[str, Any]]:
        if "hg-10029" in text.lower():
            return [
                {"recipient_id": sender, "text": ANSWER},
                {"recipient_id": sender, "custom": {"verified_order": {"order_number": "10029"}}},
                {"recipient_id": sender, "custom": {"verified_order": "nora.silva53@example.com"}},
            ]
        return [{"recipient_id": sender, "text": f"echo: {text}"}]

    rasa[0].replies = replies
    client = await make_client()
    ws, cid, frames = await verified_chat(client)
    await ws.close()
    assert bot_messages(frames) == [ANSWER, "echo: thanks"]
    assert "nora" not in json.dumps(frames)
    assert await identity(client, cid) == dict.fromkeys(IDENTITY)


async def test_escalation_later_keeps_the_customer_named(
    make_client: AppFactory, rasa: tuple[FakeRasa, str], accounts: Any
) -> None:
    verify = verifies_on("hg-10029", "HG-10029", ANSWER)
    person = handoff_on("person")  # its payload names no order: the tracker has none either

    def replies(sender: str, text: str) -> Any:
        return person(sender, text) if "person" in text else verify(sender, text)

    rasa[0].replies = replies
    client = await make_client()
    await agent_online(client, accounts, "ola")
    ws, cid, _ = await verified_chat(client)
    await ws.send_json({"type": "message", "id": "m3", "text": "a person please"})
    await frames_until(ws, lambda f: f.get("state") == "queued")
    await ws.close()
    assert await identity(client, cid) == {
        "verified_order": "HG-10029",
        "customer_email": "nora.silva53@example.com",
        "customer_name": "Nora Silva",
    }
