"""The agent console's websocket `/ws/agent` (docs/protocol.md, "Agent websocket").

Like the customer gateway, each socket has one reader (this handler) and one writer (its
ConsoleOutbox task). The reader checks the agent's session on every frame, reads the frame at
the edge (console/frames.py) and hands it to the desk (console/desk.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.console import sessions
from handoff.console.access import CONSOLE_ROLES
from handoff.console.desk import handle
from handoff.console.frames import FrameRefused, read_frame
from handoff.console.outbox import ConsoleOutbox
from handoff.console.presence import beat, keep_beating, presence_of
from handoff.console.queue_view import active_chats
from handoff.console.server_frames import AGENT_PROTOCOL_VERSION, HelloFrame, refuse
from handoff.console.sessions import SessionAgent
from handoff.state import AppState, app_state
from handoff.web.sockets import (
    frame_budget,
    origin_allowed,
    over_budget,
    receive_json,
    send_frame,
    serve_socket,
)


async def agent_socket(request: web.Request) -> web.StreamResponse:
    state = app_state(request.app)
    settings = state.settings
    if not origin_allowed(request, state, settings.console_origins or settings.allowed_origins):
        state.metrics.refused("origin")
        raise web.HTTPForbidden(text="This origin may not open the console.")
    agent = await sessions.session_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="Log in to open the console.")
    if agent.role not in CONSOLE_ROLES:
        raise web.HTTPForbidden(text="The console is for agents.")
    return await serve_socket(
        request,
        max_frame_bytes=state.settings.max_frame_bytes,
        registry=state.agent_sockets,
        gauge=state.metrics.agent_sockets,
        serve=lambda ws: _serve(ws, state, agent),
    )


async def _hello(state: AppState, agent: SessionAgent) -> HelloFrame:
    return {
        "type": "hello",
        "v": AGENT_PROTOCOL_VERSION,
        "agent": agent.name,
        "display_name": agent.display_name,
        "role": agent.role,
        "teams": list(agent.account.teams),
        "presence": await presence_of(state, agent.name),
        "capacity": agent.account.capacity,
        "active": await active_chats(state, agent.name),
    }


async def _serve(ws: web.WebSocketResponse, state: AppState, agent: SessionAgent) -> None:
    await beat(state, agent.name)
    await send_frame(ws, await _hello(state, agent))
    outbox = ConsoleOutbox(ws, state, agent)
    unwatch = state.live.watch_all(outbox.hint)
    writer = asyncio.create_task(outbox.run())
    beater = asyncio.create_task(keep_beating(state, agent.name))
    budget = frame_budget(state)
    try:
        while not ws.closed:
            try:
                raw = await receive_json(ws, None)
            except ValueError as error:
                if not over_budget(budget, state, outbox):
                    outbox.send(refuse("bad_frame", str(error)))
                continue
            if raw is None:
                return
            if over_budget(budget, state, outbox):
                continue
            try:
                # A Redis blip or stall answers `unavailable` within the storage deadline; it
                # must not hold or drop the console's socket.
                async with asyncio.timeout(state.settings.storage_deadline):
                    session_alive = await _serve_frame(raw, state, agent, outbox)
            except (RedisError, TimeoutError):
                # Name what failed, so the console knows which message or action to retry.
                about = {
                    name: raw[name]
                    for name in ("conversation", "id")
                    if isinstance(raw.get(name), str) and len(raw[name]) < 80
                }
                outbox.send(refuse("unavailable", "Storage is unavailable; try again.", **about))
                continue
            if not session_alive:
                outbox.send(refuse("session_ended", "Your session has ended; log in again."))
                await asyncio.sleep(0.1)
                await ws.close(code=4401, message=b"session ended")
                return
    finally:
        unwatch()
        beater.cancel()
        outbox.stop()
        done, _ = await asyncio.wait({writer}, timeout=1.0)
        if not done:
            writer.cancel()
        for task in (writer, beater):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _serve_frame(
    raw: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> bool:
    """Handle one console frame; False, with nothing done, if the agent's session has ended
    (logout elsewhere, password changed)."""
    if not await state.redis.exists(state.keys.session(agent.sid)):
        return False
    try:
        frame = read_frame(raw)
    except FrameRefused as refused:
        outbox.send(refused.error)
        return True
    await handle(frame, state, agent, outbox)
    return True
