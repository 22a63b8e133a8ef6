"""The console's order panel API (handoff/console/orders.py): real Redis, a real order store
(SQLite seeded from orders/orders.csv; PostgreSQL on a closed port for a store that is down, a
server that never answers for one that hangs), a scripted Rasa peer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.console.orders import proved_by_customer, proved_order
from handoff.conversations.keys import Keys
from handoff.state import app_state
from tests.app.conftest import AppFactory
from tests.app.protocol import AGENT, CheckedSocket, open_chat
from tests.support.clients import PASSWORD, frames_until, login
from tests.support.fake_rasa import FakeRasa, handoff_on

KEYS = Keys("ha")
# The assistant verified HG-10001 before handing over (the payload the handoff action sends).
VERIFIED_HANDOFF = {
    "reason": "human_request",
    "summary": "Wants a person about an order.",
    "intents": [],
    "slots": {"order_number": "HG-10001", "order_verified": True, "order_state": "processing"},
}
# The customer names a shipped order (HG-10008, not verified) and one that does not exist.
FIRST_MESSAGE = "Where is hg 10008? And what about HG-99999?"


@pytest.fixture
def handoff_bot(rasa: tuple[FakeRasa, str]) -> FakeRasa:
    scripted = rasa[0]
    scripted.replies = handoff_on("human", VERIFIED_HANDOFF)
    return scripted


async def console(client: TestClient, session: dict[str, Any]) -> CheckedSocket:
    raw = await client.ws_connect("/ws/agent", headers={"Cookie": f"ha_session={session['sid']}"})
    ws = CheckedSocket(raw, AGENT)
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    await ws.send_json({"type": "presence", "status": "online"})
    await frames_until(ws, lambda f: f["type"] == "presence")
    return ws


async def claimed_chat(
    client: TestClient, accounts: Accounts, agent: str = "gus"
) -> tuple[Any, str, CheckedSocket, dict[str, Any]]:
    """A customer who named two orders and asked for a person, claimed by `agent`."""
    await accounts.create(agent, PASSWORD, display_name=agent.capitalize())
    session = await login(client, agent)
    ws = await console(client, session)
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "m1", "text": FIRST_MESSAGE})
    await frames_until(customer, lambda f: f.get("text", "").startswith("echo:"))
    await customer.send_json({"type": "message", "id": "m2", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("event") == "state" and f["state"] == "queued")
    await ws.send_json({"type": "claim", "conversation": cid})
    await frames_until(ws, lambda f: f["type"] == "claimed")
    return customer, cid, ws, session


async def lookups(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/api/audit/order-lookups", headers=headers)
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = (await response.json())["lookups"]
    return found


# --- who proved what (pure) ------------------------------------------------------------------


def test_an_order_is_proved_by_the_verified_field_or_the_packets_verified_slot() -> None:
    assert proved_order({"verified_order": "hg-10042"}) == "HG-10042"
    packet = {"slots": {"order_number": "HG-10042", "order_verified": True}}
    assert proved_order({"packet": json.dumps(packet)}) == "HG-10042"
    assert proved_by_customer({"packet": json.dumps(packet)}, "HG-10042")
    assert not proved_by_customer({"packet": json.dumps(packet)}, "HG-10043")
    unverified = {"slots": {"order_number": "HG-10042", "order_verified": False}}
    assert proved_order({"packet": json.dumps(unverified)}) is None
    assert proved_order({"packet": "{not json", "verified_order": ""}) is None
    assert proved_order({}) is None


# --- the panel -------------------------------------------------------------------------------


async def test_the_panel_lists_the_mentioned_orders_and_looks_them_up_with_the_verified_flag(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, sqlite_url: str
) -> None:
    client = await make_client(orders_database_url=sqlite_url)
    _, cid, _, session = await claimed_chat(client, accounts)
    listed = await client.get(f"/api/conversations/{cid}/orders", headers=session["headers"])
    assert listed.status == 200
    assert (await listed.json())["orders"] == [
        {"order_number": "HG-10001", "verified": True},
        {"order_number": "HG-10008", "verified": False},
        {"order_number": "HG-99999", "verified": False},
    ]
    verified = await client.get(
        f"/api/conversations/{cid}/orders/HG-10001", headers=session["headers"]
    )
    body = await verified.json()
    assert verified.status == 200 and body["verified"] is True
    assert body["order"]["state"] == "processing" and body["order"]["customer_name"] == "Ivan Silva"
    assert body["order"]["items"] == ["1 x Linen duvet cover", "2 x Hiking daypack"]
    assert body["order"]["total"] == "109.89" and body["order"]["placed"] == "2026-11-05"
    shipped = await client.get(
        f"/api/conversations/{cid}/orders/HG-10008", headers=session["headers"]
    )
    order = (await shipped.json())["order"]
    assert shipped.status == 200 and order["verified"] is False
    assert (order["state"], order["carrier"], order["tracking_number"]) == (
        "shipped",
        "UPS",
        "UP7713212391",
    )
    assert order["estimated_delivery"] == "2026-10-29" and order["refund_status"] is None
    # What the customer proves ownership with never reaches the agent.
    text = await shipped.text()
    assert "example.com" not in text and "28394" not in text


async def test_unknown_malformed_and_unmentioned_orders_are_refused_clearly(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, sqlite_url: str
) -> None:
    client = await make_client(orders_database_url=sqlite_url)
    _, cid, ws, session = await claimed_chat(client, accounts)
    headers = session["headers"]
    unknown = await client.get(f"/api/conversations/{cid}/orders/HG-99999", headers=headers)
    assert unknown.status == 404
    assert (await unknown.json()) == {
        "error": "no_such_order",
        "message": "No order HG-99999 in the order store.",
    }
    malformed = await client.get(f"/api/conversations/{cid}/orders/10008", headers=headers)
    assert malformed.status == 400 and (await malformed.json())["error"] == "bad_order_number"
    # HG-10015 exists, but this conversation never named it: not through this chat.
    other = await client.get(f"/api/conversations/{cid}/orders/HG-10015", headers=headers)
    assert other.status == 404 and (await other.json())["error"] == "not_mentioned"
    # Nor by the agent writing it into the chat: only the customer and the assistant mention.
    await ws.send_json({"type": "message", "conversation": cid, "id": "a1", "text": "HG-10015?"})
    await frames_until(ws, lambda f: f["type"] == "ack")
    listed = await (await client.get(f"/api/conversations/{cid}/orders", headers=headers)).json()
    assert "HG-10015" not in [o["order_number"] for o in listed["orders"]]
    again = await client.get(f"/api/conversations/{cid}/orders/HG-10015", headers=headers)
    assert again.status == 404 and (await again.json())["error"] == "not_mentioned"


async def test_forged_foreign_and_wrong_role_requests_are_refused_as_elsewhere(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, sqlite_url: str
) -> None:
    client = await make_client(orders_database_url=sqlite_url)
    _, cid, _, _ = await claimed_chat(client, accounts)
    await accounts.create("tia", PASSWORD, display_name="Tia")
    await accounts.create("ed", PASSWORD, role="editor")
    tia = (await login(client, "tia"))["headers"]
    editor = (await login(client, "ed"))["headers"]
    path = f"/api/conversations/{cid}/orders/HG-10008"
    # Another agent's chat: refused exactly as the conversation itself is.
    for url in (path, f"/api/conversations/{cid}/orders", f"/api/conversations/{cid}"):
        assert (await client.get(url, headers=tia)).status == 403, url
    # A forged id, malformed or well-formed, names nothing.
    for forged in ("not-a-conversation", "0" * 32, "../" + cid):
        response = await client.get(f"/api/conversations/{forged}/orders/HG-10008", headers=tia)
        assert response.status == 404, forged
    assert (await client.get(path, headers=editor)).status == 403
    assert (await client.get(f"/api/conversations/{cid}/orders", headers=editor)).status == 403
    client.session.cookie_jar.clear()
    assert (await client.get(path)).status == 401
    # None of these reached the order store, so none is in its audit log.
    await accounts.create("root", PASSWORD, role="admin")
    assert await lookups(client, (await login(client, "root"))["headers"]) == []


async def test_a_store_that_is_down_answers_503_at_once_and_the_chat_goes_on(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, closed_port: int
) -> None:
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders",
        orders_timeout=3.0,
    )
    customer, cid, ws, session = await claimed_chat(client, accounts)
    started = time.monotonic()
    down = await client.get(f"/api/conversations/{cid}/orders/HG-10008", headers=session["headers"])
    took = time.monotonic() - started
    assert down.status == 503 and took < 1.5, took
    body = await down.json()
    assert body["error"] == "orders_unavailable" and "order store" in body["message"]
    # The chat goes on both ways.
    await customer.send_json({"type": "message", "id": "m3", "text": "still there?"})
    await frames_until(ws, lambda f: f.get("text") == "still there?")
    await ws.send_json({"type": "message", "conversation": cid, "id": "a1", "text": "Yes!"})
    await frames_until(customer, lambda f: f.get("text") == "Yes!")


async def test_a_store_that_hangs_answers_503_within_the_timeout_and_blocks_nothing_else(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, silent_server: int
) -> None:
    timeout = 1.0
    client = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{silent_server}/orders",
        orders_timeout=timeout,
    )
    customer, cid, ws, session = await claimed_chat(client, accounts)
    headers = session["headers"]
    finished: dict[str, float] = {}
    started = time.monotonic()

    async def timed(name: str, path: str) -> int:
        response = await client.get(path, headers=headers)
        finished[name] = time.monotonic() - started
        return response.status

    async def chat() -> None:
        await customer.send_json({"type": "message", "id": "m3", "text": "hello?"})
        await frames_until(ws, lambda f: f.get("text") == "hello?")
        finished["chat"] = time.monotonic() - started

    # Five lookups at once: more than the store's threads, each still bounded by the timeout.
    statuses = await asyncio.gather(
        *(timed(f"lookup{i}", f"/api/conversations/{cid}/orders/HG-10008") for i in range(5)),
        timed("conversation", f"/api/conversations/{cid}"),
        chat(),
    )
    assert statuses[:6] == [503, 503, 503, 503, 503, 200], statuses
    slowest = max(finished[f"lookup{i}"] for i in range(5))
    assert timeout * 0.9 <= slowest < timeout + 1.0, finished
    # Everything else was answered while the lookups were waiting.
    assert finished["conversation"] < timeout * 0.9 and finished["chat"] < timeout * 0.9, finished


async def test_every_lookup_is_audited_and_only_admins_read_the_audit(
    make_client: AppFactory,
    accounts: Accounts,
    handoff_bot: FakeRasa,
    sqlite_url: str,
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await make_client(orders_database_url=sqlite_url)
    _, cid, _, session = await claimed_chat(client, accounts)
    headers = session["headers"]
    caplog.set_level("INFO", logger="handoff.console.orders")
    for number in ("HG-10008", "HG-99999", "HG-10015"):
        await client.get(f"/api/conversations/{cid}/orders/{number}", headers=headers)
    # The same Redis, a store that is down: the fourth outcome.
    down = await make_client(
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders"
    )
    refused = await down.get(f"/api/conversations/{cid}/orders/HG-10001", headers=headers)
    assert refused.status == 503
    await accounts.create("root", PASSWORD, role="admin")
    admin = (await login(client, "root"))["headers"]
    entries = await lookups(client, admin)
    assert [(e["order_number"], e["outcome"]) for e in entries] == [
        ("HG-10001", "unavailable"),
        ("HG-10015", "not_mentioned"),
        ("HG-99999", "not_found"),
        ("HG-10008", "found"),
    ]
    assert {(e["agent"], e["conversation"]) for e in entries} == {("gus", cid)}
    assert all(abs(e["at"] / 1000 - time.time()) < 60 for e in entries)
    limited = await client.get("/api/audit/order-lookups?limit=1", headers=admin)
    assert len((await limited.json())["lookups"]) == 1
    bad = await client.get("/api/audit/order-lookups?limit=0", headers=admin)
    assert bad.status == 400
    assert (await client.get("/api/audit/order-lookups", headers=headers)).status == 403
    # One log line per lookup, with ids and outcomes only: no name, no contents.
    lines = [r.getMessage() for r in caplog.records if r.name == "handoff.console.orders"]
    assert len(lines) == 4 and all(f"conversation={cid}" in line for line in lines), lines
    assert not any("Lucas" in line or "UPS" in line for line in lines), lines
    metrics = app_state(client.server.app).metrics.render().decode()
    assert 'harbor_order_lookups_total{outcome="found"} 1.0' in metrics


async def test_a_lookup_is_not_answered_when_it_cannot_be_audited(
    make_client: AppFactory,
    accounts: Accounts,
    handoff_bot: FakeRasa,
    sqlite_url: str,
    redis_url: str,
) -> None:
    client = await make_client(orders_database_url=sqlite_url)
    _, cid, _, session = await claimed_chat(client, accounts)
    # The audit key made unwritable (a string, not a stream): XADD fails, the order stays unshown.
    redis = Redis.from_url(redis_url, decode_responses=True)
    await redis.set(KEYS.order_lookups, "in the way")
    try:
        response = await client.get(
            f"/api/conversations/{cid}/orders/HG-10008", headers=session["headers"]
        )
    finally:
        await redis.delete(KEYS.order_lookups)
        await redis.aclose()
    assert response.status == 503
    assert "Lucas" not in await response.text()
