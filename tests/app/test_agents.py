"""Agent accounts, console sessions, the agent websocket and the console API.

Real Redis, a scripted Rasa peer; two app instances sharing one Redis stand in for replicas.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from aiohttp import WSMsgType

from handoff.console.accounts import Accounts, check_password, hash_password
from handoff.queue.stats import median_of_histogram
from handoff.settings import Secret
from handoff.state import app_state
from tests.app.agents import KEYS, agent_online, all_of, is_event, queued_chat
from tests.app.conftest import AppFactory
from tests.app.protocol import AGENT, open_chat
from tests.support.clients import PASSWORD, frames_until, login
from tests.support.fake_rasa import FakeRasa

# --- accounts and sessions -------------------------------------------------------------------


def test_password_hashes_are_salted_scrypt() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert check_password("s3cret-pass", first) and not check_password("s3cret-pasS", first)
    assert not check_password("x", "garbage")


def test_the_accounts_cli_has_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "handoff.console.accounts", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "passwd" in result.stdout


async def test_the_accounts_cli_adds_and_lists(redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "handoff.console.accounts", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    add = await asyncio.to_thread(
        cli, "add", "dana", "--role", "editor", "--password-stdin", stdin="a long password\n"
    )
    assert add.returncode == 0, add.stderr
    listed = await asyncio.to_thread(cli, "list")
    assert "dana\teditor" in listed.stdout


async def test_login_me_logout_and_cookie_flags(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    await accounts.create("ana", PASSWORD, display_name="Ana")
    wrong = await client.post("/api/login", json={"username": "ana", "password": "nope-nope"})
    assert wrong.status == 401 and (await wrong.json())["error"] == "bad_credentials"
    response = await client.post("/api/login", json={"username": "ana", "password": PASSWORD})
    body = await response.json()
    assert response.status == 200
    assert {"user": "ana", "role": "agent", "display_name": "Ana"}.items() <= body.items()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    me = await client.get("/api/me")
    assert me.status == 200 and (await me.json())["user"] == "ana"
    no_csrf = await client.post("/api/logout")
    assert no_csrf.status == 403 and (await no_csrf.json())["error"] == "csrf"
    bad_csrf = await client.post("/api/logout", headers={"X-CSRF-Token": "forged"})
    assert bad_csrf.status == 403
    out = await client.post("/api/logout", headers={"X-CSRF-Token": body["csrf"]})
    assert out.status == 200
    assert (await client.get("/api/me")).status == 401


async def test_secure_cookie_behind_https(make_client: AppFactory, accounts: Accounts) -> None:
    client = await make_client(cookie_secure=True)
    await accounts.create("ana", PASSWORD)
    response = await client.post("/api/login", json={"username": "ana", "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


async def test_wrong_passwords_are_rate_limited_per_user_and_address(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client(login_failures_allowed=3)
    await accounts.create("ben", PASSWORD)
    for _ in range(3):
        bad = await client.post("/api/login", json={"username": "ben", "password": "wrong-one"})
        assert bad.status == 401
    limited = await client.post("/api/login", json={"username": "ben", "password": PASSWORD})
    assert limited.status == 429
    assert "Wait a minute" in (await limited.json())["message"]
    # The same address trying another user is limited too.
    await accounts.create("cat", PASSWORD)
    other = await client.post("/api/login", json={"username": "cat", "password": PASSWORD})
    assert other.status == 429


async def test_password_change_ends_every_session(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    await accounts.create("dan", PASSWORD)
    first = await login(client, "dan")
    second = await login(client, "dan")
    for s in (first, second):
        assert (await client.get("/api/me", headers=s["headers"])).status == 200
    await accounts.set_password("dan", "another password")
    for s in (first, second):
        assert (await client.get("/api/me", headers=s["headers"])).status == 401
    await login(client, "dan", "another password")


async def test_roles_and_console_socket_needs_a_session(
    make_client: AppFactory, accounts: Accounts
) -> None:
    client = await make_client()
    await accounts.create("eve", PASSWORD, role="editor")
    await accounts.create("fay", PASSWORD)
    editor = await login(client, "eve")
    agent = await login(client, "fay")
    assert (await client.get("/api/queue", headers=editor["headers"])).status == 403
    assert (await client.get("/api/queue", headers=agent["headers"])).status == 200
    assert (await client.get("/api/queue")).status == 401
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    assert (await client.get("/ws/agent", headers=upgrade)).status == 401
    foreign = {**upgrade, "Origin": "https://evil.example", "Cookie": agent["headers"]["Cookie"]}
    assert (await client.get("/ws/agent", headers=foreign)).status == 403
    as_editor = {**upgrade, "Cookie": editor["headers"]["Cookie"]}
    assert (await client.get("/ws/agent", headers=as_editor)).status == 403


async def test_bootstrap_admin_is_created_when_no_account_exists(
    make_client: AppFactory,
) -> None:
    client = await make_client(bootstrap_admin_password=Secret("first admin password"))
    session = await login(client, "admin", "first admin password")
    assert session["role"] == "admin" and session["display_name"] == "Admin"


# --- the queue, claiming and relaying ----------------------------------------------------------


async def test_an_escalated_chat_appears_in_the_queue_and_is_claimed(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, session = await agent_online(client, accounts, "gus")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    frames = await frames_until(agent, lambda f: f["type"] == "queue" and f["items"])
    item = frames[-1]["items"][0]
    assert item["conversation"] == cid and item["reason"] == "human_request"
    # The card quotes what got the chat handed over; the assistant's note (with the email it
    # was given) is in the packet's summary, masked.
    assert item["priority"] == 4 and item["summary"] == "“I want a human please”"
    listed = await (await client.get("/api/queue", headers=session["headers"])).json()
    assert listed["teams"][0]["items"][0]["conversation"] == cid
    await agent.send_json({"type": "claim", "conversation": cid})
    # The claim is confirmed, the chat's transcript arrives, and the queue empties.
    frames = await all_of(
        agent,
        lambda f: f["type"] == "claimed",
        lambda f: f.get("conversation") == cid and f.get("text") == "I want a human please",
        lambda f: f["type"] == "queue" and not f["items"],
    )
    claimed = next(f for f in frames if f["type"] == "claimed")
    assert claimed["conversation"] == cid and claimed["packet"]["reason"] == "human_request"
    await frames_until(customer, is_event("Gus joined"))
    detail = await client.get(f"/api/conversations/{cid}", headers=session["headers"])
    body = await detail.json()
    assert body["fields"]["state"] == "assigned" and "[email]" in body["packet"]["summary"]
    assert "a@b.example" not in json.dumps(body["packet"])
    assert any(e["text"] == "I want a human please" for e in body["entries"])


async def test_ten_agents_claiming_at_once_have_exactly_one_winner(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agents = []
    for i in range(10):
        ws, _ = await agent_online(client, accounts, f"agent{i}", capacity=50)
        agents.append(ws)
    for _ in range(20):
        customer, welcome = await queued_chat(client)
        cid = welcome["conversation"]
        await asyncio.gather(*[a.send_json({"type": "claim", "conversation": cid}) for a in agents])
        results = await asyncio.gather(
            *[
                frames_until(
                    a,
                    lambda f, cid=cid: (
                        f.get("conversation") == cid and f["type"] in {"claimed", "claim_failed"}
                    ),
                )
                for a in agents
            ]
        )
        outcomes = [r[-1] for r in results]
        winners = [i for i, f in enumerate(outcomes) if f["type"] == "claimed"]
        assert len(winners) == 1, outcomes
        winner_name = f"Agent{winners[0]}"
        for frame in outcomes:
            if frame["type"] == "claim_failed":
                assert frame["winner"] == winner_name and frame["reason"] == "taken"
        await customer.close()


@pytest.mark.parametrize("two_instances", [False, True])
async def test_customer_and_agent_chat_both_ways_with_typing(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa, two_instances: bool
) -> None:
    customer_side = await make_client()
    agent_side = await make_client() if two_instances else customer_side
    agent, _ = await agent_online(agent_side, accounts, "hal")
    customer, welcome = await queued_chat(customer_side)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await agent.send_json({"type": "typing", "conversation": cid, "on": True})
    await frames_until(customer, lambda f: f == {"type": "typing", "from": "agent", "on": True})
    await agent.send_json(
        {"type": "message", "conversation": cid, "id": "a1", "text": "Hi, I'm Hal. How can I help?"}
    )
    got = (await frames_until(customer, is_event("I'm Hal")))[-1]
    assert got["from"] == "agent" and got["agent_name"] == "Hal"
    await customer.send_json({"type": "typing", "on": True})
    await frames_until(
        agent,
        lambda f: (
            f["type"] == "typing"
            and f["conversation"] == cid
            and f["from"] == "customer"
            and f["on"] is True
        ),
    )
    await customer.send_json({"type": "message", "id": "c2", "text": "My parcel is lost"})
    got = (await frames_until(agent, is_event("parcel is lost")))[-1]
    assert got["from"] == "customer" and got["conversation"] == cid
    # Barrier: the agent hands the chat back and the bot answers a later message. The bot works
    # through one conversation's messages one at a time, in transcript order, so anything the
    # chat with the agent had sent to the bot reaches it before that later message.
    await agent.send_json({"type": "return_to_bot", "conversation": cid})
    await frames_until(customer, lambda f: f.get("event") == "state" and f["state"] == "bot")
    await customer.send_json({"type": "message", "id": "c3", "text": "thanks, bye"})
    await frames_until(customer, is_event("echo: thanks, bye"))
    assert [m for _, m in handoff_bot.received] == ["I want a human please", "thanks, bye"]


async def test_an_agent_cannot_claim_when_offline_or_full(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, _ = await agent_online(client, accounts, "ivy", capacity=1)
    _, first = await queued_chat(client)
    _, second = await queued_chat(client)
    await agent.send_json({"type": "claim", "conversation": first["conversation"]})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await agent.send_json({"type": "claim", "conversation": second["conversation"]})
    failed = (await frames_until(agent, lambda f: f["type"] == "claim_failed"))[-1]
    assert failed["reason"] == "capacity"
    await agent.send_json({"type": "presence", "status": "away"})
    await agent.send_json({"type": "claim", "conversation": second["conversation"]})
    error = (await frames_until(agent, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "not_online"
    # Someone else's chat cannot be written to.
    other, _ = await agent_online(client, accounts, "jon")
    await other.send_json(
        {"type": "message", "conversation": first["conversation"], "id": "x", "text": "hijack"}
    )
    assert (await frames_until(other, lambda f: f["type"] == "error"))[-1]["code"] == "not_yours"


async def test_transfer_to_an_agent_and_to_a_team(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client(teams=("support", "billing"))
    kim, _ = await agent_online(client, accounts, "kim")
    lee, _ = await agent_online(client, accounts, "lee")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await kim.send_json({"type": "claim", "conversation": cid})
    await frames_until(kim, lambda f: f["type"] == "claimed")
    await kim.send_json({"type": "transfer", "conversation": cid, "to_agent": "lee"})
    await frames_until(kim, lambda f: f["type"] == "transferred")
    await frames_until(customer, is_event("Lee has taken over"))
    await frames_until(lee, lambda f: f["type"] == "active" and cid in f["conversations"])
    await lee.send_json({"type": "transfer", "conversation": cid, "to_team": "billing"})
    await frames_until(lee, lambda f: f["type"] == "transferred")
    await frames_until(customer, is_event("transferred"))
    redis = accounts.redis
    assert await redis.zscore(KEYS.queue("billing"), cid) is not None
    assert await redis.hget(KEYS.conversation(cid), "team") == "billing"
    await lee.send_json({"type": "transfer", "conversation": cid, "to_team": "support"})
    assert (await frames_until(lee, lambda f: f["type"] == "error"))[-1]["code"] == "not_yours"


async def test_return_to_bot_then_the_bot_answers_again(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, _ = await agent_online(client, accounts, "max")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await customer.send_json({"type": "message", "id": "to-agent", "text": "for the agent"})
    await frames_until(agent, is_event("for the agent"))
    await agent.send_json({"type": "return_to_bot", "conversation": cid})
    await frames_until(customer, is_event("You're back with the assistant."))
    await customer.send_json({"type": "message", "id": "to-bot", "text": "track my order"})
    await frames_until(customer, is_event("echo: track my order"))
    assert "for the agent" not in [m for _, m in handoff_bot.received]


async def test_close_asks_for_a_rating_and_keeps_notes(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, session = await agent_online(client, accounts, "ned")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await agent.send_json(
        {"type": "close", "conversation": cid, "notes": "refunded", "tags": ["refund", "parcel"]}
    )
    closing = (await frames_until(customer, lambda f: f.get("state") == "closed"))[-1]
    assert closing["data"] == {"ask_rating": True} and "1 to 5" in closing["text"]
    await customer.send_json({"type": "rating", "score": 5, "comment": "great"})
    await frames_until(customer, lambda f: f.get("event") == "rated")
    redis = accounts.redis
    stored = await redis.hgetall(KEYS.conversation(cid))
    assert stored["notes"] == "refunded" and stored["tags"] == '["refund", "parcel"]'
    assert stored["rating"] == "5"
    assert await redis.llen(KEYS.handling_times) == 1
    stats = await (await client.get("/api/stats", headers=session["headers"])).json()
    assert stats["csat_average"] == 5 and stats["handoffs"] == 1 and stats["conversations"] == 1
    assert stats["containment_rate"] == 0


async def test_an_agent_gone_past_the_grace_period_puts_the_chat_first_in_line(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client(agent_grace_seconds=1.0)
    agent, _ = await agent_online(client, accounts, "olga")
    _watcher, _ = await agent_online(client, accounts, "pia")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await queued_chat(client)  # someone else waits meanwhile
    await agent.close()
    await frames_until(customer, is_event("disconnected"), timeout=8)
    redis = accounts.redis
    assert (await redis.zrange(KEYS.queue("support"), 0, 0)) == [cid]
    assert await redis.hget(KEYS.presence, "olga") == "offline"
    assert await redis.hget(KEYS.presence, "pia") == "online"
    await frames_until(customer, lambda f: f.get("type") == "queue" and f["position"] == 1)


async def test_queue_positions_update_when_the_queue_moves(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, _ = await agent_online(client, accounts, "quin", capacity=1)
    first, first_welcome = await queued_chat(client)
    await frames_until(first, lambda f: f.get("type") == "queue" and f["position"] == 1)
    second, _ = await queued_chat(client)
    frame = (await frames_until(second, lambda f: f.get("type") == "queue"))[-1]
    assert frame["position"] == 2 and frame["estimate_seconds"] > 0
    await agent.send_json({"type": "claim", "conversation": first_welcome["conversation"]})
    await frames_until(second, lambda f: f.get("type") == "queue" and f["position"] == 1)


async def test_no_agent_online_offers_a_message_that_becomes_a_ticket(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    await accounts.create("ray", PASSWORD)
    session = await login(client, "ray")
    customer, welcome = await open_chat(client)
    await customer.send_json({"type": "message", "id": "h", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("event") == "offer_leave_message")
    await customer.send_json(
        {
            "type": "leave_message",
            "email": "kit@example.com",
            "text": "Please call me back about order 1042",
        }
    )
    await frames_until(customer, lambda f: f.get("event") == "ticket_created")
    tickets = await (await client.get("/api/tickets", headers=session["headers"])).json()
    assert tickets["tickets"][0]["conversation"] == welcome["conversation"]
    assert tickets["tickets"][0]["email"] == "kit@example.com"
    # What they left is in the conversation, for the agent who takes the ticket and for the
    # emails' "conversation so far"; it is for a person, so the assistant never answers it.
    entries = await app_state(client.server.app).store.read_all(welcome["conversation"])
    left = next(e for e in entries if e.text == "Please call me back about order 1042")
    assert left.sender == "customer" and left.fields.get("channel") == "ticket"
    await customer.send_json({"type": "message", "id": "after", "text": "hello again"})
    await frames_until(customer, lambda f: f.get("text") == "echo: hello again")
    assert [text for _, text in handoff_bot.received] == ["a human please", "hello again"]


async def test_open_is_limited_to_the_assigned_agent(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    sam, _ = await agent_online(client, accounts, "sam")
    tia, tia_session = await agent_online(client, accounts, "tia")
    _, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await tia.send_json({"type": "open", "conversation": cid})
    await frames_until(tia, lambda f: f.get("conversation") == cid and f["type"] == "event")
    await sam.send_json({"type": "claim", "conversation": cid})
    await frames_until(sam, lambda f: f["type"] == "claimed")
    await tia.send_json({"type": "open", "conversation": cid})
    assert (await frames_until(tia, lambda f: f["type"] == "error"))[-1]["code"] == "forbidden"
    denied = await client.get(f"/api/conversations/{cid}", headers=tia_session["headers"])
    assert denied.status == 403


async def test_logout_ends_the_console_socket(make_client: AppFactory, accounts: Accounts) -> None:
    client = await make_client()
    agent, session = await agent_online(client, accounts, "uma")
    out = await client.post("/api/logout", headers=session["headers"])
    assert out.status == 200
    await agent.send_json({"type": "presence", "status": "online"})
    await frames_until(agent, lambda f: f.get("code") == "session_ended")
    msg = await agent.receive(timeout=3)
    assert msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}


async def test_auto_assign_gives_queued_chats_to_the_least_loaded_agent(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client(auto_assign=True)
    vic, _ = await agent_online(client, accounts, "vic", capacity=2)
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await frames_until(
        vic, lambda f: f["type"] == "active" and cid in f["conversations"], timeout=8
    )
    await frames_until(customer, is_event("Vic joined"))


# --- the agent protocol: schema, code and docs agree ----------------------------------------


async def test_open_leave_ping_and_bad_frames_follow_the_agent_protocol(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    agent, _ = await agent_online(client, accounts, "wes")
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    first = await frames_until(agent, lambda f: f["type"] == "queue" and f["items"])
    assert first[-1]["items"][0]["conversation"] == cid
    await agent.send_json({"type": "open", "conversation": cid})
    history = await frames_until(agent, lambda f: f.get("state") == "queued")
    seen = [f["id"] for f in history if f["type"] == "event"]
    # Re-opening after the last id seen replays nothing; a new entry arrives exactly once.
    await agent.send_json({"type": "open", "conversation": cid, "last_seen": seen[-1]})
    await customer.send_json({"type": "message", "id": "w1", "text": "still there?"})
    got = await frames_until(agent, is_event("still there?"))
    assert [f["id"] for f in got if f["type"] == "event" and f["id"] in seen] == []
    await agent.send_json({"type": "leave", "conversation": cid})
    await agent.send_json({"type": "ping"})
    assert (await frames_until(agent, lambda f: f["type"] == "pong"))[-1] == {"type": "pong"}
    await customer.send_json({"type": "message", "id": "w2", "text": "hello?"})
    # Barrier: the same customer socket then leaves the queue. The console hears the hints in
    # the order they were published, and its writer sends a conversation's entries before the
    # queue: the queue without the chat comes after w2 would have, had the agent still watched.
    await customer.send_json({"type": "cancel_queue"})
    after_leave = await frames_until(agent, lambda f: f["type"] == "queue" and not f["items"])
    assert not any(f["type"] == "event" for f in after_leave), after_leave
    await agent.ws.send_str("{not json")
    assert (await frames_until(agent, lambda f: f["type"] == "error"))[-1]["code"] == "bad_frame"
    await agent.send_json({"type": "dance"}, check=False)
    error = (await frames_until(agent, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "unknown_type"
    assert not AGENT.client.is_valid({"type": "claim", "conversation": "../etc"})
    assert not AGENT.client.is_valid(
        {"type": "transfer", "conversation": cid, "to_agent": "a", "to_team": "b"}
    )


# --- the dashboard ---------------------------------------------------------------------------


def test_medians_come_from_whole_second_histograms() -> None:
    assert median_of_histogram({}) is None
    assert median_of_histogram({5: 3}) == 5
    assert median_of_histogram({1: 2, 10: 1}) == 1
    assert median_of_histogram({1: 1, 3: 1}) == 2
    assert median_of_histogram({2: 1, 4: 2, 9: 1}) == 4


async def test_dashboard_figures_follow_their_definitions(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    zoe, session = await agent_online(client, accounts, "zoe", capacity=10)
    redis = accounts.redis
    await zoe.send_json({"type": "presence", "status": "away"})
    await frames_until(zoe, lambda f: f == {"type": "presence", "status": "away"})
    # Nobody online: two customers ask for a person and are offered to leave a message; one
    # asks twice and leaves one. Attempts nobody could take are not handoffs.
    unstaffed = []
    for asks in (2, 1):
        customer, _ = await open_chat(client)
        for i in range(asks):
            await customer.send_json({"type": "message", "id": f"u{i}", "text": "a human!"})
            await frames_until(customer, lambda f: f.get("event") == "offer_leave_message")
        unstaffed.append(customer)
    await unstaffed[0].send_json(
        {"type": "leave_message", "email": "lou@example.com", "text": "Call me back please"}
    )
    await frames_until(unstaffed[0], lambda f: f.get("event") == "ticket_created")
    await open_chat(client)  # a conversation the assistant handles alone
    await zoe.send_json({"type": "presence", "status": "online"})
    await frames_until(zoe, lambda f: f == {"type": "presence", "status": "online"})
    # Three chats waited 7 s, 3 s and 11 s for Zoe, who answered each at once; rated 5, 4, 2.
    for waited, score in ((7, 5), (3, 4), (11, 2)):
        customer, welcome = await queued_chat(client)
        cid = welcome["conversation"]
        queued_at = int(time.time() * 1000) - waited * 1000
        await redis.hset(KEYS.conversation(cid), "queued_at", queued_at)
        await zoe.send_json({"type": "claim", "conversation": cid})
        await frames_until(zoe, lambda f, cid=cid: f.get("type") == "claimed")
        for i in range(2):  # only the first answer is the first response
            await zoe.send_json(
                {"type": "message", "conversation": cid, "id": f"z{i}", "text": "Hello!"}
            )
            await frames_until(zoe, lambda f: f["type"] == "ack")
        await zoe.send_json({"type": "close", "conversation": cid})
        await frames_until(customer, lambda f: f.get("state") == "closed")
        await customer.send_json({"type": "rating", "score": score})
        await frames_until(customer, lambda f: f.get("event") == "rated")
        await customer.send_json({"type": "rating", "score": 5})  # a second rating is refused
        await frames_until(customer, lambda f: f.get("code") == "already_rated")
    # One customer leaves the queue and asks again: still one conversation handed off.
    again, _ = await queued_chat(client)
    await again.send_json({"type": "cancel_queue"})
    await frames_until(again, lambda f: f.get("state") == "bot")
    await again.send_json({"type": "message", "id": "h2", "text": "human, really"})
    await frames_until(again, lambda f: f.get("state") == "queued")

    stats = await (await client.get("/api/stats", headers=session["headers"])).json()
    assert stats["conversations"] == 7
    assert stats["escalation_attempts"] == 8 and stats["unstaffed_attempts"] == 3
    # Handed off: the three served chats and the one still waiting, not the unstaffed attempts.
    assert stats["handoffs"] == 4 and stats["handoff_rate"] == round(4 / 7, 4)
    # Contained: neither handed off nor left a message for a person (the bot-only chat and the
    # customer who was offered a message but carried on with the assistant).
    assert stats["containment_rate"] == round(2 / 7, 4)
    assert stats["median_wait_seconds"] == 7
    assert 7 <= stats["median_first_response_seconds"] <= 9
    assert stats["median_handling_seconds"] == 0
    assert stats["ratings"] == 3 and stats["csat"] == round(2 / 3, 4)
    assert stats["csat_average"] == round(11 / 3, 2)
    assert stats["tickets"] == 1 and stats["waiting_now"] == 1
    assert not any(":" in name for name in stats["counters"])


async def test_waiting_customers_share_one_fresh_staffing_count(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    """When a queue moves, every waiting customer's socket asks for the team's free slots at
    once: callers woken by the same move share one count, a later move gets a new one."""
    client = await make_client()
    _, _ = await agent_online(client, accounts, "abe", capacity=4)
    queue = app_state(client.app).queue
    loop = asyncio.get_running_loop()
    moved_at = loop.time()
    counts = await asyncio.gather(*[queue.staffing("support", moved_at) for _ in range(50)])
    assert set(counts) == {(4, 300.0)}
    first = queue._staffing["support"][1]
    await queue.staffing("support", moved_at)
    assert queue._staffing["support"][1] is first
    # The agent goes away: a move heard after the first count started must not reuse it.
    await accounts.redis.hset(KEYS.presence, "abe", "away")
    assert await queue.staffing("support", loop.time()) == (0, 300.0)
    assert await queue.staffing("support") == (0, 300.0)


async def test_what_a_customer_wrote_while_waiting_is_not_answered_by_the_bot_later(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    await agent_online(client, accounts, "bo")
    customer, welcome = await queued_chat(client)
    redis, cid = accounts.redis, welcome["conversation"]
    # The bot turn that queued the chat finishes with it (the queue event may come first).
    deadline = time.monotonic() + 5
    while await redis.zscore(KEYS.pending, cid) is not None:
        assert time.monotonic() < deadline, "the bot turn that queued the chat never ended"
        await asyncio.sleep(0.05)
    await customer.send_json({"type": "message", "id": "w1", "text": "anyone there?"})
    await frames_until(customer, lambda f: f.get("type") == "ack")
    assert await redis.zscore(KEYS.pending, cid) is None  # a message for a person, not the bot
    await customer.send_json({"type": "cancel_queue"})
    await frames_until(customer, lambda f: f.get("state") == "bot")
    await customer.send_json({"type": "message", "id": "b1", "text": "where is my parcel"})
    # Barrier: the bot answers one conversation's messages in transcript order, so had it
    # taken up w1 after all, w1 would have reached it before this answer arrived.
    await frames_until(customer, is_event("echo: where is my parcel"))
    assert [m for _, m in handoff_bot.received] == ["I want a human please", "where is my parcel"]
