"""The customer gateway: the widget's websocket (protocol v1, docs/protocol.md).

A connection starts with `hello`. Without a token the gateway opens a new conversation and
issues a signed resume token; with one it resumes that conversation and replays every entry
after the client's `last_seen` id, so a reload or a dropped network shows nothing twice and
loses nothing. Each socket has one reader (this handler) and one writer (its Outbox task).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from handoff.conversations.store import Entry, bounded
from handoff.gateway import tokens
from handoff.state import AppState, app_state
from handoff.web.limits import FrameBudget
from handoff.web.sockets import SocketWriter, serve_socket

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
HELLO_TIMEOUT = 10.0
# CSAT counts ratings of 4 or 5 (out of 5) as satisfied customers.
SATISFIED_SCORE = 4


class Outbox(SocketWriter):
    """The single writer of one customer socket: direct frames, then new transcript entries."""

    label = "customer"

    def __init__(
        self,
        ws: web.WebSocketResponse,
        state: AppState,
        cid: str,
        last_seen: str,
        conversation_state: str = "queued",
    ):
        super().__init__(ws)
        self.state = state
        self.cid = cid
        self.last_sent = last_seen or "0-0"
        self.queue_dirty = True
        self.last_queue_frame: dict[str, Any] | None = None
        # The state as of the last state event this socket delivered (or the welcome).
        self.conversation_state = conversation_state
        # When the last "a queue moved" hint came (None: compute the queue status afresh).
        self.queue_hinted_at: float | None = None
        # The transcript is re-read only when a hint (or the periodic resync) says it changed,
        # not for every ack or pong: `wanted` counts those, `read` is the count last served.
        self.entries_wanted = 1
        self.entries_read = 0

    def hint(self, payload: dict[str, Any]) -> None:
        if "typing" in payload:
            if payload.get("typing") in {"bot", "agent"}:
                self.send({"type": "typing", "from": payload["typing"], "on": bool(payload["on"])})
            return
        if "q" in payload and "c" not in payload:
            # Some queue moved. Every socket on the replica hears it, so only a customer who is
            # waiting re-reads anything; one whose move to the queue is not delivered yet gets
            # the position with that state event (see _flush).
            if self.conversation_state == "queued":
                self.queue_dirty = True
                self.queue_hinted_at = asyncio.get_running_loop().time()
                self.wake.set()
            return
        if "state" in payload or payload.get("resync"):
            self.queue_dirty = True
            self.queue_hinted_at = None
        self.entries_wanted += 1
        self.wake.set()

    def _resync(self) -> None:
        self.queue_dirty = True
        self.queue_hinted_at = None
        self.entries_wanted += 1

    async def _flush(self) -> None:
        if self.stopped:
            return
        while self.frames:
            await self.ws.send_json(self.frames.pop(0))
        wanted = self.entries_wanted
        if wanted == self.entries_read:
            entries = []
        else:
            # Bounded: frames queued meanwhile (acks, errors) wait behind this read.
            entries = await bounded(
                self.state.store.read(self.cid, self.last_sent),
                self.state.settings.storage_deadline,
            )
            self.entries_read = wanted
        for entry in entries:
            await self.ws.send_json(customer_frame(entry))
            self.last_sent = entry.id
            if entry.fields.get("event") == "state" and entry.fields.get("state"):
                self.conversation_state = entry.fields["state"]
                self.queue_dirty = True
                self.queue_hinted_at = None
        if len(entries) == 500:
            self.entries_wanted += 1  # more than one read's worth: read on
            self.wake.set()
        if self.queue_dirty:
            self.queue_dirty = False
            await self._send_queue_status()

    async def _send_queue_status(self) -> None:
        current, team = await self.state.store.fields_of(self.cid, "state", "team")
        if current != "queued":
            self.last_queue_frame = None
            return
        status = await self.state.queue.status(self.cid, team or "", self.queue_hinted_at)
        if status is None:
            return
        frame = status.to_frame()
        if frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await self.ws.send_json(frame)


def customer_frame(entry: Entry) -> dict[str, Any]:
    """What a customer may see of an entry: agent user names and internal fields stay out."""
    frame = entry.to_frame()
    if entry.sender != "system":
        frame.pop("reason", None)
    return frame


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


def origin_allowed(
    request: web.Request, state: AppState, allowed: tuple[str, ...] | None = None
) -> bool:
    """Whether the request's Origin may open a websocket (`allowed`: the customer allow-list)."""
    origin = request.headers.get("Origin")
    if origin is None:
        # Browsers always send Origin on websockets; other clients (tests, the load generator)
        # authenticate by resume token and cannot ride a customer's browser session anyway.
        return True
    return origin.rstrip("/") in (state.settings.allowed_origins if allowed is None else allowed)


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


