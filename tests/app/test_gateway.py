"""The customer gateway against a real Redis and a scripted Rasa peer."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import WSMsgType

from handoff.gateway import tokens
from handoff.state import app_state
from tests.app.conftest import SECRET, AppFactory
from tests.app.protocol import CLIENT, open_chat
from tests.support.clients import frames_until, is_bot_message
from tests.support.fake_rasa import FakeRasa


async def next_error(ws: Any) -> dict[str, Any]:
    frames = await frames_until(ws, lambda f: f.get("type") == "error")
    return frames[-1]


async def test_a_new_chat_gets_an_id_a_token_and_bot_replies(make_client: AppFactory) -> None:
    client = await make_client()
    ws, welcome = await open_chat(client)
    assert welcome["type"] == "welcome" and welcome["state"] == "bot"
    assert tokens.verify(SECRET, welcome["token"]) == welcome["conversation"]
    await ws.send_json({"type": "message", "id": "c1", "text": "hello there"})
    frames = await frames_until(ws, is_bot_message)
    assert {"type": "ack", "id": "c1"}.items() <= next(
        f for f in frames if f["type"] == "ack"
    ).items()
    mine = [f for f in frames if f.get("from") == "customer"]
    assert mine and mine[0]["text"] == "hello there" and mine[0]["client_id"] == "c1"
    assert frames[-1]["text"] == "echo: hello there"
    await ws.close()


async def test_reconnecting_with_last_seen_gets_exactly_the_missed_messages(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "a", "text": "first"})
    frames = await frames_until(ws, is_bot_message)
    last_seen = frames[-1]["id"]
    await ws.close()
    # While the customer is away, the bot answers a message sent from another tab.
    other, _ = await open_chat(client, token=welcome["token"], last_seen=last_seen)
    await other.send_json({"type": "message", "id": "b", "text": "second"})
    await frames_until(other, lambda f: is_bot_message(f) and f["text"] == "echo: second")
    await other.close()
    back, again = await open_chat(client, token=welcome["token"], last_seen=last_seen)
    assert again["conversation"] == welcome["conversation"]
    replay = await frames_until(back, lambda f: is_bot_message(f) and f["text"] == "echo: second")
    texts = [f["text"] for f in replay if f.get("type") == "event" and f["kind"] == "message"]
    assert texts == ["second", "echo: second"]
    # ...and nothing more: the next message's entries come next, with no earlier entry again
    # before them (the outbox sends the log in order, so a duplicate would come first).
    await back.send_json({"type": "message", "id": "c", "text": "third"})
    after = await frames_until(back, lambda f: is_bot_message(f) and f["text"] == "echo: third")
    texts = [f["text"] for f in after if f.get("type") == "event" and f["kind"] == "message"]
    assert texts == ["third", "echo: third"]
    await back.close()


async def test_a_resent_message_is_stored_once(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client()
    ws, _ = await open_chat(client)
    await ws.send_json({"type": "message", "id": "same", "text": "where is my order"})
    await ws.send_json({"type": "message", "id": "same", "text": "where is my order"})
    frames = await frames_until(ws, is_bot_message)
    acks = [f for f in frames if f["type"] == "ack"]
    while len(acks) < 2:
        frame = await ws.receive_json(timeout=3)
        if frame["type"] == "ack":
            acks.append(frame)
    assert [a["duplicate"] for a in acks] == [False, True]
    assert acks[0]["entry"] == acks[1]["entry"]
    # Barrier: the bot answers one conversation's messages one at a time, in order, so the
    # answer to a later message comes after any turn the resend could have caused.
    await ws.send_json({"type": "message", "id": "later", "text": "and my refund"})
    await frames_until(ws, lambda f: is_bot_message(f) and f["text"] == "echo: and my refund")
    assert [m for _, m in rasa[0].received] == ["where is my order", "and my refund"]
    await ws.close()


async def test_forged_expired_and_foreign_tokens_are_refused(make_client: AppFactory) -> None:
    client = await make_client()
    _, welcome = await open_chat(client)
    cid = welcome["conversation"]
    forged = welcome["token"][:-4] + ("AAAA" if not welcome["token"].endswith("AAAA") else "BBBB")
    expired = tokens.issue(SECRET, cid, ttl_seconds=60, now=time.time() - 3600)
    other_secret = tokens.issue("another-secret", cid, ttl_seconds=3600)
    unknown = tokens.issue(SECRET, "0" * 32, ttl_seconds=3600)
    for bad in (forged, expired, other_secret, unknown, "garbage", "v1.." + "x" * 300):
        ws, frame = await open_chat(client, token=bad)
        assert frame["type"] == "error" and frame["code"] == "token_refused", bad
        msg = await ws.receive(timeout=3)
        assert msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED}
        await ws.close()


async def test_bad_frames_get_clear_errors_and_lose_nothing(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    client = await make_client(max_message_chars=50)
    ws, _ = await open_chat(client)
    await ws.send_str("{not json")
    assert (await next_error(ws))["code"] == "bad_frame"
    await ws.send_bytes(b"\x00\x01binary")
    assert (await next_error(ws))["code"] == "bad_frame"
    await ws.send_json({"type": "message", "id": "long", "text": "x" * 51}, check=False)
    too_long = await next_error(ws)
    assert too_long["code"] == "too_long" and too_long["id"] == "long"
    assert not CLIENT.is_valid({"type": "message", "id": "bad id!", "text": "hi"})
    await ws.send_json({"type": "message", "id": "bad id!", "text": "hi"}, check=False)
    assert (await next_error(ws))["code"] == "bad_message"
    await ws.send_json({"type": "shout"}, check=False)
    assert (await next_error(ws))["code"] == "unknown_type"
    # The socket still works after all of that.
    await ws.send_json({"type": "message", "id": "ok1", "text": "still here"})
    frames = await frames_until(ws, is_bot_message)
    assert frames[-1]["text"] == "echo: still here"
    assert [m for _, m in rasa[0].received] == ["still here"]
    await ws.close()


async def test_an_oversized_frame_closes_the_socket_with_a_reason(make_client: AppFactory) -> None:
    client = await make_client(max_frame_bytes=1024)
    ws, _ = await open_chat(client)
    await ws.send_str(json.dumps({"type": "message", "id": "big", "text": "y" * 5000}))
    msg = await ws.receive(timeout=3)
    while msg.type == WSMsgType.TEXT:  # entries already on their way before the close
        msg = await ws.receive(timeout=3)
    assert msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}
    assert msg.data == 1009  # "message too big"
    await ws.close()


async def test_rasa_down_gets_an_apology_and_an_offer_in_bounded_time(
    make_client: AppFactory,
) -> None:
    client = await make_client(rasa_urls=("http://127.0.0.1:9",), bot_turn_timeout=1.0)
    ws, _ = await open_chat(client)
    started = time.monotonic()
    await ws.send_json({"type": "message", "id": "q", "text": "are you there"})
    frames = await frames_until(ws, is_bot_message)
    assert time.monotonic() - started < 3.0
    apology = frames[-1]
    assert "trouble" in apology["text"]
    assert any("person" in b["title"] for b in apology["buttons"])
    assert any(f.get("from") == "customer" and f["text"] == "are you there" for f in frames)
    await ws.close()


async def test_a_burst_is_answered_in_order_one_turn_at_a_time(
    make_client: AppFactory, rasa: tuple[FakeRasa, str]
) -> None:
    scripted = rasa[0]
    scripted.delay = 0.05
    client = await make_client()
    ws, _ = await open_chat(client)
    texts = [f"message {i}" for i in range(8)]
    for i, text in enumerate(texts):
        await ws.send_json({"type": "message", "id": f"b{i}", "text": text})
    frames = await frames_until(
        ws, lambda f: is_bot_message(f) and f["text"] == "echo: message 7", timeout=10
    )
    replies = [f["text"] for f in frames if is_bot_message(f)]
    assert replies == [f"echo: {t}" for t in texts]
    assert [m for _, m in scripted.received] == texts
    assert scripted.max_in_flight == 1
    await ws.close()


async def test_a_foreign_origin_cannot_open_a_chat(make_client: AppFactory) -> None:
    client = await make_client()
    response = await client.get(
        "/ws/customer",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403
    ws, welcome = await open_chat(client, Origin="http://localhost:8080")
    assert welcome["type"] == "welcome"
    await ws.close()


async def test_health_reports_each_dependency(make_client: AppFactory) -> None:
    client = await make_client()
    healthy = await client.get("/healthz")
    body = await healthy.json()
    assert healthy.status == 200 and body["checks"]["redis"]["ok"] and body["checks"]["rasa"]["ok"]
    down = await make_client(rasa_urls=("http://127.0.0.1:9",))
    degraded = await down.get("/healthz")
    assert degraded.status == 503
    assert (await degraded.json())["checks"]["rasa"]["ok"] is False
    metrics = await client.get("/metrics")
    assert "harbor_customer_sockets" in await metrics.text()


async def test_the_transcript_download_needs_the_conversation_token(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "t1", "text": "my mug is chipped"})
    await frames_until(ws, is_bot_message)
    ok = await client.get(
        "/api/transcript", headers={"Authorization": f"Bearer {welcome['token']}"}
    )
    text = await ok.text()
    assert ok.status == 200 and "You: my mug is chipped" in text and "Assistant: echo:" in text
    refused = await client.get("/api/transcript", params={"token": "v1.forged.1.x"})
    assert refused.status == 403
    await ws.close()


async def test_messages_to_a_closed_chat_or_over_the_limit_are_refused_by_name_and_not_stored(
    make_client: AppFactory,
) -> None:
    # The append script refuses both in the same round trip as the write (lua/append.lua).
    client = await make_client(customer_rate_per_minute=3)
    state = app_state(client.server.app)
    ws, welcome = await open_chat(client)
    cid = welcome["conversation"]
    for n in range(3):
        await ws.send_json({"type": "message", "id": f"ok{n}", "text": f"question {n}"})
        await frames_until(ws, lambda f, n=n: f.get("type") == "ack" and f["id"] == f"ok{n}")
    await ws.send_json({"type": "message", "id": "fourth", "text": "one too many"})
    refused = await frames_until(ws, lambda f: f.get("type") == "error")
    assert refused[-1]["code"] == "rate_limited" and refused[-1]["id"] == "fourth"
    # A message the limit refused was never stored, so nothing acknowledges it.
    assert not any(f.get("type") == "ack" and f["id"] == "fourth" for f in refused)

    other, other_welcome = await open_chat(client)
    other_cid = other_welcome["conversation"]
    await state.store.move(other_cid, allowed=["bot"], new_state="closed", event_text="Closed.")
    await frames_until(other, lambda f: f.get("event") == "state" and f["state"] == "closed")
    await other.send_json({"type": "message", "id": "late", "text": "are you there?"})
    closed = await frames_until(other, lambda f: f.get("type") == "error")
    assert closed[-1]["code"] == "closed" and closed[-1]["id"] == "late"
    stored = [e.text for e in await state.store.read_all(other_cid)]
    assert "are you there?" not in stored and "one too many" not in [
        e.text for e in await state.store.read_all(cid)
    ]
    # A refused message does not count against the limit: the closed chat's counter is empty.
    counter = state.limits.counter("conv-msg", other_cid, 3)
    assert await state.redis.get(counter.key) is None
