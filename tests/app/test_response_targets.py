"""Response-time targets and chat titles: the clocks the store keeps with each message, each
wait counted once in the dashboard's share (within its target when answered in time, else
breached, also when nobody ever answers it), a breach counted and alerted once (also with two
service instances on one Redis), and what the console calls a chat.

Real Redis and the scripted Rasa peer; tiny targets make a breach come within a second.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.console.accounts import Accounts
from handoff.console.queue_view import chat_title, visitor_label
from handoff.console.sweeper import sweep_breaches
from handoff.queue.targets import response_clock
from handoff.state import app_state
from tests.app.agents import KEYS, agent_online, all_of, queued_chat
from tests.app.conftest import AppFactory
from tests.support.clients import frames_until

FIRST = ((0, 30.0), (4, 60.0))
NEXT = ((0, 20.0), (4, 40.0))
LABEL = re.compile(r"^Visitor [0-9A-HJKMNP-TV-Z]{4}$")


def breaches(client: TestClient, kind: str) -> float:
    """The breach counter of one service instance for `kind`, over every priority."""
    text = app_state(client.server.app).metrics.render().decode()
    pattern = rf'^harbor_response_target_breaches_total\{{kind="{kind}",priority="\d+"\}} (\S+)$'
    return sum(float(v) for v in re.findall(pattern, text, re.M))


async def stats(client: TestClient, session: dict[str, Any]) -> dict[str, Any]:
    return dict(await (await client.get("/api/stats", headers=session["headers"])).json())


def mine_due(cid: str) -> Any:
    """A predicate: a `mine` frame listing `cid`; the frame's entry for it is read afterwards."""
    return lambda f: f["type"] == "mine" and any(c["conversation"] == cid for c in f["chats"])


def chat_in(frame: dict[str, Any], cid: str) -> dict[str, Any]:
    return dict(next(c for c in frame["chats"] if c["conversation"] == cid))


# --- which reply a customer is waiting for (pure) ---------------------------------------------


def test_the_clock_is_the_first_response_until_answered_then_the_next() -> None:
    base = {"state": "queued", "priority": "4", "queued_at": "1000"}
    clock = response_clock(base, FIRST, NEXT)
    assert clock and (clock.kind, clock.started_at, clock.target_seconds) == ("first", 1000, 60)
    assert clock.due_at == 61_000 and clock.left_seconds(61_500) == -1
    # Claimed, not answered yet: still the first response, whatever the customer wrote.
    assigned = {**base, "state": "assigned", "awaiting_since": "2000"}
    assert response_clock(assigned, FIRST, NEXT).kind == "first"  # type: ignore[union-attr]
    answered = {**assigned, "answered_queued_at": "1000"}
    clock = response_clock(answered, FIRST, NEXT)
    assert clock and (clock.kind, clock.started_at, clock.target_seconds) == ("next", 2000, 40)
    # Nothing unanswered, or a mark from before the chat's last time in the queue: no clock.
    assert response_clock({**answered, "awaiting_since": ""}, FIRST, NEXT) is None
    assert response_clock({**answered, "awaiting_since": "900"}, FIRST, NEXT) is None
    # Priority 0 takes its own, shorter target; with the assistant or closed there is none.
    assert response_clock({**base, "priority": "0"}, FIRST, NEXT).target_seconds == 30  # type: ignore[union-attr]
    for state in ("bot", "closed"):
        assert response_clock({**answered, "state": state}, FIRST, NEXT) is None


def test_titles_are_the_verified_name_else_a_stable_visitor_label() -> None:
    cid = "7f3a" + "0" * 28
    assert visitor_label(cid) == visitor_label(cid) == "FWX0"  # 0x7f3a0 in Crockford base 32
    assert chat_title(cid, {}) == "Visitor FWX0"
    labels = {visitor_label(f"{i:05x}" + "0" * 27) for i in range(0, 1 << 20, 4099)}
    assert len(labels) == len(range(0, 1 << 20, 4099))  # different ids, different labels
    assert all(LABEL.match(f"Visitor {label}") for label in labels)
    assert chat_title(cid, {"customer_name": "  Ada \n Lovelace "}) == "Ada Lovelace"
    assert chat_title(cid, {"customer_name": "   "}) == "Visitor FWX0"
    assert len(chat_title(cid, {"customer_name": "x" * 500})) == 60


