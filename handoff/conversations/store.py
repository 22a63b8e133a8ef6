"""Conversations in Redis: the transcript stream, de-duplication, and atomic state moves.

The transcript stream is the system of record. A message is stored (once, keyed by the client's
message id) before anything acts on it; every state change goes through one Lua script that also
writes a system event into the transcript, so the transcript alone tells what happened and when.
The same scripts give the conversation's keys the lifetime of its state (lua/lifetime.lua), so
nothing a customer abandons stays in Redis for ever.

    bot ──► queued ──► assigned ──► closed
     ▲        │           │  │
     └────────┘           │  └──► queued   (transfer, or the agent is gone past the grace period)
     └────────────────────┘                (returned to the bot)
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import TimeoutError as RedisTimeoutError

from handoff.conversations.entry import Entry
from handoff.conversations.keys import CONVERSATION_LIFETIME, TRANSCRIPT_ENTRIES_KEPT, Keys
from handoff.conversations.outcomes import (
    Appended,
    ChatClosed,
    MoveResult,
    RateCounter,
    RateLimited,
)

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
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the call in a task of its
    # own, a task per Redis read of every socket writer (issue 20: CPU per relayed message).
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as error:
        raise RedisTimeoutError(f"no answer from Redis within {seconds:.1f} s") from error


def now_ms() -> int:
    return int(time.time() * 1000)


def is_conversation_id(value: str) -> bool:
    return len(value) == CONVERSATION_ID_BYTES * 2 and all(c in "0123456789abcdef" for c in value)


def queue_score(priority: int, queued_at_ms: int) -> int:
    """Lower scores are served first: by priority, then first come, first served."""
    return priority * PRIORITY_BAND + queued_at_ms


@functools.cache
def load_script(name: str) -> str:
    return resources.files("handoff.conversations").joinpath("lua", name).read_text()


def conversation_script(name: str) -> str:
    """A script that writes a conversation, after the lifetime rule it applies (lifetime.lua)
    and the hint that carries a new entry (entry_hint.lua)."""
    return load_script("lifetime.lua") + load_script("entry_hint.lua") + load_script(name)


class ConversationStore:
    """All reads and writes of conversations; the only module that knows their Redis layout."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._append: AsyncScript = redis.register_script(conversation_script("append.lua"))
        self._move: AsyncScript = redis.register_script(conversation_script("move.lua"))
        self._resume: AsyncScript = redis.register_script(conversation_script("resume.lua"))
        self._set_fields: AsyncScript = redis.register_script(conversation_script("set_fields.lua"))

    def _held(self, cid: str) -> list[str]:
        """The keys that live and expire together as the conversation (lua/lifetime.lua)."""
        return [self.keys.conversation(cid), self.keys.log(cid), self.keys.seen(cid)]

    async def create(
        self,
        team: str,
        *,
        lifetime: int,
        max_entries: int,
        origin: str = "",
        channel: str = "widget",
    ) -> str:
        """A new conversation with the assistant, kept `lifetime` seconds after its last write
        (its resume token's lifetime) with at least `max_entries` transcript entries."""
        cid = secrets.token_hex(CONVERSATION_ID_BYTES)
        now = now_ms()
        key = self.keys.conversation(cid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "state": "bot",
                    "team": team,
                    "created_at": now,
                    "updated_at": now,
                    "origin": origin,
                    "channel": channel,
                    "bot_cursor": "0-0",
                    "lifetime": lifetime,
                    "max_entries": max_entries,
                },
            )
            # Expiring from the start: a replica that dies before the first entry below leaves
            # nothing behind for ever.
            pipe.expire(key, lifetime)
            await pipe.execute()
        await self.append(cid, "system", "", kind="event", event="started", state="bot")
        return cid

    async def resume(self, cid: str, lifetime: int) -> dict[str, str] | None:
        """The conversation a customer comes back to with a new resume token valid `lifetime`
        seconds, kept at least that long from now (longer if it was); None if there is none."""
        if not is_conversation_id(cid):
            return None
        raw = await self._resume(keys=self._held(cid), args=[lifetime, self.keys.closed_lifetime])
        pairs = [str(x) for x in raw or []]
        return dict(zip(pairs[::2], pairs[1::2], strict=True)) or None

    async def keep_at_least(self, cid: str, seconds: int) -> bool:
        """Keep the conversation at least `seconds` after each later write and from now (its
        stored lifetime raised, never lowered); False if there is no such conversation."""
        return await self.resume(cid, seconds) is not None

    async def keep_alive(self, cid: str) -> None:
        """Restart the conversation's lifetime as if it had just been written (the archiver does
        this while it cannot copy the conversation, so Redis does not let it go unarchived)."""
        (lifetime,) = await self.fields_of(cid, "lifetime")
        await self.resume(cid, int(lifetime or CONVERSATION_LIFETIME))

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

    async def set_fields(
        self,
        cid: str,
        values: Mapping[str, str | int | float],
        *,
        unless_changed: tuple[str, str] | None = None,
    ) -> bool:
        """Set fields of the conversation if it still exists; with `unless_changed=(field,
        value read)`, only while that field still holds the value read. True if written."""
        field, read = unless_changed or ("", "")
        flat = [str(x) for pair in values.items() for x in pair]
        written = await self._set_fields(
            keys=[self.keys.conversation(cid), self.keys.archive_due],
            args=[field, read, cid, now_ms(), *flat],
        )
        return bool(written)

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
        stored = await self.append_entry(
            cid, sender, text, client_id=client_id, kind=kind, counter=None, **extra
        )
        return stored.entry_id, stored.new

    async def append_entry(
        self,
        cid: str,
        sender: str,
        text: str,
        *,
        client_id: str = "",
        kind: str = "message",
        counter: RateCounter | None = None,
        **extra: str | int | float | Sequence[Any] | Mapping[str, Any] | None,
    ) -> Appended:
        """`append`, telling also which wait for a reply an agent's new message ended.

        With a `counter` (a customer's message), the script refuses a message to a closed
        chat (ChatClosed) or over the counter's limit (RateLimited), in the same round trip
        as the write."""
        now = now_ms()  # the entry's time is the time its script keeps (awaiting_since)
        fields: list[str] = ["kind", kind, "from", sender, "text", text, "at", str(now)]
        if client_id:
            fields += ["client_id", client_id]
        for name, value in extra.items():
            if value is None:
                continue
            encoded = json.dumps(value) if isinstance(value, list | dict | tuple) else str(value)
            fields += [name, encoded]
        keys = [
            self.keys.log(cid),
            self.keys.seen(cid),
            self.keys.conversation(cid),
            self.keys.pending,
            self.keys.archive_due,
        ]
        if counter is not None:
            keys.append(counter.key)
        result = await self._append(
            keys=keys,
            args=[
                client_id,
                now,
                cid,
                self.keys.live,
                CONVERSATION_LIFETIME,
                self.keys.closed_lifetime,
                TRANSCRIPT_ENTRIES_KEPT,
                "" if counter is None else counter.limit,
                0 if counter is None else counter.lifetime,
                *fields,
            ],
        )
        entry_id, status = str(result[0]), int(result[1])
        if status == -2 or (status == -1 and counter is not None):
            raise ChatClosed(cid)
        if status == -3:
            raise RateLimited(cid)
        if status < 0:
            raise KeyError(cid)
        rest = [str(x) for x in result[2:]]
        if len(rest) == 3:
            return Appended(entry_id, status == 1, rest[0], int(rest[1]), int(rest[2]))
        return Appended(entry_id, status == 1, state=rest[0] if rest else "")

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
        cursor_to_now: bool = False,
    ) -> MoveResult:
        """Change state atomically (see lua/move.lua); the caller picks what may change.

        `cursor_to_now`: the bot answers only what the customer writes after this move (its
        cursor moves to the move's own event in the same step, however late a message arrived).
        """
        state, current_agent, old_team = await self.fields_of(cid, "state", "agent", "team")
        if state is None:
            return MoveResult(ok=False, missing=True)
        current_agent, old_team = current_agent or "", old_team or ""
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
                *self._held(cid),
                self.keys.queue(old_team) if old_team else none,
                self.keys.queue(new_team) if score else none,
                self.keys.agent_chats(current_agent) if current_agent else none,
                self.keys.agent_chats(new_agent) if new_agent else none,
                self.keys.pending,
                self.keys.archive_due,
            ],
            args=[
                cid,
                ",".join(allowed),
                new_state,
                # Pin the agent and the team we read, so a concurrent reassignment or transfer
                # makes this move fail instead of releasing the wrong agent's chat slot or
                # leaving the chat behind in a queue it is no longer in.
                expected_agent or (current_agent if current_agent else "-"),
                new_agent,
                capacity,
                score,
                now,
                self.keys.live,
                old_team,
                "1" if cursor_to_now else "",
                CONVERSATION_LIFETIME,
                self.keys.closed_lifetime,
                TRANSCRIPT_ENTRIES_KEPT,
                len(conv_fields),
                *flat_conv,
                *flat_event,
            ],
        )
        tag = str(result[0])
        if tag == "ok":
            return MoveResult(
                ok=True, entry_id=str(result[1]), state=new_state, agent=new_agent, team=new_team
            )
        if tag == "state":
            return MoveResult(
                ok=False, state=str(result[1]), agent=str(result[2]), team=str(result[3])
            )
        if tag == "full":
            return MoveResult(ok=False, full=True)
        return MoveResult(ok=False, missing=True)

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
