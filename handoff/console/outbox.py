"""The single writer of one console socket: direct frames, the entries of the conversations the
agent has open, and the team queues.

Hints from the live channel wake it: a new entry's hint carries the entry, sent as it is when it
follows the last one sent in its conversation; otherwise it re-reads the transcripts of the open
conversations from the last id it sent. It refreshes the queues (debounced) when a queue or a
state moved.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.console.queue_view import active_chats, breach_frame, mine_frame, queue_items
from handoff.console.server_frames import (
    ActiveFrame,
    EmailStatusFrame,
    QueueFrame,
    ServerFrame,
    refuse,
)
from handoff.console.sessions import SessionAgent
from handoff.conversations.entry import Carried, Entry, following
from handoff.email.outbox import email_fields
from handoff.state import AppState
from handoff.web.sockets import SocketWriter, send_frame

QUEUE_DEBOUNCE = 0.025


class ConsoleOutbox(SocketWriter):
    """The single writer of one console socket."""

    label = "console"

    def __init__(self, ws: web.WebSocketResponse, state: AppState, agent: SessionAgent) -> None:
        super().__init__(ws, state.settings.storage_deadline, state.writer_reads)
        self.state = state
        self.agent = agent
        self.opened: dict[str, str] = {}  # conversation -> last entry id sent
        self.dirty: set[str] = set()  # open conversations to read from the last entry sent
        # Entries their hints carried, by conversation: sent without a read when they follow
        # the last entry sent (conversations/entry.py `following`).
        self.carried: dict[str, list[Carried]] = {}
        self.queue_dirty = True
        self.last_queue: dict[str, Any] = {}
        self.last_active: list[str] | None = None
        # My chats as last sent, without the ticking seconds; dirty when one of them moved.
        self.last_mine: list[Any] | None = None
        self.mine_dirty = False
        # My chats whose customer waits for a reply, as of the last `mine` read.
        self.waits_running: set[str] = set()
        self.last_queue_at = 0.0  # loop time of the last queue refresh
        # Set when the agent's sessions may have ended (logout or a new password anywhere).
        self.session_check = False

    def reply(self, frame: ServerFrame) -> None:
        """Queue a frame of the agent protocol."""
        self.send(dict(frame))

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
        if "mail" in payload:
            # An agent's message sent by email changed status (handoff/email/outbox.py).
            if isinstance(cid, str) and cid in self.opened and payload.get("entry"):
                status: EmailStatusFrame = {
                    "type": "email_status",
                    "conversation": cid,
                    "entry": str(payload["entry"]),
                    "status": payload["status"],
                }
                if payload.get("error"):
                    status["error"] = str(payload["error"])
                self.reply(status)
            return
        if "breaches" in payload or "breach" in payload:
            # A sweeper round's breaches come in one hint (one each from replicas before it).
            for breach in payload.get("breaches") or [payload]:
                frame = breach_frame(self.agent, breach)
                if frame is not None:
                    self.reply(frame)
            return
        if "typing" in payload:
            if payload.get("typing") == "customer" and isinstance(cid, str) and cid in self.opened:
                self.reply(
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
            carried = Carried.from_hint(payload)
            if carried is None:
                self.dirty.add(cid)
            else:
                self.carried.setdefault(cid, []).append(carried)
            self.wake.set()

    def _resync(self) -> None:
        self.session_check = True
        self.dirty.update(self.opened)
        self.queue_dirty = True

    async def _flush(self) -> None:
        if self.session_check and not self.stopped:
            self.session_check = False
            session = self.state.keys.session(self.agent.sid)
            if not await self._read(self.state.redis.exists(session)):
                self.stopped = True
                await send_frame(
                    self.ws, refuse("session_ended", "Your session has ended; log in again.")
                )
                await self.ws.close(code=4401, message=b"session ended")
                return
        while self.frames and not self.stopped:
            await send_frame(self.ws, self.frames.pop(0))
        while (self.dirty or self.carried) and not self.stopped:
            if self.carried:
                cid, hints = self.carried.popitem()
                # A conversation marked for reading gets these entries from that read, which
                # comes later in this loop; one closed meanwhile gets nothing.
                if cid in self.dirty or cid not in self.opened:
                    continue
                entries = following(self.opened[cid], hints)
                if entries is None:
                    self.dirty.add(cid)
                    continue
            else:
                cid = self.dirty.pop()
                if cid not in self.opened:
                    continue
                # Bounded: frames queued meanwhile (acks, errors) wait behind this read.
                try:
                    entries = await self._read(self.state.store.read(cid, self.opened[cid]))
                except RedisError:
                    self.dirty.add(cid)  # read again once Redis answers, not at the resync
                    raise
                if len(entries) == 500:
                    self.dirty.add(cid)
            await self._deliver(cid, entries)
        if self.queue_dirty and not self.stopped:
            # At most one refresh per QUEUE_DEBOUNCE: the first move after a quiet spell is shown
            # at once, a burst of moves after it becomes one queue frame.
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, self.last_queue_at + QUEUE_DEBOUNCE - loop.time()))
            self.queue_dirty = False
            self.last_queue_at = loop.time()
            await self._send_queues()
        if self.mine_dirty and not self.stopped:
            await self._send_mine()
        if self.frames:
            self.wake.set()

    async def _deliver(self, cid: str, entries: list[Entry]) -> None:
        for entry in entries:
            if cid not in self.opened:
                return  # the agent left it while its entries were read (or one was sent)
            frame = {**entry.to_frame(), "conversation": cid}
            if "mail" in entry.fields or "channel" in entry.fields:
                frame.update(await self._read(email_fields(self.state, entry.fields)))
            await send_frame(self.ws, frame)
            self.opened[cid] = entry.id
        # A message in one of my chats starts or stops the wait for a reply it shows; more
        # messages from a customer whose wait already runs change nothing (lua/append.lua
        # starts the clock with HSETNX), so they do not re-read every chat of the agent.
        if cid in (self.last_active or ()) and not (
            cid in self.waits_running and all(_from_customer(e) for e in entries)
        ):
            self.mine_dirty |= bool(entries)

    async def _send_queues(self) -> None:
        teams = self.agent.account.teams
        if self.agent.role == "admin":
            teams = tuple(dict.fromkeys((*teams, *self.state.settings.teams)))
        for team in teams:
            items = await self._read(queue_items(self.state, team))
            frame: QueueFrame = {"type": "queue", "team": team, "items": items}
            # The waiting times tick on their own; only a change of the queue is sent.
            comparable = [{k: v for k, v in i.items() if k != "waiting_seconds"} for i in items]
            if self.last_queue.get(team) != comparable:
                self.last_queue[team] = comparable
                await send_frame(self.ws, frame)
        active = await self._read(active_chats(self.state, self.agent.name))
        if active != self.last_active:
            if self.last_active is not None:
                changed: ActiveFrame = {"type": "active", "conversations": active}
                await send_frame(self.ws, changed)
            self.last_active = active
        await self._send_mine()

    async def _send_mine(self) -> None:
        self.mine_dirty = False
        frame = await self._read(mine_frame(self.state, self.agent.name))
        # The time left ticks on its own in the console; only a change of a wait is sent.
        comparable = [
            {**chat, "due": chat["due"] and {**chat["due"], "left_seconds": 0}}
            for chat in frame["chats"]
        ]
        self.waits_running = {chat["conversation"] for chat in frame["chats"] if chat["due"]}
        if comparable != self.last_mine:
            self.last_mine = comparable
            await send_frame(self.ws, frame)


def _from_customer(entry: Entry) -> bool:
    return entry.kind == "message" and entry.sender == "customer"
