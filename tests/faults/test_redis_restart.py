"""Redis killed and restarted (AOF on) while chats are with the bot, in the queue and with an
agent: every accepted message is in the transcript exactly once, in the order it was accepted."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import aiohttp
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from tests.faults.conftest import Cluster, ClusterFactory, agent_on, queued_customer
from tests.support.clients import Agent, Customer
from tests.support.figures import record_figure

OUTAGE_SECONDS = 1.5
MESSAGES_EACH = 20
# How long one message may take to be accepted, resends and reconnects included. Without it a
# refusal other than `unavailable` (a chat Redis lost: `closed`) was retried forever, silently,
# until the suite's 300 s timeout.
ACCEPT_WITHIN = 30.0


class Tally:
    def __init__(self) -> None:
        self.attempts = 0
        self.accepted: dict[str, list[str]] = {}  # conversation -> accepted texts, in order

    def accept(self, cid: str, text: str) -> None:
        self.accepted.setdefault(cid, []).append(text)


async def customer_keeps_talking(customer: Customer, label: str, tally: Tally) -> None:
    for i in range(MESSAGES_EACH):
        text = f"{label} message {i}"
        deadline = time.monotonic() + ACCEPT_WITHIN
        while True:
            assert time.monotonic() < deadline, (
                f"{text!r} never accepted: {customer.log.frames[-5:]}"
            )
            tally.attempts += 1
            try:
                await customer.send(f"{label}-{i}", text, timeout=3)
                break
            except AssertionError:
                if customer.log.closed:
                    # The gateway closed the socket: reconnect and resend, as the widget does.
                    await asyncio.sleep(0.3)
                    try:
                        await customer.connect(customer_url[customer.conversation], timeout=3)
                    except (AssertionError, aiohttp.ClientError):
                        continue
        tally.accept(customer.conversation, text)
        await asyncio.sleep(0.1)


async def agent_keeps_talking(agent: Agent, cid: str, tally: Tally, agent_url: str) -> None:
    for i in range(MESSAGES_EACH):
        text = f"from the agent {i}"
        deadline = time.monotonic() + ACCEPT_WITHIN
        while True:
            assert time.monotonic() < deadline, f"{text!r} never accepted: {agent.log.frames[-5:]}"
            tally.attempts += 1
            try:
                answer = await agent.say(cid, f"a{i}", text, timeout=3)
            except AssertionError:
                answer = {"type": "error", "code": "no answer"}
            if answer["type"] == "ack":
                break
            if agent.log.closed:
                await asyncio.sleep(0.3)
                try:
                    await agent.connect(agent_url)
                except (AssertionError, aiohttp.ClientError):
                    continue
            await asyncio.sleep(0.2)
        tally.accept(cid, text)
        await asyncio.sleep(0.1)


customer_url: dict[str, str] = {}


async def restart_redis_later(cluster: Cluster) -> float:
    await asyncio.sleep(0.6)
    cluster.redis.kill()
    killed = time.monotonic()
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(cluster.redis.start)
    return time.monotonic() - killed


async def test_accepted_messages_survive_a_redis_restart_in_every_chat_state(
    make_cluster: ClusterFactory, http: aiohttp.ClientSession
) -> None:
    cluster = make_cluster(AGENT_GRACE_SECONDS="30")
    # Acknowledged means in the append-only file (see tests/app/test_redis_restart.py): with
    # `everysec` a busy disk lets Redis answer writes it has not written yet; SIGKILL loses them.
    async with Redis.from_url(cluster.redis.url) as admin:
        await admin.config_set("appendfsync", "always")
    replica = cluster.replicas[0]
    (name,) = await cluster.add_agents(1)
    agent = await agent_on(http, replica, name)
    in_bot = Customer(http)
    await in_bot.connect(replica.ws_url)
    queued = await queued_customer(http, cluster.replicas[1])
    with_agent = await queued_customer(http, replica)
    assert (await agent.claim(with_agent.conversation))["type"] == "claimed"
    for customer, url in (
        (in_bot, replica.ws_url),
        (queued, cluster.replicas[1].ws_url),
        (with_agent, replica.ws_url),
    ):
        customer_url[customer.conversation] = url
    tally = Tally()
    outage, *_ = await asyncio.gather(
        restart_redis_later(cluster),
        customer_keeps_talking(in_bot, "bot-chat", tally),
        customer_keeps_talking(queued, "queued-chat", tally),
        customer_keeps_talking(with_agent, "agent-chat", tally),
        agent_keeps_talking(agent, with_agent.conversation, tally, replica.ws_url),
    )

    redis = Redis.from_url(cluster.redis.url, decode_responses=True)
    lost = duplicated = 0
    for customer in (in_bot, queued, with_agent):
        entries: Any = await redis.xrange(Keys("ha").log(customer.conversation))
        stored = [v["text"] for _, v in entries if v.get("from") in {"customer", "agent"}]
        accepted = tally.accepted[customer.conversation]
        counts = Counter(stored)
        lost += sum(1 for text in accepted if counts[text] == 0)
        duplicated += sum(n - 1 for text, n in counts.items() if text in accepted and n > 1)
        in_order = [text for text in stored if text in set(accepted)]
        by_agent = [t for t in accepted if t.startswith("from the agent")]
        by_customer = [t for t in accepted if t not in set(by_agent)]
        assert [t for t in in_order if t in set(by_customer)] == by_customer
        assert [t for t in in_order if t in set(by_agent)] == by_agent
    # The chats are still where they were: the queue and the assignment came back from disk.
    states = {
        c.conversation: await redis.hget(Keys("ha").conversation(c.conversation), "state")
        for c in (in_bot, queued, with_agent)
    }
    assert states == {
        in_bot.conversation: "bot",
        queued.conversation: "queued",
        with_agent.conversation: "assigned",
    }
    # Every message to the bot gets its answer once Redis is back (the sweeper retries turns).
    deadline = time.monotonic() + 20
    while True:
        entries = await redis.xrange(Keys("ha").log(in_bot.conversation))
        replies = [v for _, v in entries if v.get("from") == "bot"]
        if len(replies) >= MESSAGES_EACH or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    await redis.aclose()
    accepted_total = sum(len(v) for v in tally.accepted.values())
    note = f"Redis SIGKILLed for {outage:.1f} s, AOF on; bot, queued and agent chats"
    record_figure("faults.redis_restart.sent", tally.attempts, "messages", note + " (with resends)")
    record_figure("faults.redis_restart.accepted", accepted_total, "messages", note)
    record_figure("faults.redis_restart.lost", lost, "messages", note)
    record_figure("faults.redis_restart.duplicated", duplicated, "messages", note)
    record_figure(
        "faults.redis_restart.bot_replies",
        len(replies),
        "replies",
        f"to {MESSAGES_EACH} messages in the bot chat",
    )
    assert accepted_total == 4 * MESSAGES_EACH
    assert lost == 0 and duplicated == 0
    assert len(replies) == MESSAGES_EACH
    for client in (in_bot, queued, with_agent):
        await client.drop()
    await agent.drop()
