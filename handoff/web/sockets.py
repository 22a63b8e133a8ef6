"""What the customer and the console sockets share: admission, reading frames, one writer.

- `origin_allowed`: which browser origins may open a socket.
- `receive_json`: the next text frame as a JSON object with a string `type`; anything else
  (binary, not JSON, nested too deep, a lone surrogate) is a ValueError the reader answers with
  `bad_frame`. What the object must contain is each protocol's models' business.
- `frame_budget` / `over_budget`: the per-socket frame rate (frames over it are dropped unread).
- `SocketWriter`: the single writer of one socket. Handlers never write to a socket directly:
  they queue direct frames with `send()` and hints with `wake`; its loop flushes them and
  re-reads what changed. A periodic re-read every `RESYNC_SECONDS` covers a hint lost in a
  Redis failover.
- `serve_socket`: open, register, count and serve one socket.
- `send_frame`: write one frame, encoded once (orjson).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
from aiohttp import WSMsgType, web
from prometheus_client import Gauge
from redis.exceptions import RedisError

from handoff.conversations.store import bounded
from handoff.state import AppState
from handoff.web.limits import FrameBudget

log = logging.getLogger(__name__)

RESYNC_SECONDS = 20.0
T = TypeVar("T")


class Wake:
    """A flag one task waits on: the `set`/`clear`/`is_set` of asyncio.Event, for one waiter.

    Every open socket holds two, so they are kept small: an Event carries a deque of waiters
    (about 0.8 KiB each), and `wait_for(event.wait(), timeout)` parks a task, a future and a
    timer per idle socket (about 2 KiB); this is one future and one timer while waiting.
    """

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    async def wait(self, timeout: float) -> bool:
        """Wait until set, at most `timeout` seconds; whether it is set."""
        if self._set:
            return True
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(timeout, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return self._set


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class SocketWriter:
    label = "socket"
    # Slots: one writer per open socket, and an instance dict costs more than its fields.
    __slots__ = ("direct", "frames", "reads", "stopped", "storage_deadline", "wake", "ws")

    def __init__(
        self, ws: web.WebSocketResponse, storage_deadline: float, reads: asyncio.Semaphore
    ) -> None:
        self.ws = ws
        self.storage_deadline = storage_deadline
        self.reads = reads  # shared by the replica's writers (state.py WRITER_READS_AT_ONCE)
        self.frames: list[dict[str, Any]] = []
        self.wake = Wake()
        self.direct = Wake()  # set when a direct frame is queued
        self.stopped = False

    def stop(self) -> None:
        # A flag the loop checks, not only cancel(): a cancellation that races with the wake
        # could be lost (wait_for on Python 3.10/3.11 swallowed it, which kept sockets open 20 s).
        self.stopped = True
        self.wake.set()

    def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self.direct.set()
        self.wake.set()

    async def _flush(self) -> None:
        raise NotImplementedError

    async def _read(self, call: Awaitable[T]) -> T:
        """Every Redis read of a writer is bounded by the storage deadline: against a stalled
        Redis one read can outlast its socket timeout several times over, and the acks and
        refusals queued meanwhile would wait behind it. At most WRITER_READS_AT_ONCE of the
        replica's writers read at once; the wait for a turn counts against the deadline too."""

        async def in_turn() -> T:
            try:
                async with self.reads:
                    return await call
            finally:
                if isinstance(call, Coroutine):
                    call.close()  # the deadline came before its turn: never started

        return await bounded(in_turn(), self.storage_deadline)

    def _resync(self) -> None:
        """Mark everything for re-reading; called when no hint came for RESYNC_SECONDS."""

    async def _pause_reads(self, seconds: float) -> None:
        """Wait `seconds` before reading Redis again, delivering direct frames (acks,
        `unavailable` refusals: they need no Redis) as they come, so a client hears them now,
        not after the storage is back."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while not self.stopped:
            self.direct.clear()
            while self.frames and not self.stopped:
                await send_frame(self.ws, self.frames.pop(0))
            left = until - loop.time()
            if left <= 0:
                return
            await self.direct.wait(left)

    async def run(self) -> None:
        while not self.stopped and not self.ws.closed:
            self.wake.clear()
            try:
                await self._flush()
            except RedisError as error:
                log.warning("%s delivery paused: %s", self.label, error)
                await self._pause_reads(1.0)
                self.wake.set()
                continue
            except ConnectionResetError:
                return
            if not await self.wake.wait(RESYNC_SECONDS):
                self._resync()


async def serve_socket(
    request: web.Request,
    *,
    max_frame_bytes: int,
    registry: set[web.WebSocketResponse],
    gauge: Gauge,
    serve: Callable[[web.WebSocketResponse], Awaitable[None]],
) -> web.WebSocketResponse:
    """Open a websocket (heartbeat on, small frames), keep it registered and counted while served.

    The registry is what shutdown closes with GOING_AWAY.
    """
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=max_frame_bytes, compress=False)
    await ws.prepare(request)
    registry.add(ws)
    gauge.inc()
    try:
        await serve(ws)
    finally:
        registry.discard(ws)
        gauge.dec()
    return ws


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


async def receive_json(ws: web.WebSocketResponse, timeout: float | None) -> dict[str, Any] | None:
    """The next frame as a JSON object; None when the socket closed. Bad frames raise ValueError."""
    msg = await ws.receive(timeout=timeout)
    if msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED}:
        return None
    if msg.type == WSMsgType.ERROR:
        return None
    if msg.type != WSMsgType.TEXT:
        raise ValueError("Frames must be JSON text, not binary.")
    try:
        # orjson reads a well-formed frame in one pass, and refuses what the checks below refuse
        # (a lone surrogate, deep nesting) or what it reads differently (NaN, huge numbers); those
        # are read again by the standard library, whose verdict and messages are the protocol's.
        data = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        data = _read_strictly(msg.data)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("A frame must be a JSON object with a string 'type'.")
    return data


def _read_strictly(text: str) -> Any:
    try:
        data = json.loads(text)
        # JSON may escape a lone surrogate ("\ud800"), which no storage can encode as UTF-8.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("A frame must not be nested this deeply.") from None
    except UnicodeEncodeError:
        raise ValueError("A frame must be valid Unicode text.") from None
    return data


def encode_frame(frame: Any) -> bytes:
    """A frame as UTF-8 JSON text. orjson, except for what only the standard library writes
    (keys that are not strings, integers beyond 64 bits)."""
    try:
        return orjson.dumps(frame)
    except TypeError:
        return json.dumps(frame).encode()


async def send_frame(ws: web.WebSocketResponse, frame: Any) -> None:
    """Write one frame (a text frame, as `send_json` does), encoded once."""
    await ws.send_frame(encode_frame(frame), WSMsgType.TEXT)


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


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