async def _receive_json(ws: web.WebSocketResponse, timeout: float | None) -> dict[str, Any] | None:
    """The next frame as a JSON object; None when the socket closed. Bad frames raise ValueError."""
    msg = await ws.receive(timeout=timeout)
    if msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED}:
        return None
    if msg.type == WSMsgType.ERROR:
        return None
    if msg.type != WSMsgType.TEXT:
        raise ValueError("Frames must be JSON text, not binary.")
    try:
        data = json.loads(msg.data)
        # JSON may escape a lone surrogate ("\ud800"), which no storage can encode as UTF-8.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("A frame must not be nested this deeply.") from None
    except UnicodeEncodeError:
        raise ValueError("A frame must be valid Unicode text.") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("A frame must be a JSON object with a string 'type'.")
    return data


async def _serve(ws: web.WebSocketResponse, state: AppState) -> None:
    try:
        hello = await _receive_json(ws, HELLO_TIMEOUT)
    except (asyncio.TimeoutError, TimeoutError):
        await ws.close(code=4408, message=b"hello expected")
        return
    except ValueError as error:
        await ws.send_json(error_frame("bad_frame", str(error)))
        await ws.close(code=4400, message=b"bad hello")
        return
    if hello is None:
        return
    if hello.get("type") != "hello":
        await ws.send_json(error_frame("hello_expected", "The first frame must be 'hello'."))
        await ws.close(code=4400, message=b"hello expected")
        return
    try:
        cid, token, last_seen, conversation = await asyncio.wait_for(
            _open_conversation(state, hello), timeout=state.settings.storage_deadline
        )
    except tokens.TokenRefused:
        state.metrics.refused("token")
        await ws.send_json(
            error_frame("token_refused", "This chat can't be resumed. Start a new one.")
        )
        await ws.close(code=4401, message=b"token refused")
        return
    except (RedisError, asyncio.TimeoutError):
        await ws.send_json(error_frame("unavailable", "Chat is unavailable; retrying shortly."))
        await ws.close(code=1013, message=b"try again later")
        return
    await ws.send_json(
        {
            "type": "welcome",
            "v": PROTOCOL_VERSION,
            "conversation": cid,
            "token": token,
            "state": conversation.get("state", "bot"),
            "max_message_chars": state.settings.max_message_chars,
        }
    )
    outbox = Outbox(ws, state, cid, last_seen, conversation.get("state", "queued"))
    unwatch = state.live.watch(cid, outbox.hint)
    writer = asyncio.create_task(outbox.run())
    try:
        await _read_loop(ws, state, cid, outbox)
    finally:
        unwatch()
        outbox.stop()
        done, _ = await asyncio.wait({writer}, timeout=1.0)
        if not done:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer


async def _open_conversation(
    state: AppState, hello: dict[str, Any]
) -> tuple[str, str, str, dict[str, str]]:
    """(conversation id, fresh resume token, last seen entry id, the conversation's fields)."""
    secret = state.settings.secret.reveal()
    ttl = state.settings.resume_token_ttl
    raw_token = hello.get("token")
    last_seen = hello.get("last_seen")
    last_seen = last_seen if isinstance(last_seen, str) and len(last_seen) < 40 else ""
    if raw_token:
        cid = tokens.verify(secret, str(raw_token))
        conversation = await state.store.get(cid)
        if conversation is None:
            raise tokens.TokenRefused
        return cid, tokens.issue(secret, cid, ttl), last_seen, conversation
    cid = await state.store.create(state.settings.default_team)
    state.metrics.conversations.inc()
    await state.queue.count("conversations")
    return cid, tokens.issue(secret, cid, ttl), "", {"state": "bot"}


def frame_budget(state: AppState) -> FrameBudget:
    rate = state.settings.socket_frames_per_second
    return FrameBudget(rate, burst=max(1, int(rate * 4)))


def over_budget(budget: FrameBudget, state: AppState, outbox: SocketWriter) -> bool:
    """True when a frame is over the socket's budget (and must be dropped unread)."""
    if budget.take():
        return False
    state.metrics.refused("frame_rate")
    if budget.should_warn():
        outbox.send(error_frame("rate_limited", "Too many frames; some were dropped. Slow down."))
    return True


async def _read_loop(ws: web.WebSocketResponse, state: AppState, cid: str, outbox: Outbox) -> None:
    budget = frame_budget(state)
    while not ws.closed:
        try:
            frame = await _receive_json(ws, None)
        except ValueError as error:
            if over_budget(budget, state, outbox):
                continue
            state.metrics.refused("bad_frame")
            outbox.send(error_frame("bad_frame", str(error)))
            continue
        if frame is None:
            return
        if over_budget(budget, state, outbox):
            continue
        try:
            await asyncio.wait_for(
                _handle(frame, state, cid, outbox), timeout=state.settings.storage_deadline
            )
        except (RedisError, asyncio.TimeoutError):
            # A message cut off here may still have been stored; the resend is de-duplicated.
            # Name the message, so the client knows exactly which one to resend.
            client_id = frame.get("id")
            about = (
                {"id": client_id}
                if isinstance(client_id, str) and CLIENT_ID.match(client_id)
                else {}
            )
            outbox.send(
                error_frame(
                    "unavailable", "We couldn't save that just now; please send it again.", **about
                )
            )


