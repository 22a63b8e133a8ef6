"""The single writer of one websocket, shared by the customer and the console sockets.

Handlers never write to a socket directly: they queue direct frames with `send()` and hints
with `wake`; this loop flushes them and re-reads what changed. A periodic re-read every
`RESYNC_SECONDS` covers a hint lost in a Redis failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import Gauge
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RESYNC_SECONDS = 20.0


class SocketWriter:
    label = "socket"

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.wake = asyncio.Event()
        self.stopped = False

    def stop(self) -> None:
        # A flag rather than only cancel(): on Python 3.10/3.11 wait_for can swallow a
        # cancellation that races with the event being set, which kept sockets open for 20 s.
        self.stopped = True
        self.wake.set()

    def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self.wake.set()

    async def _flush(self) -> None:
        raise NotImplementedError

    def _resync(self) -> None:
        """Mark everything for re-reading; called when no hint came for RESYNC_SECONDS."""

    async def run(self) -> None:
        while not self.stopped and not self.ws.closed:
            self.wake.clear()
            try:
                await self._flush()
            except RedisError as error:
                log.warning("%s delivery paused: %s", self.label, error)
                await asyncio.sleep(1.0)
                self.wake.set()
                continue
            except ConnectionResetError:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=RESYNC_SECONDS)
            if not self.wake.is_set():
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
