"""Races across two replicas: claims, agent capacity, and a burst of customer messages.

The three share one cluster, started once for the module: each works only with customers and
agents of its own, and nothing of the cluster is broken on purpose here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
import pytest
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from tests.faults.conftest import Cluster, agent_on, queued_customer, start_cluster
from tests.support.clients import Customer, is_event_from
from tests.support.figures import record_figure

CLAIM_ROUNDS = 25
CLAIMING_AGENTS = 8


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    shared = start_cluster(tmp_path_factory.mktemp("races"))
    yield shared
    shared.stop()


async def test_many_agents_claiming_one_chat_have_exactly_one_winner_every_round(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    names = await cluster.add_agents(CLAIMING_AGENTS, capacity=CLAIM_ROUNDS)
    # Half of the agents on each replica: the race is decided in Redis, not in one process.
    agents = [await agent_on(http, cluster.replicas[i % 2], name) for i, name in enumerate(names)]
    winners_per_round = []
    for round_number in range(CLAIM_ROUNDS):
        customer = await queued_customer(http, cluster.replicas[round_number % 2])
        cid = customer.conversation
        answers = await asyncio.gather(*(agent.claim(cid) for agent in agents))
        winners = [a for a, f in zip(agents, answers, strict=True) if f["type"] == "claimed"]
        losers = [f for f in answers if f["type"] == "claim_failed"]
        winners_per_round.append(len(winners))
        assert len(winners) == 1, answers
        assert len(losers) == CLAIMING_AGENTS - 1, answers
        # Every loser is told who won, by the same display name.
        assert {f["winner"] for f in losers} == {winners[0].name}, losers
        # The customer sees exactly one agent join.
        joined = await customer.wait_for(
            lambda f: f.get("event") == "state" and f.get("state") == "assigned"
        )
        assert joined["agent_name"] == winners[0].name
        await customer.drop()
    record_figure(
        "faults.claim_race.rounds",
        CLAIM_ROUNDS,
        "rounds",
        f"{CLAIMING_AGENTS} agents on 2 replicas claim the same queued chat at once",
    )
    record_figure("faults.claim_race.max_winners", max(winners_per_round), "winners/round", "")
    record_figure("faults.claim_race.min_winners", min(winners_per_round), "winners/round", "")
    for agent in agents:
        await agent.drop()


async def test_agent_capacity_holds_across_two_replicas(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    capacity = 2
    (name,) = await cluster.add_agents(1, capacity=capacity)
    # The same agent has the console open on both replicas (two tabs behind a balancer).
    consoles = [await agent_on(http, replica, name) for replica in cluster.replicas]
    rounds, over = 6, 0
    peak = 0
    redis = Redis.from_url(cluster.redis.url, decode_responses=True)
    for round_number in range(rounds):
        customers = [await queued_customer(http, cluster.replicas[i % 2]) for i in range(5)]
        claims = [
            consoles[i % 2].claim(customer.conversation) for i, customer in enumerate(customers)
        ]
        answers = await asyncio.gather(*claims)
        won = [f for f in answers if f["type"] == "claimed"]
        held = int(await redis.scard(Keys("ha").agent_chats(name)))
        peak = max(peak, held)
        over += held > capacity
        assert len(won) == capacity, (round_number, answers)
        assert held == capacity
        assert all(f["reason"] == "capacity" for f in answers if f["type"] == "claim_failed")
        # Close the won chats so the next round starts with free slots.
        for frame in won:
            cid = frame["conversation"]
            owner = next(
                c
                for c in consoles
                if any(
                    f.get("conversation") == cid and f["type"] == "claimed" for f in c.log.frames
                )
            )
            await owner.send({"type": "close", "conversation": cid})
            await owner.log.wait_for(
                lambda f, cid=cid: f["type"] == "closed" and f["conversation"] == cid, timeout=10
            )
        for customer in customers:
            await customer.drop()
    await redis.aclose()
    record_figure(
        "faults.capacity.rounds",
        rounds,
        "rounds",
        f"5 simultaneous claims from 2 replicas by one agent of capacity {capacity}",
    )
    record_figure("faults.capacity.peak_chats", peak, "chats", f"capacity {capacity}")
    record_figure("faults.capacity.rounds_over_limit", over, "rounds", "")
    assert over == 0
    for console in consoles:
        await console.drop()


async def test_a_burst_of_messages_is_answered_in_order_one_bot_turn_at_a_time(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.rasa.control(delay=0.05)  # long enough for turns to overlap if they could
    burst = 40
    customer = Customer(http)
    await customer.connect(cluster.replicas[0].ws_url)
    # A second tab of the same chat on the other replica sends half of the burst.
    other = Customer(http)
    other.token = customer.token
    await other.connect(cluster.replicas[1].ws_url)
    started = time.monotonic()
    texts = [f"burst message {i:02d}" for i in range(burst)]
    sends = [
        (customer if i % 2 == 0 else other).send(f"b{i:02d}", text) for i, text in enumerate(texts)
    ]
    acks = await asyncio.gather(*sends)
    assert not any(a["duplicate"] for a in acks)
    # Every message is answered: wait for as many answers as messages (in whatever order the
    # transcript holds them; that order is checked below).
    deadline = time.monotonic() + 30
    while sum(is_event_from("bot")(f) for f in customer.log.frames) < burst:
        assert time.monotonic() < deadline, customer.log.frames[-5:]
        await asyncio.sleep(0.05)
    # Give any stray extra turn a moment to show up before counting.
    await asyncio.sleep(0.5)
    seconds = time.monotonic() - started
    customer.absorb()
    entries = [customer.seen[i] for i in customer.order]
    said = [e["text"] for e in entries if e["from"] == "customer"]
    answered = [e["text"] for e in entries if e["from"] == "bot"]
    stats = cluster.rasa.stats()
    seen_by_bot = stats["received"][customer.conversation]
    # The order is the transcript's (stream ids): the bot sees it exactly, once each.
    assert seen_by_bot == said
    assert sorted(said) == sorted(texts)
    assert answered == [f"echo: {t}" for t in said]
    # The stand-in's peak over every chat it has answered, the other tests' ones too.
    assert stats["max_in_flight_per_sender"] == 1
    record_figure(
        "faults.burst.messages",
        burst,
        "messages",
        "sent at once to one chat, from two tabs on two replicas",
    )
    record_figure("faults.burst.answered_in_order", len(answered), "messages", "")
    record_figure(
        "faults.burst.max_concurrent_bot_turns",
        stats["max_in_flight_per_sender"],
        "turns",
        "per conversation, seen by the Rasa stand-in",
    )
    record_figure("faults.burst.seconds", seconds, "s", "until the last answer, 50 ms per turn")
    await customer.drop()
    await other.drop()
    cluster.rasa.control(delay=0)  # the shared stand-in answers at once again