# --- through the service ---------------------------------------------------------------------


async def test_first_and_next_responses_are_timed_and_shared_on_the_dashboard(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any
) -> None:
    client = await make_client(first_response_targets=FIRST, next_response_targets=NEXT)
    redis = accounts.redis
    agent, session = await agent_online(client, accounts, "nia")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    frames = await frames_until(agent, lambda f: f["type"] == "queue" and f["items"])
    item = frames[-1]["items"][0]
    assert LABEL.match(item["title"]) and item["title"] == f"Visitor {visitor_label(cid)}"
    assert item["target_seconds"] == 60 and item["priority"] == 4
    await agent.send_json({"type": "claim", "conversation": cid})
    frames = await frames_until(agent, mine_due(cid))
    due = chat_in(frames[-1], cid)["due"]
    assert due["kind"] == "first" and due["target_seconds"] == 60
    assert 55 <= due["left_seconds"] <= 60
    # The first reply comes within its target: nothing is owed any more.
    await agent.send_json({"type": "message", "conversation": cid, "id": "r1", "text": "Hi!"})
    await frames_until(agent, lambda f: f["type"] == "mine" and chat_in(f, cid)["due"] is None)
    # The customer writes; the agent's reply is owed from that message, within 40 s.
    await customer.send_json({"type": "message", "id": "c2", "text": "Where is my parcel?"})
    frames = await all_of(
        agent,
        lambda f: f.get("text") == "Where is my parcel?",
        lambda f: f["type"] == "mine" and chat_in(f, cid)["due"],
    )
    message = next(f for f in frames if f.get("text") == "Where is my parcel?")
    due = chat_in(next(f for f in frames if f["type"] == "mine"), cid)["due"]
    assert due["kind"] == "next" and due["started_at"] == message["at"]
    assert due["target_seconds"] == 40
    # A second message does not restart the wait: it runs from the oldest unanswered one.
    await customer.send_json({"type": "message", "id": "c3", "text": "Hello?"})
    await frames_until(agent, lambda f: f.get("text") == "Hello?")
    (since,) = await redis.hmget(KEYS.conversation(cid), ["awaiting_since"])
    assert int(since) == message["at"]
    # Had the chat been queued 2 minutes ago and that wait begun 50 s ago (past the 40 s
    # target), the reply is late, and counted once.
    now = int(time.time() * 1000)
    queued = {"queued_at": now - 120_000, "answered_queued_at": now - 120_000}
    await redis.hset(KEYS.conversation(cid), mapping={**queued, "awaiting_since": now - 50_000})
    await agent.send_json({"type": "message", "conversation": cid, "id": "r2", "text": "Here."})
    # The ack comes after the reply was recorded.
    await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "r2")
    figures = await stats(client, session)
    assert figures["counters"]["first_response_within"] == 1
    assert figures["counters"]["next_response_breached"] == 1
    assert "first_response_breached" not in figures["counters"]
    assert figures["first_response_within_target"] == 1.0
    assert figures["next_response_within_target"] == 0.0
    assert figures["daily"][-1]["next_response_breached"] == 1
    assert breaches(client, "next") == 1 and breaches(client, "first") == 0
    # A further reply answers nothing: no clock ran.
    await agent.send_json({"type": "message", "conversation": cid, "id": "r3", "text": "Bye."})
    await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "r3")
    figures = await stats(client, session)
    assert figures["counters"]["first_response_within"] == 1
    assert figures["counters"]["next_response_breached"] == 1


