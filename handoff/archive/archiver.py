"""Copying live conversations from Redis into the archive, continuously and at least once.

Every write to a conversation (a transcript entry, a state move, notes, tags, a rating) also
puts it in the `archive due` set with the time of that write (the append, move and field
scripts do it in the same step). The archiver takes conversations that have been quiet for a
moment, copies the transcript entries after the last one it archived and the conversation's
current facts into SQL, and only then marks them archived: if a write landed meanwhile, the
conversation stays due and is copied again (writes are idempotent). A conversation therefore
reaches the archive within seconds of each change, long before its Redis lifetime ends.

When the archive cannot be written (the database is down), the conversation stays due and its
Redis lifetime is extended, so Redis never lets go of a conversation that is not archived; the
backlog and the age of the oldest due conversation are metrics an operator alerts on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from handoff.archive.store import ArchiveStore
from handoff.archive.writing import ConversationFacts, EntryRecord
from handoff.conversations.entry import json_or_none
from handoff.conversations.store import load_script
from vocabulary.payload import verified_order

log = logging.getLogger("handoff.archive")

# Fields of an entry that are its own columns; the rest is kept as its data.
ENTRY_COLUMNS = ("kind", "from", "text", "at")
# How long a conversation must have been quiet before it is copied: a burst of writes (a turn's
# replies) is archived once, not once per write.
SETTLE_MS = 1500
# Conversations copied per database transaction, and the longest one round keeps going: a burst
# of thousands of conversations is drained in batches, a round never holds the loop for long.
BATCH = 200
ROUND_SECONDS = 5.0


@dataclass(frozen=True)
class ArchiveKeys:
    """The Redis keys the archiver reads and writes (spelled by the service's `Keys`)."""

    due: str
    conversation: Callable[[str], str]
    log: Callable[[str], str]


def facts_from_hash(cid: str, fields: Mapping[str, str]) -> ConversationFacts:
    """A conversation's facts as its Redis hash holds them."""

    def number(name: str) -> int | None:
        raw = fields.get(name)
        try:
            return int(float(raw)) if raw else None
        except ValueError:
            return None

    packet = json_or_none(fields.get("packet"))
    # Only a verified order identifies the customer (the packet carries no unverified one).
    order = verified_order(packet.get("slots")) if isinstance(packet, dict) else None
    tags = json_or_none(fields.get("tags"))
    started = number("created_at") or number("updated_at") or 0
    return ConversationFacts(
        id=cid,
        at=number("updated_at") or started,
        started_at=started or None,
        state=fields.get("state") or None,
        closed_at=number("closed_at"),
        handoff_reason=fields.get("reason") or None,
        team=fields.get("team") or None,
        agent=fields.get("agent") or fields.get("closed_by") or None,
        tags=[str(t) for t in tags] if isinstance(tags, list) else None,
        notes=fields.get("notes"),
        rating=number("rating"),
        rating_comment=fields.get("rating_comment") or None,
        packet=packet if isinstance(packet, dict) else None,
        customer_email=fields.get("customer_email") or None,
        order_number=str(order) if order else None,
    )


def entry_record(cid: str, entry_id: str, raw: Mapping[str, str]) -> EntryRecord:
    data = {k: v for k, v in raw.items() if k not in ENTRY_COLUMNS}
    try:
        at = int(raw.get("at", "0") or 0)
    except ValueError:
        at = 0
    return EntryRecord(
        conversation_id=cid,
        entry_id=entry_id,
        at=at or int(entry_id.split("-")[0]),
        sender=raw.get("from", "system"),
        kind=raw.get("kind", "message"),
        text=raw.get("text", ""),
        data=data,
    )


class Archiver:
    def __init__(
        self,
        redis: Redis,
        keys: ArchiveKeys,
        store: ArchiveStore,
        keep_alive: Callable[[str], Awaitable[None]],
        settle_ms: int = SETTLE_MS,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.store = store
        # Extends a conversation's Redis lifetime while its archive write keeps failing.
        self.keep_alive = keep_alive
        self.settle_ms = settle_ms
        self._mark = redis.register_script(load_script("mark_archived.lua"))
        self.failures = 0

    async def run_once(self, now_ms: int | None = None) -> int:
        """Archive the conversations due (quiet for `settle_ms`), a batch at a time until none
        is left or ROUND_SECONDS have passed; returns how many were archived."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        began = time.monotonic()
        done = 0
        while time.monotonic() - began < ROUND_SECONDS:
            due = cast(
                "list[tuple[Any, Any]]",
                await self.redis.zrangebyscore(
                    self.keys.due,
                    "-inf",
                    now_ms - self.settle_ms,
                    start=0,
                    num=BATCH,
                    withscores=True,
                ),
            )
            if not due:
                break
            batch = [(_text(member), float(score)) for member, score in due]
            try:
                done += await self.archive_batch(batch)
            except Exception as error:  # any failure: keep them due, keep them alive
                self.failures += 1
                log.warning("archiving %d conversations failed, will retry: %s", len(batch), error)
                for cid, _ in batch:
                    await self.keep_alive(cid)
                break
            if len(due) < BATCH:
                break
        return done

    async def archive_batch(self, batch: list[tuple[str, float]]) -> int:
        """Copy a batch of conversations in one database transaction; returns how many."""
        pipe = self.redis.pipeline(transaction=False)
        for cid, _ in batch:
            pipe.hgetall(self.keys.conversation(cid))
        hashes = [
            {_text(k): _text(v) for k, v in cast("dict[Any, Any]", stored).items()}
            for stored in await pipe.execute()
        ]
        gone = [cid for (cid, _), fields in zip(batch, hashes, strict=True) if not fields]
        if gone:
            # Expired or erased before it was copied: nothing is left to archive.
            await self.redis.zrem(self.keys.due, *gone)
        present = [
            (cid, score, fields)
            for (cid, score), fields in zip(batch, hashes, strict=True)
            if fields
        ]
        pipe = self.redis.pipeline(transaction=False)
        for cid, _, fields in present:
            after = fields.get("archived_id") or ""
            pipe.xrange(self.keys.log(cid), min=f"({after}" if after else "-", max="+")
        logs = await pipe.execute()
        facts: list[ConversationFacts] = []
        records: list[EntryRecord] = []
        last_ids: list[str] = []
        for (cid, _, fields), raw in zip(present, logs, strict=True):
            entries = [
                entry_record(cid, _text(eid), {_text(k): _text(v) for k, v in item.items()})
                for eid, item in cast("list[tuple[Any, dict[Any, Any]]]", raw or [])
            ]
            facts.append(facts_from_hash(cid, fields))
            records += entries
            last_ids.append(entries[-1].entry_id if entries else fields.get("archived_id") or "")
        if present:
            await asyncio.to_thread(self.store.record, facts, records)
            # One round trip for the whole batch's marks, not one per conversation.
            pipe = self.redis.pipeline(transaction=False)
            for (cid, score, _), last in zip(present, last_ids, strict=True):
                await self._mark(
                    keys=[self.keys.conversation(cid), self.keys.due],
                    args=[cid, last, repr(score)],
                    client=pipe,
                )
            await pipe.execute()
        return len(present)

    async def backlog(self, now_ms: int | None = None) -> tuple[int, float]:
        """(conversations due, seconds the oldest has waited): for the metrics page."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        count = await self.redis.zcard(self.keys.due)
        oldest = await self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        waited = max(0.0, (now_ms - float(oldest[0][1])) / 1000) if oldest else 0.0
        return int(count), waited


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
