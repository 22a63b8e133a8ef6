"""The customer gateway: the widget's websocket `/ws/customer` (protocol v1, docs/protocol.md).

A connection starts with `hello`. Without a token the gateway opens a new conversation and
issues a signed resume token; with one it resumes that conversation and replays every entry
after the client's `last_seen` id, so a reload or a dropped network shows nothing twice and
loses nothing. Each socket has one reader (this module's read loop, which hands each frame to
`gateway/handlers.py`) and one writer (its `Outbox` task, `gateway/outbox.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.email import away
from handoff.gateway import proactive, tokens
from handoff.gateway.frames import HELLO, Hello, Welcome, error
from handoff.gateway.handlers import handle
from handoff.gateway.outbox import Outbox
from handoff.state import AppState, app_state
from handoff.web.sockets import (
    frame_budget,
    origin_allowed,
    over_budget,
    receive_json,
    send_frame,
    serve_socket,
)
from handoff.web.wire import CLIENT_ID, PROTOCOL_VERSION, Refused

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0


async def customer_socket(request: web.Request) -> web.StreamResponse:
    state = app_state(request.app)
    if not origin_allowed(request, state):
        state.metrics.refused("origin")
        raise web.HTTPForbidden(text="This origin may not open a chat.")
    peer = request.remote or "unknown"
    try:
        allowed = await asyncio.wait_for(
            state.limits.allow("ip-connect", peer, state.settings.ip_connections_per_minute),
            timeout=state.settings.storage_deadline,
        )
    except asyncio.TimeoutError:
        raise web.HTTPServiceUnavailable(text="Chat is briefly unavailable; try again.") from None
    if not allowed:
        state.metrics.refused("ip_rate")
        raise web.HTTPTooManyRequests(text="Too many new chats from this address; wait a minute.")
    return await serve_socket(
        request,
        max_frame_bytes=state.settings.max_frame_bytes,
        registry=state.customer_sockets,
        gauge=state.metrics.customer_sockets,
        serve=lambda ws: _serve(ws, state),
    )


async def _serve(ws: web.WebSocketResponse, state: AppState) -> None:
    begun = await _begin(ws, state)
    if begun is None:
        return
    outbox, telling = begun
    cid = outbox.cid
    unwatch = state.live.watch(cid, outbox.hint)
    writer = asyncio.create_task(outbox.run())
    try:
        # Where the customer's sockets are: an agent's message to one gone a while also goes by
        # email (handoff/email/away.py). Without Redis the mark waits for the next beat.
        with contextlib.suppress(RedisError):
            await away.arrived(state, cid)
        await _read_loop(ws, state, cid, outbox)
    finally:
        unwatch()
        outbox.stop()
        await away.left(state, cid)
        # Bounded by the order store's timeout; finished rather than cut off mid-write.
        if telling:
            await asyncio.wait(telling, timeout=state.settings.orders_timeout + 1.0)
        done, _ = await asyncio.wait({writer}, timeout=1.0)
        if not done:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


async def _begin(
    ws: web.WebSocketResponse, state: AppState
) -> tuple[Outbox, set[asyncio.Task[bool]]] | None:
    """`hello` answered with `welcome`: the socket's outbox, and its order-news task while that
    runs (the set empties when it ends); None when the socket was refused (and closed).

    A function of its own so that what only the opening needs (the hello, the welcome, the
    conversation's fields, which grow with the chat) is freed when it returns, not held in a
    frame for as long as the socket stays open.
    """
    try:
        data = await receive_json(ws, HELLO_TIMEOUT)
    except (asyncio.TimeoutError, TimeoutError):
        await ws.close(code=4408, message=b"hello expected")
        return None
    except ValueError as bad:
        await send_frame(ws, error("bad_frame", str(bad)))
        await ws.close(code=4400, message=b"bad hello")
        return None
    if data is None:
        return None
    try:
        hello = HELLO.read(data)
    except Refused as refused:
        await send_frame(ws, error(refused.code, refused.message, **refused.extra))
        await ws.close(code=4400, message=b"hello expected")
        return None
    try:
        cid, token, last_seen, conversation = await asyncio.wait_for(
            _open_conversation(state, hello), timeout=state.settings.storage_deadline
        )
    except tokens.TokenRefused:
        state.metrics.refused("token")
        await send_frame(ws, error("token_refused", "This chat can't be resumed. Start a new one."))
        await ws.close(code=4401, message=b"token refused")
        return None
    except (RedisError, asyncio.TimeoutError):
        await send_frame(ws, error("unavailable", "Chat is unavailable; retrying shortly."))
        await ws.close(code=1013, message=b"try again later")
        return None
    welcome = Welcome.model_validate(
        {
            "type": "welcome",
            "v": PROTOCOL_VERSION,
            "conversation": cid,
            "token": token,
            "state": conversation.get("state", "bot"),
            "max_message_chars": state.settings.max_message_chars,
        }
    )
    await send_frame(ws, welcome.frame())
    outbox = Outbox(ws, state, cid, last_seen, conversation.get("state", "queued"))
    # A returning customer's order news, after the welcome: the order store's time is not the
    # hello's (gateway/proactive.py). The outbox delivers the message like any other entry.
    # Nothing awaits between here and the caller's watch, so the task starts after it.
    news = asyncio.create_task(proactive.tell_order_news(state, cid, conversation))
    # Held only while it runs: a finished task keeps its coroutine for as long as it is
    # referenced, here as long as the socket stays open (about 0.7 KiB each).
    telling = {news}
    news.add_done_callback(telling.discard)
    return outbox, telling


async def _open_conversation(state: AppState, hello: Hello) -> tuple[str, str, str, dict[str, str]]:
    """(conversation id, fresh resume token, last seen entry id, the conversation's fields)."""
    secret = state.settings.secret.reveal()
    ttl = state.settings.resume_token_ttl
    if hello.token:
        cid = tokens.verify(secret, hello.token)
        # The new token below is valid `ttl` from now: the conversation is kept as long.
        conversation = await state.store.resume(cid, ttl)
        if conversation is None:
            raise tokens.TokenRefused
        return cid, tokens.issue(secret, cid, ttl), hello.last_seen, conversation
    cid = await state.store.create(
        state.settings.default_team,
        lifetime=ttl,
        max_entries=state.settings.max_transcript_entries,
    )
    state.metrics.conversations.inc()
    await state.queue.count("conversations")
    return cid, tokens.issue(secret, cid, ttl), "", {"state": "bot"}


async def _read_loop(ws: web.WebSocketResponse, state: AppState, cid: str, outbox: Outbox) -> None:
    budget = frame_budget(state)
    while not ws.closed:
        try:
            data = await receive_json(ws, None)
        except ValueError as bad:
            if over_budget(budget, state, outbox):
                continue
            state.metrics.refused("bad_frame")
            outbox.send(error("bad_frame", str(bad)))
            continue
        if data is None:
            return
        if over_budget(budget, state, outbox):
            continue
        try:
            # A timeout in this task, not wait_for's task per frame (store.py `bounded`).
            async with asyncio.timeout(state.settings.storage_deadline):
                await handle(data, state, cid, outbox)
        except (RedisError, TimeoutError):
            # A message cut off here may still have been stored; the resend is de-duplicated.
            # Name the message, so the client knows exactly which one to resend.
            client_id = data.get("id")
            about: dict[str, Any] = (
                {"id": client_id}
                if isinstance(client_id, str) and CLIENT_ID.match(client_id)
                else {}
            )
            outbox.send(
                error(
                    "unavailable", "We couldn't save that just now; please send it again.", **about
                )
            )
