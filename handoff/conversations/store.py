"""Conversations in Redis: the transcript stream, de-duplication, and atomic state moves.

The transcript stream is the system of record. A message is stored (once, keyed by the client's
message id) before anything acts on it; every state change goes through one Lua script that also
writes a system event into the transcript, so the transcript alone tells what happened and when.

    bot ──► queued ──► assigned ──► closed
     ▲        │           │  │
     └────────┘           │  └──► queued   (transfer, or the agent is gone past the grace period)
     └────────────────────┘                (returned to the bot)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import TimeoutError as RedisTimeoutError

from handoff.conversations.keys import CLOSED_CONVERSATION_TTL, DEDUP_TTL, Keys

STATES = ("bot", "queued", "assigned", "closed")
# Conversation ids are 128 random bits in hex: unguessable, and safe inside Redis keys and Lua.
CONVERSATION_ID_BYTES = 16
# A priority band is wider than any realistic queued time in ms, so priority always wins.
PRIORITY_BAND = 10**13


T = TypeVar("T")


async def bounded(call: Awaitable[T], seconds: float) -> T:
    """`call`'s result, or a Redis TimeoutError after `seconds` in total.

    One Redis call against a stalled server can outlast its socket timeout several times over
    (reconnects and retries each time out on their own); callers already treat a Redis error as
    "storage unavailable", this only bounds how long that takes to find out.
    """
    try:
        return await asyncio.wait_for(call, timeout=seconds)
    except asyncio.TimeoutError as error:
        raise RedisTimeoutError(f"no answer from Redis within {seconds:.1f} s") from error


def now_ms() -> int:
    return int(time.time() * 1000)


def is_conversation_id(value: str) -> bool:
    return len(value) == CONVERSATION_ID_BYTES * 2 and all(c in "0123456789abcdef" for c in value)


def queue_score(priority: int, queued_at_ms: int) -> int:
    """Lower scores are served first: by priority, then first come, first served."""
    return priority * PRIORITY_BAND + queued_at_ms


@dataclass(frozen=True)
class Entry:
    """One transcript entry: a message from someone, or a system event."""

    id: str
    kind: str  # "message" or "event"
    sender: str  # "customer", "bot", "agent" or "system"
    text: str
    at: int
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_stream(cls, entry_id: str, raw: Any) -> Entry:
        return cls(
            id=entry_id,
            kind=raw.get("kind", "message"),
            sender=raw.get("from", "system"),
            text=raw.get("text", ""),
            at=int(raw.get("at", "0") or 0),
            fields=dict(raw),
        )

    def json_field(self, name: str) -> Any:
        raw = self.fields.get(name)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def to_frame(self) -> dict[str, Any]:
        """The entry as the `event` frame both protocols send (docs/protocol.md)."""
        frame: dict[str, Any] = {
            "type": "event",
            "id": self.id,
            "kind": self.kind,
            "from": self.sender,
            "text": self.text,
            "at": self.at,
        }
        for name in ("client_id", "agent_name", "event", "state", "reason"):
            if self.fields.get(name):
                frame[name] = self.fields[name]
        for name in ("buttons", "data"):
            value = self.json_field(name)
            if value is not None:
                frame[name] = value
        return frame


@dataclass(frozen=True)
class MoveResult:
    ok: bool
    entry_id: str = ""
    state: str = ""
    agent: str = ""
    full: bool = False
    missing: bool = False


def load_script(name: str) -> str:
    return resources.files("handoff.conversations").joinpath("lua", name).read_text()


class ConversationStore:
    """All reads and writes of conversations; the only module that knows their Redis layout."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._append: AsyncScript = redis.register_script(load_script("append.lua"))
        self._move: AsyncScript = redis.register_script(load_script("move.lua"))

    async def create(self, team: str, origin: str = "", channel: str = "widget") -> str:
        cid = secrets.token_hex(CONVERSATION_ID_BYTES)
        now = now_ms()
        await self.redis.hset(
            self.keys.conversation(cid),
            mapping={
                "state": "bot",
                "team": team,
                "created_at": now,
                "updated_at": now,
                "origin": origin,
                "channel": channel,
                "bot_cursor": "0-0",
            },
        )
        await self.append(cid, "system", "", kind="event", event="started", state="bot")
        return cid

    async def get(self, cid: str) -> dict[str, str] | None:
        if not is_conversation_id(cid):
            return None
        data = await self.redis.hgetall(self.keys.conversation(cid))
        return cast(dict[str, str], data) or None

    async def state_of(self, cid: str) -> str | None:
        """The conversation's state, or None if there is no such conversation."""
        if not is_conversation_id(cid):
            return None
        value = await self.redis.hget(self.keys.conversation(cid), "state")
        return None if value is None else str(value)

    async def fields_of(self, cid: str, *names: str) -> list[str | None]:
        """Some fields of the conversation (None where missing, or for no such conversation)."""
        if not is_conversation_id(cid):
            return [None] * len(names)
        values = await self.redis.hmget(self.keys.conversation(cid), list(names))
        return [None if v is None else str(v) for v in values]

    async def set_fields(self, cid: str, values: Mapping[str, str | int | float]) -> None:
        await self.redis.hset(self.keys.conversation(cid), mapping=dict(values))  # type: ignore[arg-type]

    async def append(
        self,
        cid: str,
        sender: str,
        text: str,
        *,
        client_id: str = "",
        kind: str = "message",
        **extra: str | int | float | Sequence[Any] | Mapping[str, Any] | None,
    ) -> tuple[str, bool]:
        """Store an entry once; returns (stream id, True if new). Raises KeyError if unknown."""
        fields: list[str] = ["kind", kind, "from", sender, "text", text, "at", str(now_ms())]
        if client_id:
            fields += ["client_id", client_id]
        for name, value in extra.items():
            if value is None:
                continue
            encoded = json.dumps(value) if isinstance(value, list | dict | tuple) else str(value)
            fields += [name, encoded]
        result = await self._append(
            keys=[
                self.keys.log(cid),
                self.keys.seen(cid),
                self.keys.conversation(cid),
                self.keys.pending,
            ],
            args=[client_id, DEDUP_TTL, now_ms(), cid, self.keys.live, *fields],
        )
        entry_id, status = str(result[0]), int(result[1])
        if status < 0:
            raise KeyError(cid)
        return entry_id, status == 1

    async def read(self, cid: str, after: str | None = None, count: int = 500) -> list[Entry]:
        """Entries strictly after `after` (or all), oldest first."""
        start = f"({after}" if after and after != "0-0" else "-"
        raw = await self.redis.xrange(self.keys.log(cid), min=start, max="+", count=count)
        return [Entry.from_stream(str(entry_id), values) for entry_id, values in raw or []]

    async def read_all(self, cid: str) -> list[Entry]:
        entries: list[Entry] = []
        after: str | None = None
        while True:
            batch = await self.read(cid, after, count=1000)
            entries.extend(batch)
            if len(batch) < 1000:
                return entries
            after = batch[-1].id

    async def move(
        self,
        cid: str,
        *,
        allowed: Iterable[str],
        new_state: str,
        event_text: str,
        expected_agent: str = "",
        new_agent: str = "",
        capacity: int = 0,
        team: str | None = None,
        priority: int | None = None,
        queued_at: int | None = None,
        fields: Mapping[str, str | int] | None = None,
        event: Mapping[str, str | int] | None = None,
    ) -> MoveResult:
        """Change state atomically (see lua/move.lua); the caller picks what may change."""
        conversation = await self.get(cid)
        if conversation is None:
            return MoveResult(ok=False, missing=True)
        current_agent = conversation.get("agent", "")
        old_team = conversation.get("team", "")
        new_team = team or old_team
        now = now_ms()
        score = ""
        if new_state == "queued":
            score = str(queue_score(priority if priority is not None else 5, queued_at or now))
        conv_fields: dict[str, str | int] = dict(fields or {})
        if team:
            conv_fields["team"] = team
        if priority is not None:
            conv_fields["priority"] = priority
        event_fields: dict[str, str | int] = {
            "kind": "event",
            "from": "system",
            "text": event_text,
            "at": now,
            "event": "state",
            "state": new_state,
            **(event or {}),
        }
        flat_conv = [str(x) for pair in conv_fields.items() for x in pair]
        flat_event = [str(x) for pair in event_fields.items() for x in pair]
        none = self.keys.none
        result = await self._move(
            keys=[
                self.keys.conversation(cid),
                self.keys.log(cid),
                self.keys.queue(old_team) if old_team else none,
                self.keys.queue(new_team) if score else none,
                self.keys.agent_chats(current_agent) if current_agent else none,
                self.keys.agent_chats(new_agent) if new_agent else none,
            ],
            args=[
                cid,
                ",".join(allowed),
                new_state,
                # Pin the agent we read, so a concurrent reassignment makes this move fail
                # instead of releasing the wrong agent's chat slot.
                expected_agent or (current_agent if current_agent else "-"),
                new_agent,
                capacity,
                score,
                now,
                self.keys.live,
                len(conv_fields),
                *flat_conv,
                *flat_event,
            ],
        )
        tag = str(result[0])
        if tag == "ok":
            if new_state == "closed":
                await self._expire_closed(cid)
            return MoveResult(ok=True, entry_id=str(result[1]), state=new_state, agent=new_agent)
        if tag == "state":
            return MoveResult(ok=False, state=str(result[1]), agent=str(result[2]))
        if tag == "full":
            return MoveResult(ok=False, full=True)
        return MoveResult(ok=False, missing=True)

    async def _expire_closed(self, cid: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (self.keys.conversation(cid), self.keys.log(cid), self.keys.seen(cid)):
                pipe.expire(key, CLOSED_CONVERSATION_TTL)
            await pipe.execute()

    async def queue_position(self, cid: str, team: str) -> int | None:
        rank = await self.redis.zrank(self.keys.queue(team), cid)
        return None if rank is None else int(cast(int, rank)) + 1

    async def queue_length(self, team: str) -> int:
        return int(await self.redis.zcard(self.keys.queue(team)))

    async def waiting(self, team: str, limit: int = 200) -> list[tuple[str, float]]:
        raw: Any = await self.redis.zrange(self.keys.queue(team), 0, limit - 1, withscores=True)
        return [(str(cid), float(score)) for cid, score in raw]

    async def publish(self, payload: Mapping[str, Any]) -> None:
        """A hint on the live channel (typing, queue moved); never the only copy of anything."""
        await self.redis.publish(self.keys.live, json.dumps(payload, separators=(",", ":")))
