"""A handoff replica killed (SIGKILL) under its customers and agents: they move to the other
replica with their resume token / last seen id and carry on; nothing is missed or shown twice."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from tests.faults.conftest import FAST_ENV, ClusterFactory, agent_on, queued_customer
from tests.support.clients import Customer, is_event_from
from tests.support.figures import record_figure

# How long a bot turn may wait in line for a place at the assistant (BOT_TURN_WAIT_SECONDS).
BOT_TURN_WAIT = 0.0


async def transcript_ids(redis: Redis, cid: str) -> list[str]:
    return [str(entry_id) for entry_id, _ in await redis.xrange(Keys("ha").log(cid))]


def agent_entries(frames: list[dict[str, Any]], cid: str) -> list[str]:
    return [f["id"] for f in frames if f.get("type") == "event" and f.get("conversation") == cid]


async def test_clients_of_a_killed_replica_resume_on_the_other_without_gaps(
    make_cluster: ClusterFactory, http: aiohttp.ClientSession
) -> None:
    # A grace period longer than the reconnect, so the agent keeps the chat. No turn waits in
    # line for the assistant here (a few turns, far below BOT_TURNS_IN_FLIGHT): with no wait
    # bound, the turn lock the killed replica leaves behind lives BOT_TURN_TIMEOUT_SECONDS + 5,
    # not 10 s more (the default BOT_TURN_WAIT_SECONDS, which the lock also covers).
    cluster = make_cluster(AGENT_GRACE_SECONDS="15", BOT_TURN_WAIT_SECONDS=str(BOT_TURN_WAIT))
    doomed, survivor = cluster.replicas
    (name,) = await cluster.add_agents(1)
    agent = await agent_on(http, doomed, name)
    with_agent = await queued_customer(http, doomed)
    claimed = await agent.claim(with_agent.conversation)
    assert claimed["type"] == "claimed"
    with_bot = Customer(http)
    await with_bot.connect(doomed.ws_url)
    for i in range(3):
        await with_bot.send(f"bot-before-{i}", f"question {i}")
        await with_agent.send(f"agent-chat-before-{i}", f"to the agent {i}")
        await agent.say(with_agent.conversation, f"reply-before-{i}", f"agent reply {i}")
    await with_bot.wait_for(lambda f: f.get("text") == "echo: question 2")
    await with_agent.wait_for(lambda f: f.get("text") == "agent reply 2")
    # Messages in flight when the replica dies: sent, never acknowledged.
    assert with_bot.ws is not None and with_agent.ws is not None
    await with_bot.ws.send_json({"type": "message", "id": "in-flight", "text": "lost in flight?"})
    await with_agent.ws.send_json({"type": "message", "id": "in-flight", "text": "still there?"})
    agent_frames = list(agent.log.frames)

    killed_at = time.monotonic()
    doomed.kill()
    for client in (with_bot, with_agent):
        await client.drop()
    await agent.drop()

    # The agent is back first and writes while the customer is still away.
    await agent.connect(survivor.ws_url)
    cid = with_agent.conversation
    seen_by_agent = agent_entries(agent_frames, cid)
    assert cid in agent.hello["active"], agent.hello
    start = await agent.send({"type": "open", "conversation": cid, "last_seen": seen_by_agent[-1]})
    await agent.say(cid, "reply-during", "are you still there?")
    reconnect_seconds = []
    for client in (with_bot, with_agent):
        await client.connect(survivor.ws_url)
        reconnect_seconds.append(time.monotonic() - killed_at)
    # The widget resends what was never acknowledged; it is stored once.
    resent_bot = await with_bot.send("in-flight", "lost in flight?")
    resent_agent = await with_agent.send("in-flight", "still there?")
    await with_bot.send("bot-after", "and another question")
    await with_agent.send("agent-chat-after", "yes I am here")
    await agent.say(cid, "reply-after", "great, let's continue")
    # The killed replica held the bot's turn lock for its in-flight message: the survivor
    # answers once that lock has expired (BOT_TURN_TIMEOUT_SECONDS + 5 + BOT_TURN_WAIT_SECONDS)
    # and its sweeper (every 2 s) finds the message, on a busy machine a little later still.
    answered_within = float(FAST_ENV["BOT_TURN_TIMEOUT_SECONDS"]) + 5 + BOT_TURN_WAIT + 2 + 10
    await with_bot.wait_for(
        lambda f: f.get("text") == "echo: and another question", timeout=answered_within
    )
    await with_agent.wait_for(lambda f: f.get("text") == "great, let's continue")
    await agent.log.wait_for(
        lambda f: f.get("conversation") == cid and f.get("text") == "yes I am here", timeout=10
    )
    # A barrier instead of a pause before counting duplicates: one more message each way, and
    # everything sent before it has been delivered once it is.
    await with_bot.send("barrier", "last one")
    await with_bot.wait_for(lambda f: f.get("text") == "echo: last one", timeout=answered_within)
    await with_agent.send("agent-chat-barrier", "last one")
    await agent.log.wait_for(
        lambda f: f.get("conversation") == cid and f.get("text") == "last one", timeout=10
    )
    await agent.say(cid, "reply-barrier", "bye")
    await with_agent.wait_for(lambda f: f.get("text") == "bye")

    redis = Redis.from_url(cluster.redis.url, decode_responses=True)
    missed = duplicated = 0
    for customer in (with_bot, with_agent):
        duplicated += len(customer.absorb())
        stored = await transcript_ids(redis, customer.conversation)
        missed += len(set(stored) - set(customer.order))
        assert customer.order == stored
        texts = [customer.seen[i]["text"] for i in customer.order]
        assert texts.count("lost in flight?") + texts.count("still there?") == 1
    agent_seen = seen_by_agent + agent_entries(agent.log.frames[start:], cid)
    stored = await transcript_ids(redis, cid)
    assert agent_seen == stored
    missed += len(set(stored) - set(agent_seen))
    duplicated += len(agent_seen) - len(set(agent_seen))
    await redis.aclose()
    assert is_event_from("agent")(with_agent.seen[with_agent.order[-1]])
    # Whether the in-flight message made it before the kill decides only the duplicate flag.
    assert isinstance(resent_bot["duplicate"], bool) and isinstance(resent_agent["duplicate"], bool)

    record_figure(
        "faults.replica_kill.clients", 3, "clients", "a bot chat, an agent chat and its agent"
    )
    record_figure("faults.replica_kill.entries_missed", missed, "entries", "after SIGKILL")
    record_figure("faults.replica_kill.entries_duplicated", duplicated, "entries", "after SIGKILL")
    record_figure(
        "faults.replica_kill.max_resume_seconds",
        max(reconnect_seconds),
        "s",
        "kill to welcome on the other replica (clients reconnect at once)",
    )
    assert missed == 0 and duplicated == 0
    for client in (with_bot, with_agent):
        await client.drop()
    await agent.drop()
