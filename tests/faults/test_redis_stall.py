"""Redis stalled (SIGSTOP) for a few seconds: no customer or agent waits longer than the
service's bounded timeout, /healthz says so quickly, and it all recovers by itself after SIGCONT."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.faults.conftest import ClusterFactory, agent_on, queued_customer
from tests.support.clients import Customer
from tests.support.figures import record_figure

STALL_SECONDS = 5.0
REDIS_TIMEOUT = 0.5
# The longest any request may wait on a stalled Redis: the service's storage deadline
# (4 x REDIS_TIMEOUT_SECONDS, Settings.storage_deadline), plus the one-second pause a socket's
# writer takes after a failed read before it delivers the `unavailable` answer, plus slack.
LONGEST_ALLOWED_WAIT = 4 * REDIS_TIMEOUT + 1.0 + 1.0


async def timed(coro: object) -> tuple[float, object]:
    started = time.monotonic()
    result = await coro  # type: ignore[misc]
    return time.monotonic() - started, result


async def test_a_stalled_redis_never_holds_anyone_longer_than_the_timeout(
    make_cluster: ClusterFactory, http: aiohttp.ClientSession
) -> None:
    cluster = make_cluster(replicas=1, REDIS_TIMEOUT_SECONDS=str(REDIS_TIMEOUT))
    replica = cluster.replicas[0]
    (name,) = await cluster.add_agents(1)
    agent = await agent_on(http, replica, name)
    in_bot = Customer(http)
    await in_bot.connect(replica.ws_url)
    await in_bot.send("warm-up", "hello there")
    with_agent = await queued_customer(http, replica)
    assert (await agent.claim(with_agent.conversation))["type"] == "claimed"

    waits: dict[str, list[float]] = {"customer": [], "agent": [], "health": [], "new_chat": []}
    outcomes: dict[str, list[str]] = {key: [] for key in waits}

    async def customer_turns() -> None:
        for i in range(4):
            assert in_bot.ws is not None
            start = len(in_bot.log.frames)
            began = time.monotonic()
            await in_bot.ws.send_json({"type": "message", "id": f"stall-{i}", "text": f"s{i}"})
            frame = await in_bot.log.wait_for(
                lambda f, i=i: f.get("id") == f"stall-{i}" and f["type"] in {"ack", "error"},
                timeout=30,
                start=start,
            )
            waits["customer"].append(time.monotonic() - began)
            outcomes["customer"].append(frame.get("code", frame["type"]))
            await asyncio.sleep(0.5)

    async def agent_turns() -> None:
        for i in range(4):
            began = time.monotonic()
            frame = await agent.say(with_agent.conversation, f"stall-{i}", f"a{i}", timeout=30)
            waits["agent"].append(time.monotonic() - began)
            outcomes["agent"].append(frame.get("code", frame["type"]))
            await asyncio.sleep(0.5)

    async def health_checks() -> None:
        for _ in range(4):
            began = time.monotonic()
            async with http.get(replica.url + "/healthz") as response:
                outcomes["health"].append(str(response.status))
            waits["health"].append(time.monotonic() - began)
            await asyncio.sleep(0.5)

    async def new_chats() -> None:
        for _ in range(3):
            began = time.monotonic()
            try:
                async with http.ws_connect(replica.ws_url + "/ws/customer") as ws:
                    await ws.send_json({"type": "hello", "v": 1})
                    frame = await ws.receive_json(timeout=30)
                outcome = frame.get("code", frame["type"])
            except aiohttp.WSServerHandshakeError as error:
                # Refused before the upgrade (the per-address limit lives in Redis): the widget
                # retries with backoff.
                outcome = f"http {error.status}"
            waits["new_chat"].append(time.monotonic() - began)
            outcomes["new_chat"].append(outcome)
            await asyncio.sleep(0.5)

    cluster.redis.pause()
    stalled_at = time.monotonic()
    try:
        await asyncio.gather(customer_turns(), agent_turns(), health_checks(), new_chats())
        # Keep Redis stopped for the whole stall even if everyone answered quickly.
        await asyncio.sleep(max(0.0, STALL_SECONDS - (time.monotonic() - stalled_at)))
    finally:
        cluster.redis.resume()
    resumed_at = time.monotonic()

    # Recovery needs no restart: the same sockets work again.
    await in_bot.send("after-stall", "are you back?", timeout=15)
    await in_bot.wait_for(lambda f: f.get("text") == "echo: are you back?", timeout=15)
    assert (await agent.say(with_agent.conversation, "after", "back again", timeout=15))[
        "type"
    ] == "ack"
    await with_agent.wait_for(lambda f: f.get("text") == "back again", timeout=15)
    while True:
        async with http.get(replica.url + "/healthz") as response:
            if response.status == 200:
                break
        assert time.monotonic() - resumed_at < 15
        await asyncio.sleep(0.2)
    recovered = time.monotonic() - resumed_at

    longest = max(max(v) for v in waits.values())
    note = f"Redis SIGSTOPped {STALL_SECONDS:.0f} s, REDIS_TIMEOUT_SECONDS={REDIS_TIMEOUT}"
    for key, values in waits.items():
        record_figure(f"faults.redis_stall.longest_{key}_wait", max(values), "s", note)
    record_figure("faults.redis_stall.healthy_again_after", recovered, "s", "after SIGCONT")
    print("outcomes during the stall:", outcomes)
    # During the stall nobody is told "ok" falsely: health is 503, messages are either
    # acknowledged (stored before the stall bit) or refused as unavailable, to be resent.
    assert "503" in outcomes["health"]
    assert set(outcomes["customer"]) <= {"ack", "unavailable"}
    assert longest < LONGEST_ALLOWED_WAIT, waits
    for client in (in_bot, with_agent):
        await client.drop()
    await agent.drop()