async def _handle(frame: dict[str, Any], state: AppState, cid: str, outbox: Outbox) -> None:
    kind = frame["type"]
    if kind == "message":
        await _on_message(frame, state, cid, outbox)
    elif kind == "typing":
        await state.store.publish({"c": cid, "typing": "customer", "on": bool(frame.get("on"))})
    elif kind == "cancel_queue":
        if not await state.queue.cancel(cid):
            outbox.send(error_frame("not_queued", "You're not waiting in the queue."))
    elif kind == "leave_message":
        await _on_leave_message(frame, state, cid, outbox)
    elif kind == "rating":
        await _on_rating(frame, state, cid, outbox)
    elif kind == "ping":
        outbox.send({"type": "pong"})
    else:
        outbox.send(error_frame("unknown_type", f"Unknown frame type {kind[:40]!r}."))


async def _on_message(frame: dict[str, Any], state: AppState, cid: str, outbox: Outbox) -> None:
    client_id = frame.get("id")
    text = frame.get("text")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        outbox.send(error_frame("bad_message", "A message needs an 'id' of 1-64 letters/digits."))
        return
    if not isinstance(text, str) or not text.strip():
        outbox.send(error_frame("bad_message", "A message needs some text.", id=client_id))
        return
    limit = state.settings.max_message_chars
    if len(text) > limit:
        outbox.send(
            error_frame(
                "too_long",
                f"Messages can be at most {limit} characters; this one was not sent.",
                id=client_id,
            )
        )
        return
    # Only the state is needed: the whole conversation hash grows with the chat (packet, triage
    # scores) and this runs for every message.
    current = await state.store.state_of(cid)
    if current is None or current == "closed":
        outbox.send(
            error_frame(
                "closed", "This chat has ended. Start a new chat to continue.", id=client_id
            )
        )
        return
    if not await state.limits.allow("conv-msg", cid, state.settings.customer_rate_per_minute):
        state.metrics.refused("conversation_rate")
        outbox.send(
            error_frame(
                "rate_limited", "You're sending messages very fast; wait a moment.", id=client_id
            )
        )
        return
    entry_id, new = await state.store.append(cid, "customer", text.strip(), client_id=client_id)
    outbox.send({"type": "ack", "id": client_id, "entry": entry_id, "duplicate": not new})
    if new:
        state.metrics.customer_messages.inc()
    if current == "bot":
        state.turns.kick(cid)


async def _on_leave_message(
    frame: dict[str, Any], state: AppState, cid: str, outbox: Outbox
) -> None:
    email = frame.get("email")
    text = frame.get("text")
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        outbox.send(error_frame("bad_email", "Please enter a valid email address."))
        return
    if (
        not isinstance(text, str)
        or not text.strip()
        or len(text) > state.settings.max_message_chars
    ):
        outbox.send(error_frame("bad_message", "Please write a message (up to the length limit)."))
        return
    await state.queue.leave_message(cid, email.strip(), text.strip())


async def _on_rating(frame: dict[str, Any], state: AppState, cid: str, outbox: Outbox) -> None:
    score = frame.get("score")
    comment = frame.get("comment") or ""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        outbox.send(error_frame("bad_rating", "A rating is a whole number from 1 to 5."))
        return
    if not isinstance(comment, str) or len(comment) > state.settings.max_message_chars:
        outbox.send(error_frame("bad_rating", "The comment is too long."))
        return
    conversation = await state.store.get(cid)
    if conversation is None or conversation.get("state") != "closed":
        outbox.send(error_frame("not_closed", "You can rate a chat once it has ended."))
        return
    # HSETNX: two tabs rating at once still count one rating.
    if conversation.get("rating") or not await state.redis.hsetnx(
        state.keys.conversation(cid), "rating", score
    ):
        outbox.send(error_frame("already_rated", "Thanks, you've already rated this chat."))
        return
    await state.store.set_fields(cid, {"rating_comment": comment.strip()})
    await state.queue.count("ratings")
    await state.queue.count("rating_total", score)
    if score >= SATISFIED_SCORE:
        await state.queue.count("ratings_satisfied")
    await state.store.append(
        cid,
        "system",
        "Thanks for your feedback!",
        kind="event",
        event="rated",
        data={"score": score},
    )
