"""The single writer of one customer socket: direct frames first, then new transcript entries.

Hints from the live channel say what changed: a new entry of the conversation, a change of
state, someone typing, or that some queue moved. A new entry's hint carries it: sent as it is
when it follows the last entry this socket sent, else the transcript is re-read from that
entry, so each entry reaches the customer exactly once, in order; the queue position
is re-read only while the customer waits, and sent only when it changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from handoff.conversations.entry import Carried, Entry, following
from handoff.gateway.frames import ServerTyping
from handoff.state import AppState
from handoff.web.sockets import SocketWriter, send_frame

# Entries one transcript read returns at most; a full read means there may be more.
READ_BATCH = 500


class Outbox(SocketWriter):
    """The single writer of one customer socket: direct frames, then new transcript entries."""

    label = "customer"
    __slots__ = (
        "carried",
        "cid",
        "conversation_state",
        "entries_read",
        "entries_wanted",
        "last_queue_frame",
        "last_sent",
        "queue_dirty",
        "queue_hinted_at",
        "state",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        state: AppState,
        cid: str,
        last_seen: str,
        conversation_state: str = "queued",
    ):
        super().__init__(ws, state.settings.storage_deadline, state.writer_reads)
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
        # Entries their hints carried, not yet delivered: sent without a read when they
        # follow the last one sent (conversations/entry.py `following`).
        self.carried: list[Carried] = []

    def hint(self, payload: dict[str, Any]) -> None:
        if "typing" in payload:
            if payload.get("typing") in {"bot", "agent"}:
                typing = ServerTyping(
                    type="typing", sender=payload["typing"], on=bool(payload["on"])
                )
                self.send(typing.frame())
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
        carried = Carried.from_hint(payload)
        if carried is None:
            self.entries_wanted += 1
        else:
            self.carried.append(carried)
        self.wake.set()

    def _resync(self) -> None:
        self.queue_dirty = True
        self.queue_hinted_at = None
        self.entries_wanted += 1

    async def _flush(self) -> None:
        if self.stopped:
            return
        while self.frames:
            await send_frame(self.ws, self.frames.pop(0))
        wanted = self.entries_wanted
        # Hints that came during a read are in the next flush's list: what this read returns
        # covers every entry carried before it started.
        carried, self.carried = self.carried, []
        entries = following(self.last_sent, carried) if wanted == self.entries_read else None
        if entries is None:
            if wanted == self.entries_read:
                # A gap in the carried entries: wanted now, so a read that fails is tried again.
                self.entries_wanted = wanted = wanted + 1
            entries = await self._read(self.state.store.read(self.cid, self.last_sent, READ_BATCH))
            self.entries_read = wanted
        for entry in entries:
            await send_frame(self.ws, customer_frame(entry))
            self.last_sent = entry.id
            if entry.fields.get("event") == "state" and entry.fields.get("state"):
                self.conversation_state = entry.fields["state"]
                self.queue_dirty = True
                self.queue_hinted_at = None
        if len(entries) == READ_BATCH:
            self.entries_wanted += 1  # more than one read's worth: read on
            self.wake.set()
        if self.queue_dirty:
            self.queue_dirty = False
            await self._send_queue_status()

    async def _send_queue_status(self) -> None:
        current, team = await self._read(self.state.store.fields_of(self.cid, "state", "team"))
        if current != "queued":
            self.last_queue_frame = None
            return
        status = await self._read(
            self.state.queue.status(self.cid, team or "", self.queue_hinted_at)
        )
        if status is None:
            return
        frame = status.to_frame()
        if frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await send_frame(self.ws, frame)


def customer_frame(entry: Entry) -> dict[str, Any]:
    """What a customer may see of an entry: agent user names and internal fields stay out."""
    frame = entry.to_frame()
    if entry.sender != "system":
        frame.pop("reason", None)
    return frame
