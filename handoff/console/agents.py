"""The agent console's websocket `/ws/agent` and the agent-side operations on conversations.

Like the customer gateway, each socket has one reader (this handler) and one writer (its
ConsoleOutbox task). Hints from the live channel wake the writer, which re-reads the transcripts
of the conversations the agent has open from the last id it sent, and refreshes the team queues
(debounced) when a queue or a state moved. Every state change is one atomic `store.move()`.
See docs/protocol.md, "Agent websocket".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.console import sessions
from handoff.console.accounts import Account
from handoff.console.sessions import SessionAgent, accounts_of
from handoff.conversations.store import (
    PRIORITY_BAND,
    MoveResult,
    bounded,
    is_conversation_id,
    now_ms,
)
from handoff.gateway.customer import (
    CLIENT_ID,
    PROTOCOL_VERSION,
    _receive_json,
    error_frame,
    frame_budget,
    origin_allowed,
    over_budget,
)
from handoff.queue.escalation import REASON_TEXT
from handoff.state import AppState, app_state
from handoff.web.sockets import SocketWriter, serve_socket

log = logging.getLogger(__name__)

PRESENCE = ("online", "away", "offline")
QUEUE_DEBOUNCE = 0.025
MAX_NOTES_CHARS = 4000
MAX_TAGS = 20
# Requeued chats (agent gone past the grace period) go ahead of every normal priority-0 chat:
# their queue time is shifted this far into the past (ms), keeping their order among themselves.
FRONT_OF_LINE_SHIFT = 10**12

CLOSE_TEXT = "This chat has ended. How did we do? Please rate this chat from 1 to 5."
RETURN_TEXT = "You're back with the assistant."
DISCONNECTED_TEXT = (
    "Your agent was disconnected. You're first in line for the next available person."
)


def heartbeat_interval(state: AppState) -> float:
    return max(0.2, min(10.0, state.settings.agent_grace_seconds / 3))


class ConsoleOutbox(SocketWriter):
    """The single writer of one console socket."""

    label = "console"

    def __init__(self, ws: web.WebSocketResponse, state: AppState, agent: SessionAgent) -> None:
        super().__init__(ws)
        self.state = state
        self.agent = agent
        self.opened: dict[str, str] = {}  # conversation -> last entry id sent
        self.dirty: set[str] = set()
        self.queue_dirty = True
        self.last_queue: dict[str, Any] = {}
        self.last_active: list[str] | None = None
        self.last_queue_at = 0.0  # loop time of the last queue refresh
        # Set when the agent's sessions may have ended (logout or a new password anywhere).
        self.session_check = False

    def open(self, cid: str, last_seen: str) -> None:
        self.opened[cid] = last_seen or "0-0"
        self.dirty.add(cid)
        self.wake.set()

    def hint(self, payload: dict[str, Any]) -> None:
        cid = payload.get("c")
        if payload.get("sessions_ended") == self.agent.name:
            self.session_check = True
            self.wake.set()
            return
        if payload.get("resync"):
            self.session_check = True  # a "sessions ended" hint may have been missed
            self.dirty.update(self.opened)
            self.queue_dirty = True
            self.wake.set()
            return
        if "typing" in payload:
            if payload.get("typing") == "customer" and cid in self.opened:
                self.send(
                    {
                        "type": "typing",
                        "conversation": cid,
                        "from": "customer",
                        "on": bool(payload.get("on")),
                    }
                )
            return
        if "q" in payload or "state" in payload:
            self.queue_dirty = True
            self.wake.set()
        if isinstance(cid, str) and cid in self.opened:
            self.dirty.add(cid)
            self.wake.set()

    def _resync(self) -> None:
        self.session_check = True
        self.dirty.update(self.opened)
        self.queue_dirty = True

    async def _flush(self) -> None:
        if self.session_check and not self.stopped:
            self.session_check = False
            if not await self.state.redis.exists(self.state.keys.session(self.agent.sid)):
                self.stopped = True
                await self.ws.send_json(
                    error_frame("session_ended", "Your session has ended; log in again.")
                )
                await self.ws.close(code=4401, message=b"session ended")
                return
        while self.frames and not self.stopped:
            await self.ws.send_json(self.frames.pop(0))
        while self.dirty and not self.stopped:
            cid = self.dirty.pop()
            if cid not in self.opened:
                continue
            # Bounded: frames queued meanwhile (acks, errors) wait behind this read.
            entries = await bounded(
                self.state.store.read(cid, self.opened[cid]), self.state.settings.storage_deadline
            )
            for entry in entries:
                await self.ws.send_json({**entry.to_frame(), "conversation": cid})
                self.opened[cid] = entry.id
            if len(entries) == 500:
                self.dirty.add(cid)
        if self.queue_dirty and not self.stopped:
            # At most one refresh per QUEUE_DEBOUNCE: the first move after a quiet spell is shown
            # at once, a burst of moves after it becomes one queue frame.
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, self.last_queue_at + QUEUE_DEBOUNCE - loop.time()))
            self.queue_dirty = False
            self.last_queue_at = loop.time()
            await self._send_queues()
        if self.frames:
            self.wake.set()

    async def _send_queues(self) -> None:
        teams = self.agent.account.teams
        if self.agent.role == "admin":
            teams = tuple(dict.fromkeys((*teams, *self.state.settings.teams)))
        for team in teams:
            items = await queue_items(self.state, team)
            frame = {"type": "queue", "team": team, "items": items}
            comparable = {
                **frame,
                "items": [{k: v for k, v in i.items() if k != "waiting_seconds"} for i in items],
            }
            if self.last_queue.get(team) != comparable:
                self.last_queue[team] = comparable
                await self.ws.send_json(frame)
        active = await active_chats(self.state, self.agent.name)
        if active != self.last_active:
            if self.last_active is not None:
                await self.ws.send_json({"type": "active", "conversations": active})
            self.last_active = active


async def queue_items(state: AppState, team: str) -> list[dict[str, Any]]:
    items = []
    now = now_ms()
    for cid, score in await state.store.waiting(team):
        conversation = await state.store.get(cid) or {}
        packet = _packet(conversation)
        queued_at = int(conversation.get("queued_at") or now)
        reason = conversation.get("reason") or packet.get("reason", "")
        items.append(
            {
                "conversation": cid,
                "priority": int(score // PRIORITY_BAND),
                "reason": reason,
                "reason_text": REASON_TEXT.get(reason, reason),
                "waiting_seconds": max(0, (now - queued_at) // 1000),
                "summary": packet.get("summary", ""),
            }
        )
    return items


async def active_chats(state: AppState, name: str) -> list[str]:
    return sorted(str(c) for c in await state.redis.smembers(state.keys.agent_chats(name)))


def _packet(conversation: dict[str, str]) -> dict[str, Any]:
    try:
        packet = json.loads(conversation.get("packet") or "{}")
    except ValueError:
        return {}
    return packet if isinstance(packet, dict) else {}


async def presence_of(state: AppState, name: str) -> str:
    return str(await state.redis.hget(state.keys.presence, name) or "offline")


async def beat(state: AppState, name: str) -> None:
    await state.redis.zadd(state.keys.heartbeat, {name: now_ms()})


# --- the socket ----------------------------------------------------------------------------------


async def agent_socket(request: web.Request) -> web.StreamResponse:
    state = app_state(request.app)
    settings = state.settings
    if not origin_allowed(request, state, settings.console_origins or settings.allowed_origins):
        state.metrics.refused("origin")
        raise web.HTTPForbidden(text="This origin may not open the console.")
    agent = await sessions.session_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="Log in to open the console.")
    if agent.role not in ("agent", "admin"):
        raise web.HTTPForbidden(text="The console is for agents.")
    return await serve_socket(
        request,
        max_frame_bytes=state.settings.max_frame_bytes,
        registry=state.agent_sockets,
        gauge=state.metrics.agent_sockets,
        serve=lambda ws: _serve(ws, state, agent),
    )


async def _heartbeat(state: AppState, name: str) -> None:
    while True:
        with contextlib.suppress(RedisError):
            await beat(state, name)
        await asyncio.sleep(heartbeat_interval(state))


async def _serve(ws: web.WebSocketResponse, state: AppState, agent: SessionAgent) -> None:
    await beat(state, agent.name)
    await ws.send_json(
        {
            "type": "hello",
            "v": PROTOCOL_VERSION,
            "agent": agent.name,
            "display_name": agent.display_name,
            "role": agent.role,
            "teams": list(agent.account.teams),
            "presence": await presence_of(state, agent.name),
            "capacity": agent.account.capacity,
            "active": await active_chats(state, agent.name),
        }
    )
    outbox = ConsoleOutbox(ws, state, agent)
    unwatch = state.live.watch_all(outbox.hint)
    writer = asyncio.create_task(outbox.run())
    beater = asyncio.create_task(_heartbeat(state, agent.name))
    budget = frame_budget(state)
    try:
        while not ws.closed:
            try:
                frame = await _receive_json(ws, None)
            except ValueError as error:
                if not over_budget(budget, state, outbox):
                    outbox.send(error_frame("bad_frame", str(error)))
                continue
            if frame is None:
                return
            if over_budget(budget, state, outbox):
                continue
            try:
                # A Redis blip or stall answers `unavailable` within the storage deadline; it
                # must not hold or drop the console's socket.
                session_alive = await asyncio.wait_for(
                    _serve_frame(frame, state, agent, outbox),
                    timeout=state.settings.storage_deadline,
                )
            except (RedisError, asyncio.TimeoutError):
                # Name what failed, so the console knows which message or action to retry.
                about = {
                    name: frame[name]
                    for name in ("conversation", "id")
                    if isinstance(frame.get(name), str) and len(frame[name]) < 80
                }
                outbox.send(
                    error_frame("unavailable", "Storage is unavailable; try again.", **about)
                )
                continue
            if not session_alive:
                outbox.send(error_frame("session_ended", "Your session has ended; log in again."))
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
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> bool:
    """Handle one console frame; False, with nothing done, if the agent's session has ended
    (logout elsewhere, password changed)."""
    if not await state.redis.exists(state.keys.session(agent.sid)):
        return False
    await handle(frame, state, agent, outbox)
    return True


def _cid(frame: dict[str, Any]) -> str:
    value = frame.get("conversation")
    return value if isinstance(value, str) and len(value) < 80 else ""


async def handle(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    kind = frame["type"]
    handlers = {
        "presence": _on_presence,
        "claim": _on_claim,
        "message": _on_message,
        "typing": _on_typing,
        "transfer": _on_transfer,
        "return_to_bot": _on_return,
        "close": _on_close,
        "open": _on_open,
        "leave": _on_leave,
    }
    if kind == "ping":
        outbox.send({"type": "pong"})
        return
    handler = handlers.get(kind)
    if handler is None:
        outbox.send(error_frame("unknown_type", f"Unknown frame type {kind[:40]!r}."))
        return
    await handler(frame, state, agent, outbox)


async def _on_presence(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    status = frame.get("status")
    if status not in PRESENCE:
        outbox.send(error_frame("bad_presence", "Presence is online, away or offline."))
        return
    await state.redis.hset(state.keys.presence, agent.name, str(status))
    await beat(state, agent.name)
    outbox.send({"type": "presence", "status": status})
    for team in agent.account.teams:
        await state.store.publish({"q": team})


async def _display_name(state: AppState, name: str) -> str:
    if not name:
        return ""
    return str(await state.redis.hget(state.keys.agent(name), "display_name") or name)


def _may_work_team(agent: SessionAgent, team: str) -> bool:
    return agent.role == "admin" or team in agent.account.teams


async def _assigned_to_me(
    state: AppState, agent: SessionAgent, cid: str, outbox: ConsoleOutbox
) -> dict[str, str] | None:
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        outbox.send(error_frame("not_found", "There is no such conversation.", conversation=cid))
        return None
    if conversation.get("state") != "assigned" or conversation.get("agent") != agent.name:
        outbox.send(error_frame("not_yours", "This chat is not assigned to you.", conversation=cid))
        return None
    return conversation


async def assign(
    state: AppState,
    cid: str,
    account: Account,
    *,
    allowed: str,
    event_text: str,
    expected_agent: str = "",
) -> MoveResult:
    """Put a chat in the account's hands, within its capacity (a claim or a transfer to it)."""
    return await state.store.move(
        cid,
        allowed=[allowed],
        new_state="assigned",
        expected_agent=expected_agent,
        new_agent=account.name,
        capacity=account.capacity,
        event_text=event_text,
        fields={"assigned_at": now_ms()},
        event={"agent_name": account.display_name},
    )


