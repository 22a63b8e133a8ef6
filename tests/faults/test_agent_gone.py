"""An agent's browser disappears (the connection cut, no websocket close): after the grace
period the chat goes back to the queue at the front, and the customer is told."""

from __future__ import annotations

import time

import aiohttp
from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from tests.faults.conftest import ClusterFactory, agent_on, queued_customer
from tests.support.figures import record_figure

GRACE_SECONDS = 2.0


async def test_a_vanished_agents_chat_goes_back_first_in_line_and_the_customer_is_told(
    make_cluster: ClusterFactory, http: aiohttp.ClientSession
) -> None:
    cluster = make_cluster(AGENT_GRACE_SECONDS=str(GRACE_SECONDS))
    vanishing_name, colleague_name = await cluster.add_agents(2)
    agent = await agent_on(http, cluster.replicas[0], vanishing_name)
    colleague = await agent_on(http, cluster.replicas[1], colleague_name)
    customer = await queued_customer(http, cluster.replicas[1])
    assert (await agent.claim(customer.conversation))["type"] == "claimed"
    assert (await agent.say(customer.conversation, "hello", "Hi, I'm looking into it"))[
        "type"
    ] == "ack"
    # Two other customers start waiting meanwhile; the abandoned chat must still go first.
    waiting = [await queued_customer(http, cluster.replicas[i]) for i in (0, 1)]

    agent.vanish()
    vanished_at = time.monotonic()
    told = await customer.wait_for(
        lambda f: (
            f.get("event") == "state"
            and f.get("state") == "queued"
            and f.get("reason") == "agent_disconnected"
        ),
        timeout=GRACE_SECONDS + 15,
    )
    told_after = time.monotonic() - vanished_at
    assert "disconnected" in told["text"] and "first in line" in told["text"]
    position = await customer.wait_for(
        lambda f: f.get("type") == "queue" and f.get("position") == 1, timeout=10
    )
    redis = Redis.from_url(cluster.redis.url, decode_responses=True)
    queue = await redis.zrange(Keys("ha").queue("support"), 0, -1)
    await redis.aclose()
    assert queue[0] == customer.conversation
    assert set(queue[1:]) == {w.conversation for w in waiting}
    # The colleague's console shows it first, and they can take it over with the whole chat.
    await colleague.log.wait_for(
        lambda f: (
            f["type"] == "queue"
            and f["items"]
            and f["items"][0]["conversation"] == customer.conversation
        ),
        timeout=10,
    )
    assert (await colleague.claim(customer.conversation))["type"] == "claimed"
    await colleague.log.wait_for(
        lambda f: (
            f.get("conversation") == customer.conversation
            and f.get("text") == "Hi, I'm looking into it"
        ),
        timeout=10,
    )
    record_figure(
        "faults.agent_gone.customer_told_after",
        told_after,
        "s",
        f"console connection cut without a close, AGENT_GRACE_SECONDS={GRACE_SECONDS:.0f}",
    )
    record_figure(
        "faults.agent_gone.queue_position",
        position["position"],
        "position",
        "of the abandoned chat, with 2 others already waiting",
    )
    # Not before the grace period (counted from the console's last heartbeat, which beats every
    # third of it), and not much after: the sweeper looks every 2 s.
    assert GRACE_SECONDS - GRACE_SECONDS / 3 - 0.2 < told_after < GRACE_SECONDS + 2 * 2.0 + 1.0
    for client in (customer, *waiting):
        await client.drop()
    await colleague.drop()
