"""Flooding from one client is limited without hurting anyone else's conversation.

One customer sends thousands of frames as fast as the socket takes them while another customer
has an ordinary chat; the flooder is cut down to the configured limits and the other
customer's bot turns stay as quick as without the flood. A flood of new chats from one address
is refused past IP_CONNECTIONS_PER_MINUTE while another address opens its chat as usual.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from tests.app.conftest import AppFactory
from tests.support.clients import PASSWORD, login
from tests.support.fake_rasa import FakeRasa
from tests.support.figures import record_figure

TURNS = 15
FLOOD_FRAMES = 3000
# How much slower the other customer's typical and slowest turns may be during the flood than
# without it (the machine is shared: a margin for scheduling noise, far below a felt delay).
ALLOWED_MEDIAN_SLOWDOWN = 0.1
ALLOWED_SLOWDOWN = 0.5


async def _hello(client: TestClient) -> tuple[Any, dict[str, Any]]:
    ws = await client.ws_connect("/ws/customer")
    await ws.send_json({"type": "hello", "v": 1, "token": None})
    return ws, await ws.receive_json(timeout=5)


async def ordinary_chat(client: TestClient, label: str) -> list[float]:
    """A customer asking TURNS questions one after another; seconds until each answer."""
    ws, _ = await _hello(client)
    latencies = []
    for turn in range(TURNS):
        text = f"{label} where is order {turn}"
        started = time.monotonic()
        await ws.send_json({"type": "message", "id": f"{label}{turn}", "text": text})
        while True:
            frame = await ws.receive_json(timeout=10)
            if frame.get("from") == "bot" and frame.get("text") == f"echo: {text}":
                break
        latencies.append(time.monotonic() - started)
    await ws.close()
    return latencies


async def flood(client: TestClient) -> dict[str, Any]:
    """One socket, FLOOD_FRAMES messages, typing hints and pings as fast as they go out."""
    ws, welcome = await _hello(client)
    kinds = [
        lambda i: {"type": "message", "id": f"f{i}", "text": f"spam {i}"},
        lambda i: {"type": "typing", "on": bool(i % 2)},
        lambda i: {"type": "ping"},
    ]
    for i in range(FLOOD_FRAMES):
        await ws.send_json(kinds[i % 3](i))
    received: dict[str, int] = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 1.5:
        try:
            msg = await ws.receive(timeout=0.5)
        except TimeoutError:
            continue
        if msg.type != WSMsgType.TEXT:
            break
        frame = msg.json()
        key = frame.get("code") or frame["type"]
        received[key] = received.get(key, 0) + 1
        quiet_since = time.monotonic()
    await ws.close()
    return {"conversation": welcome["conversation"], "received": received}


async def test_a_flooding_customer_is_limited_and_others_are_not_slowed(
    make_client: AppFactory, rasa: tuple[FakeRasa, str], redis_url: str
) -> None:
    rasa[0].delay = 0.02  # a bot turn takes a little time, as a real one does
    client = await make_client()  # the default limits
    baseline = await ordinary_chat(client, "calm")
    flooded, during = await asyncio.gather(flood(client), ordinary_chat(client, "during"))
    redis = Redis.from_url(redis_url, decode_responses=True)
    stored = await redis.xrange(Keys("ha").log(flooded["conversation"]))
    await redis.aclose()
    spam = [v for _, v in stored if v.get("from") == "customer"]
    limit = 40  # CUSTOMER_MESSAGES_PER_MINUTE's default
    assert 0 < len(spam) <= limit
    received = flooded["received"]
    assert received.get("rate_limited", 0) >= 1
    assert received.get("pong", 0) < FLOOD_FRAMES // 3
    slowest_before, slowest_during = max(baseline), max(during)
    median_before, median_during = statistics.median(baseline), statistics.median(during)
    assert median_during <= median_before + ALLOWED_MEDIAN_SLOWDOWN, (baseline, during)
    assert slowest_during <= slowest_before + ALLOWED_SLOWDOWN, (baseline, during)
    record_figure(
        "flood.flooder_messages_stored",
        len(spam),
        f"of {FLOOD_FRAMES // 3} messages sent ({FLOOD_FRAMES} frames in all)",
        "one socket flooding messages, typing and pings; default limits",
    )
    record_figure(
        "flood.other_turn_p50_ms",
        round(median_during * 1000),
        f"ms during the flood (without: {median_before * 1000:.0f} ms; "
        f"allowed +{ALLOWED_MEDIAN_SLOWDOWN * 1000:.0f} ms)",
        f"another customer's {TURNS} bot turns while one client floods",
    )
    record_figure(
        "flood.other_turn_max_ms",
        round(slowest_during * 1000),
        f"ms during the flood (without: {slowest_before * 1000:.0f} ms; "
        f"allowed +{ALLOWED_SLOWDOWN * 1000:.0f} ms)",
        f"another customer's {TURNS} bot turns while one client floods",
    )


async def test_a_flood_of_new_chats_from_one_address_spares_other_addresses(
    make_client: AppFactory,
) -> None:
    client = await make_client(ip_connections_per_minute=20)
    base_url = str(client.make_url("/"))
    flooder = aiohttp.ClientSession(
        base_url=base_url, connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    )
    neighbour = aiohttp.ClientSession(
        base_url=base_url, connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0))
    )
    opened = refused = 0
    try:
        for _ in range(60):
            try:
                ws = await flooder.ws_connect("/ws/customer")
            except aiohttp.WSServerHandshakeError as error:
                assert error.status == 429
                refused += 1
                continue
            opened += 1
            await ws.close()
        assert opened == 20 and refused == 40
        ws = await neighbour.ws_connect("/ws/customer")
        await ws.send_json({"type": "hello", "v": 1, "token": None})
        assert (await ws.receive_json(timeout=5))["type"] == "welcome"
        await ws.close()
    finally:
        await flooder.close()
        await neighbour.close()
    record_figure(
        "flood.new_chats_refused",
        refused,
        "of 60 new chats from one address (limit 20/min)",
        "another address opened its chat as usual",
    )


async def test_a_flooding_console_socket_is_limited_too(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    redis = Redis.from_url(redis_url, decode_responses=True)
    await Accounts(redis, Keys("ha")).create("flo", PASSWORD)
    await redis.aclose()
    cookie = (await login(client, "flo", PASSWORD))["cookie"]
    ws = await client.ws_connect("/ws/agent", headers=cookie)
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    started = time.monotonic()
    for _ in range(500):
        await ws.send_json({"type": "ping"})
    pongs = limited = 0
    while True:
        try:
            frame = await ws.receive_json(timeout=1.0)
        except TimeoutError:
            break
        pongs += frame["type"] == "pong"
        limited += frame.get("code") == "rate_limited"
    seconds = time.monotonic() - started
    await ws.close()
    # The budget: a burst of 40, then 10 a second.
    assert limited >= 1 and pongs <= 40 + 10 * seconds + 1, (pongs, seconds)
    record_figure(
        "flood.console_pings_answered",
        pongs,
        f"of 500 pings sent at once on a console socket ({seconds:.1f} s)",
        "SOCKET_FRAMES_PER_SECOND=10, bursts of 40; the rest dropped unread",
    )