async def claim(state: AppState, account: Account, cid: str) -> tuple[bool, str, str]:
    """Assign a queued chat to the agent: (ok, reason, winner display name)."""
    conversation = await state.store.get(cid)
    if conversation is None:
        return False, "not_found", ""
    result = await assign(
        state, cid, account, allowed="queued", event_text=f"{account.display_name} joined the chat."
    )
    if result.ok:
        await state.store.publish({"q": conversation.get("team", state.settings.default_team)})
        # The customer's wait: from entering the queue (this time) to a person taking the chat.
        queued_at = int(conversation.get("queued_at") or now_ms())
        await state.queue.record_sample("wait_s", (now_ms() - queued_at) / 1000)
        return True, "", account.display_name
    if result.full:
        return False, "capacity", ""
    if result.missing:
        return False, "not_found", ""
    winner = await _display_name(state, result.agent)
    return False, "taken" if result.agent else f"not_queued:{result.state}", winner


async def _on_claim(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    if await presence_of(state, agent.name) != "online":
        outbox.send(
            error_frame("not_online", "Set yourself online to take chats.", conversation=cid)
        )
        return
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        outbox.send(
            {"type": "claim_failed", "conversation": cid, "winner": "", "reason": "not_found"}
        )
        return
    if not _may_work_team(agent, conversation.get("team", "")):
        outbox.send(
            {"type": "claim_failed", "conversation": cid, "winner": "", "reason": "other_team"}
        )
        return
    ok, reason, winner = await claim(state, agent.account, cid)
    if not ok:
        outbox.send(
            {"type": "claim_failed", "conversation": cid, "winner": winner, "reason": reason}
        )
        return
    fresh = await state.store.get(cid) or {}
    outbox.send({"type": "claimed", "conversation": cid, "packet": _packet(fresh)})
    outbox.open(cid, "0-0")


async def _on_message(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    client_id = frame.get("id")
    text = frame.get("text")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        outbox.send(
            error_frame(
                "bad_message", "A message needs an 'id' of 1-64 letters/digits.", conversation=cid
            )
        )
        return
    if not isinstance(text, str) or not text.strip():
        outbox.send(
            error_frame("bad_message", "A message needs some text.", id=client_id, conversation=cid)
        )
        return
    if len(text) > state.settings.max_message_chars:
        outbox.send(
            error_frame("too_long", "That message is too long.", id=client_id, conversation=cid)
        )
        return
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    entry_id, new = await state.store.append(
        cid, "agent", text.strip(), client_id=f"agent-{client_id}", agent_name=agent.display_name
    )
    if new:
        await _record_first_response(state, cid, conversation)
    outbox.send(
        {
            "type": "ack",
            "conversation": cid,
            "id": client_id,
            "entry": entry_id,
            "duplicate": not new,
        }
    )


async def _record_first_response(state: AppState, cid: str, conversation: dict[str, str]) -> None:
    """First response time: from entering the queue to the first message of a person, once per
    time in the queue (`answered_queued_at` remembers which queueing was answered)."""
    queued_at = conversation.get("queued_at")
    if not queued_at or conversation.get("answered_queued_at") == queued_at:
        return
    await state.store.set_fields(cid, {"answered_queued_at": queued_at})
    await state.queue.record_sample("first_response_s", (now_ms() - int(queued_at)) / 1000)


async def _on_typing(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    if await _assigned_to_me(state, agent, cid, outbox) is None:
        return
    await state.store.publish({"c": cid, "typing": "agent", "on": bool(frame.get("on"))})


async def _on_transfer(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    to_agent = frame.get("to_agent")
    to_team = frame.get("to_team")
    if to_agent:
        target = await accounts_of(state).get(str(to_agent))
        if target is None or target.name == agent.name:
            outbox.send(
                error_frame("bad_transfer", "There is no such other agent.", conversation=cid)
            )
            return
        if await presence_of(state, target.name) != "online":
            outbox.send(
                error_frame(
                    "agent_unavailable", f"{target.display_name} is not online.", conversation=cid
                )
            )
            return
        result = await assign(
            state,
            cid,
            target,
            allowed="assigned",
            expected_agent=agent.name,
            event_text=f"{target.display_name} has taken over the chat.",
        )
        if result.full:
            outbox.send(
                error_frame(
                    "agent_full", f"{target.display_name} has no free chat slot.", conversation=cid
                )
            )
            return
    else:
        team = str(to_team or conversation.get("team") or state.settings.default_team)
        if team not in state.settings.teams:
            outbox.send(
                error_frame("bad_transfer", f"There is no team {team[:40]!r}.", conversation=cid)
            )
            return
        priority = int(conversation.get("priority") or 5)
        result = await state.store.move(
            cid,
            allowed=["assigned"],
            new_state="queued",
            expected_agent=agent.name,
            team=team,
            priority=priority,
            fields={"queued_at": now_ms()},
            event_text="You're being transferred. The next available person will see this "
            "whole chat.",
            event={"reason": "transfer"},
        )
        if result.ok:
            await state.store.publish({"q": team})
    if not result.ok:
        outbox.send(
            error_frame(
                "transfer_failed", "The chat changed meanwhile; not transferred.", conversation=cid
            )
        )
        return
    outbox.send({"type": "transferred", "conversation": cid})


async def _on_return(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    if await _assigned_to_me(state, agent, cid, outbox) is None:
        return
    # The bot must not answer what the customer said to the agent: move its cursor past it.
    last = await state.redis.xrevrange(state.keys.log(cid), count=1)
    cursor = str(last[0][0]) if last else "0-0"
    result = await state.store.move(
        cid,
        allowed=["assigned"],
        new_state="bot",
        expected_agent=agent.name,
        event_text=RETURN_TEXT,
        fields={"bot_cursor": cursor},
        event={"reason": "returned"},
    )
    if not result.ok:
        outbox.send(error_frame("return_failed", "The chat changed meanwhile.", conversation=cid))
        return
    await state.redis.zrem(state.keys.pending, cid)
    outbox.send({"type": "returned", "conversation": cid})


async def _on_close(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    notes = frame.get("notes") or ""
    tags = frame.get("tags") or []
    if not isinstance(notes, str) or len(notes) > MAX_NOTES_CHARS:
        outbox.send(
            error_frame(
                "bad_close", "Notes must be text (at most 4000 characters).", conversation=cid
            )
        )
        return
    if (
        not isinstance(tags, list)
        or len(tags) > MAX_TAGS
        or not all(isinstance(t, str) and 0 < len(t) <= 40 for t in tags)
    ):
        outbox.send(
            error_frame("bad_close", "Tags are a list of up to 20 short words.", conversation=cid)
        )
        return
    now = now_ms()
    result = await state.store.move(
        cid,
        allowed=["assigned"],
        new_state="closed",
        expected_agent=agent.name,
        event_text=CLOSE_TEXT,
        fields={
            "notes": notes,
            "tags": json.dumps(tags),
            "closed_at": now,
            "closed_by": agent.name,
        },
        event={"data": json.dumps({"ask_rating": True})},
    )
    if not result.ok:
        outbox.send(error_frame("close_failed", "The chat changed meanwhile.", conversation=cid))
        return
    assigned_at = int(conversation.get("assigned_at") or now)
    await state.queue.record_handling(max(0.0, (now - assigned_at) / 1000))
    outbox.send({"type": "closed", "conversation": cid})


async def _on_open(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = _cid(frame)
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        outbox.send(error_frame("not_found", "There is no such conversation.", conversation=cid))
        return
    if not may_view(agent, conversation):
        outbox.send(error_frame("forbidden", "You may not open this chat.", conversation=cid))
        return
    last_seen = frame.get("last_seen")
    outbox.open(cid, last_seen if isinstance(last_seen, str) and len(last_seen) < 40 else "")


async def _on_leave(
    frame: dict[str, Any], state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    outbox.opened.pop(_cid(frame), None)


def may_view(agent: SessionAgent, conversation: dict[str, str]) -> bool:
    if agent.role == "admin":
        return True
    current = conversation.get("state")
    if current == "assigned":
        return conversation.get("agent") == agent.name
    if current == "queued":
        return conversation.get("team", "") in agent.account.teams
    if current == "closed":
        return conversation.get("closed_by") == agent.name
    return False


# Roles that work in the console's chat views (editors have the FAQ editor instead).
CONSOLE_ROLES = ("agent", "admin")


async def viewable_conversation(request: web.Request) -> tuple[str, dict[str, str]]:
    """The conversation named by the URL's `cid`, for a console user allowed to see it.

    404 when there is no such conversation, 403 when it is not theirs to open (`may_view`).
    """
    state = app_state(request.app)
    agent = await sessions.require_agent(request, roles=CONSOLE_ROLES)
    cid = request.match_info["cid"]
    conversation = await state.store.get(cid) if is_conversation_id(cid) else None
    if conversation is None:
        raise web.HTTPNotFound(text="There is no such conversation.")
    if not may_view(agent, conversation):
        raise web.HTTPForbidden(text="You may not open this conversation.")
    return cid, conversation


# --- periodic work: grace period and auto-assign -----------------------------------------------


async def sweep_agents(state: AppState, requeue: bool = True) -> None:
    """Requeue the chats of agents gone past the grace period; optionally auto-assign.

    With `requeue` false, stale heartbeats are left alone this round (see `_register_hooks`).
    """
    keys = state.keys
    cutoff = now_ms() - int(state.settings.agent_grace_seconds * 1000)
    gone = (
        [str(n) for n in await state.redis.zrangebyscore(keys.heartbeat, "-inf", cutoff)]
        if requeue
        else []
    )
    for name in gone:
        await state.redis.hset(keys.presence, name, "offline")
        for cid in [str(c) for c in await state.redis.smembers(keys.agent_chats(name))]:
            conversation = await state.store.get(cid)
            if conversation is None:
                await state.redis.srem(keys.agent_chats(name), cid)
                continue
            team = conversation.get("team") or state.settings.default_team
            queued_at = int(conversation.get("queued_at") or now_ms())
            result = await state.store.move(
                cid,
                allowed=["assigned"],
                new_state="queued",
                expected_agent=name,
                priority=0,
                queued_at=max(1, queued_at - FRONT_OF_LINE_SHIFT),
                # The new wait (and its first response) count from now; the score above keeps
                # the chat at the front of the line.
                fields={"queued_at": now_ms()},
                event_text=DISCONNECTED_TEXT,
                event={"reason": "agent_disconnected"},
            )
            if result.ok:
                await state.store.publish({"q": team})
        # Only forget the heartbeat if no console of theirs beat meanwhile.
        await state.redis.zremrangebyscore(keys.heartbeat, "-inf", cutoff)
    if state.settings.auto_assign:
        for team in state.settings.teams:
            await auto_assign(state, team)


async def auto_assign(state: AppState, team: str, limit: int = 20) -> int:
    accounts = accounts_of(state)
    assigned = 0
    for _ in range(limit):
        waiting = await state.store.waiting(team, limit=1)
        if not waiting:
            break
        best: tuple[float, Account] | None = None
        for name in await state.queue.team_agents(team):
            if await presence_of(state, name) != "online":
                continue
            account = await accounts.get(name)
            if account is None:
                continue
            load = int(await state.redis.scard(state.keys.agent_chats(name)))
            if load >= account.capacity:
                continue
            ratio = load / account.capacity
            if best is None or ratio < best[0]:
                best = (ratio, account)
        if best is None:
            break
        ok, _, _ = await claim(state, best[1], waiting[0][0])
        assigned += ok
    return assigned


# --- registration --------------------------------------------------------------------------------


# The sweeper runs every 2 s (app._sweep_forever); a longer gap between two successful rounds
# means Redis (or this process) was unavailable in between.
SWEEP_GAP_SECONDS = 3.0


async def _register_hooks(app: web.Application) -> None:
    state = app_state(app)
    loop = asyncio.get_running_loop()
    # While Redis was unreachable no console could beat, so every heartbeat looks stale right
    # after it returns. Requeueing then would tell customers their agent vanished when it was
    # Redis that did: give live consoles a heartbeat interval (and a second of slack) to beat
    # again first. Start-up counts as such a return, for consoles reconnecting to this replica.
    settle = heartbeat_interval(state) + 1.0
    last_round = recovered_at = loop.time()

    async def hook() -> None:
        nonlocal last_round, recovered_at
        now = loop.time()
        if now - last_round > SWEEP_GAP_SECONDS:
            recovered_at = now
        await sweep_agents(state, requeue=now - recovered_at >= settle)
        last_round = loop.time()

    state.sweep_hooks.append(hook)


def setup_routes(app: web.Application) -> None:
    from handoff.console import api as console_api

    sessions.setup(app)
    app.router.add_get("/ws/agent", agent_socket)
    console_api.setup(app)
    app.on_startup.append(_register_hooks)