async def test_a_transfer_to_the_queue_starts_a_new_first_response(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any
) -> None:
    client = await make_client(first_response_targets=FIRST, next_response_targets=NEXT)
    agent, session = await agent_online(client, accounts, "oli")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await agent.send_json({"type": "message", "conversation": cid, "id": "r1", "text": "Hi"})
    await frames_until(agent, lambda f: f["type"] == "ack")
    await customer.send_json({"type": "message", "id": "c2", "text": "still there?"})
    await frames_until(agent, lambda f: f.get("text") == "still there?")
    await agent.send_json({"type": "transfer", "conversation": cid})
    frames = await frames_until(agent, lambda f: f["type"] == "queue" and f["items"])
    assert frames[-1]["items"][0]["conversation"] == cid
    await agent.send_json({"type": "claim", "conversation": cid})
    frames = await frames_until(agent, mine_due(cid))
    assert chat_in(frames[-1], cid)["due"]["kind"] == "first"
    await agent.send_json({"type": "message", "conversation": cid, "id": "r2", "text": "Back"})
    await frames_until(agent, lambda f: f["type"] == "ack" and f["id"] == "r2")
    counters = (await stats(client, session))["counters"]
    # Two times in the queue, two first responses; the question before the transfer was
    # answered by the second, not counted as a next response as well.
    assert counters["first_response_within"] == 2 and "next_response_within" not in counters


async def test_a_breach_is_alerted_and_counted_once_with_two_instances(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any
) -> None:
    tiny = {
        "first_response_targets": ((0, 1.0),),
        "next_response_targets": ((0, 1.0),),
        "teams": ("support", "billing"),
    }
    customer_side = await make_client(**tiny)
    agent_side = await make_client(**tiny)
    agent, session = await agent_online(agent_side, accounts, "pia")
    other_team, _ = await agent_online(agent_side, accounts, "quin", teams=["billing"])
    customer, welcome = await queued_chat(customer_side)
    cid = welcome["conversation"]
    # Past its 1 s target while waiting: the sweeper of one instance or the other reports it.
    frames = await frames_until(agent, lambda f: f["type"] == "breach", timeout=10)
    breach = frames[-1]
    assert breach["conversation"] == cid and breach["kind"] == "first"
    assert breach["state"] == "queued" and breach["title"] == f"Visitor {visitor_label(cid)}"
    assert breach["target_seconds"] == 1 and breach["priority"] == 4
    # Both instances' sweepers, again and at once: nothing more is marked or counted, in the
    # metric or in the dashboard's share (its counters are the Redis both instances share).
    states = [app_state(c.server.app) for c in (customer_side, agent_side)]
    marked = await asyncio.gather(*(sweep_breaches(s) for s in states * 3))
    assert sum(marked) == 0
    assert breaches(customer_side, "first") + breaches(agent_side, "first") == 1
    assert (await stats(agent_side, session))["counters"]["first_response_breached"] == 1
    # Claimed and still unanswered: the same wait goes on, it is not a new breach; the late
    # first reply finds the breach counted and counts nothing: one wait, counted once.
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    assert sum(await asyncio.gather(*(sweep_breaches(s) for s in states))) == 0
    await agent.send_json({"type": "message", "conversation": cid, "id": "r1", "text": "Hi"})
    await frames_until(agent, lambda f: f["type"] == "ack")
    assert breaches(customer_side, "first") + breaches(agent_side, "first") == 1
    figures = await stats(customer_side, session)
    assert figures["counters"]["first_response_breached"] == 1
    assert "first_response_within" not in figures["counters"]
    assert figures["first_response_within_target"] == 0.0
    # A new wait (the customer's next message) breaches on its own, alerting the agent only.
    await customer.send_json({"type": "message", "id": "c2", "text": "and now?"})
    frames = await frames_until(
        agent, lambda f: f["type"] == "breach" and f["kind"] == "next", timeout=10
    )
    assert frames[-1]["state"] == "assigned"
    assert breaches(customer_side, "next") + breaches(agent_side, "next") == 1
    assert (await stats(agent_side, session))["counters"]["next_response_breached"] == 1
    # The agent of another team saw neither breach (its socket got its own frames meanwhile).
    await other_team.send_json({"type": "ping"})
    seen = await frames_until(other_team, lambda f: f["type"] == "pong")
    assert not [f for f in seen if f["type"] == "breach"]


async def test_a_breached_wait_the_customer_abandons_counts_against_the_share(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any
) -> None:
    client = await make_client(
        first_response_targets=((0, 1.0),), next_response_targets=((0, 1.0),)
    )
    agent, session = await agent_online(client, accounts, "sol")
    customer, _ = await queued_chat(client)
    # Past its 1 s target in the queue; then the customer gives up waiting.
    await frames_until(agent, lambda f: f["type"] == "breach", timeout=10)
    await customer.send_json({"type": "cancel_queue"})
    await frames_until(customer, lambda f: f.get("state") == "bot")
    assert await sweep_breaches(app_state(client.server.app)) == 0
    # Nobody answered that wait: the share shows it as a miss (0 of 1), not as no data.
    figures = await stats(client, session)
    assert figures["counters"]["first_response_breached"] == 1
    assert "first_response_within" not in figures["counters"]
    assert figures["first_response_within_target"] == 0.0
    assert figures["daily"][-1]["first_response_breached"] == 1


async def test_the_name_is_the_title_once_the_customer_is_verified(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any
) -> None:
    client = await make_client()
    agent, session = await agent_online(client, accounts, "rue")
    headers = session["headers"]
    _customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await frames_until(agent, lambda f: f["type"] == "queue" and f["items"])
    detail = await (await client.get(f"/api/conversations/{cid}", headers=headers)).json()
    assert detail["title"] == f"Visitor {visitor_label(cid)}"
    await app_state(client.server.app).store.set_fields(cid, {"customer_name": "Ada Lovelace"})
    detail = await (await client.get(f"/api/conversations/{cid}", headers=headers)).json()
    assert detail["title"] == "Ada Lovelace"
    listed = await (await client.get("/api/queue", headers=session["headers"])).json()
    assert listed["teams"][0]["items"][0]["title"] == "Ada Lovelace"
    await agent.send_json({"type": "claim", "conversation": cid})
    frames = await frames_until(agent, mine_due(cid))
    assert chat_in(frames[-1], cid)["title"] == "Ada Lovelace"


async def test_waits_breaching_together_reach_the_console_in_one_hint_per_round(
    make_client: AppFactory, accounts: Accounts, handoff_bot: Any, monkeypatch: Any
) -> None:
    # After an outage hundreds of waits breach in one sweeper round: a hint each would queue
    # ahead of every message's hint on the live channel (issue 20: the relay's p99).
    client = await make_client(first_response_targets=((0, 1.0),))
    state = app_state(client.server.app)
    published: list[dict[str, Any]] = []
    publish = state.store.publish

    async def recorded(payload: dict[str, Any]) -> None:
        published.append(dict(payload))
        await publish(payload)

    monkeypatch.setattr(state.store, "publish", recorded)
    agent, _ = await agent_online(client, accounts, "rio")
    waiting = {(await queued_chat(client))[1]["conversation"] for _ in range(5)}
    alerted: set[str] = set()
    while alerted != waiting:
        frames = await frames_until(agent, lambda f: f["type"] == "breach", timeout=10)
        alerted.update(f["conversation"] for f in frames if f["type"] == "breach")
    hints = [p["breaches"] for p in published if "breaches" in p]
    assert sorted(h["breach"] for batch in hints for h in batch) == sorted(waiting)
    # The five were queued within a moment of each other, so their breaches fall in one or two
    # sweeper rounds (2 s apart), each round's in one hint: fewer hints than breaches.
    assert len(hints) < len(waiting), hints
