"""Copying live conversations from Redis into the archive, continuously and at least once.

Every write to a conversation (a transcript entry, a state move, notes, tags, a rating) also
puts it in the `archive due` set with the time of that write (the append, move and field
scripts do it in the same step). The archiver takes conversations that have been quiet for a
moment, copies the transcript entries after the last one it archived and the conversation's
current facts into SQL, and only then marks them archived: if a write landed meanwhile, the
conversation stays due and is copied again (writes are idempotent). A conversation therefore
reaches the archive within seconds of each change, long before its Redis lifetime ends.

When a batch cannot be written, the archiver asks the database for an empty transaction to
tell the two causes apart:

- the database is down: every due conversation (not only the batch) stays due and has its Redis
  lifetime restarted when little of it is left, so Redis never lets go of a conversation that is
  not archived;
- the database answers but refuses something in the batch: the batch's conversations are copied
  one by one, and one that is still refused is parked (its due time moved ahead, doubling per
  refusal up to PARK_MAX_SECONDS, its lifetime restarted) while the rest are archived. One
  conversation the database can never take does not hold up the others.

The backlog, the age of the oldest due conversation and the parked count are metrics an
operator alerts on.
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
from handoff.archive.writing import ConversationFacts, EntryRecord, normalise_order_number
from handoff.conversations.entry import as_text, json_or_none
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
# A conversation the database refuses while it takes others is tried again after this, doubling
# per refusal up to the most: a refusal caused by something outside the conversation (a full
# disk, a lock) heals within minutes, one inside it needs an operator (the parked metric).
PARK_FIRST_SECONDS = 30.0
PARK_MAX_SECONDS = 3600.0
# A batch copied one by one after failing: this many refusals in a row mean the database, not
# the conversations, so none is parked and all stay due (as when it is down).
REFUSED_IN_A_ROW = 3
# While the database is down, the whole due set is walked at most this often, and a conversation
# with less than KEEP_ALIVE_BELOW_SECONDS of Redis lifetime left has its lifetime restarted: far
# more margin than the walk's period, and a walk costs one round trip per BATCH conversations.
KEEP_ALIVE_EVERY_SECONDS = 60.0
KEEP_ALIVE_BELOW_SECONDS = 6 * 3600


@dataclass(frozen=True)
class ArchiveKeys:
    """The Redis keys the archiver reads and writes (spelled by the service's `Keys`)."""

    due: str
    conversation: Callable[[str], str]
    log: Callable[[str], str]
    erased: Callable[[str], str]


def facts_from_hash(cid: str, fields: Mapping[str, str]) -> ConversationFacts:
    """A conversation's facts as its Redis hash holds them."""

    def number(name: str) -> int | None:
        raw = fields.get(name)
        try:
            return int(float(raw)) if raw else None
        except ValueError:
            return None

    packet = json_or_none(fields.get("packet"))
    # Only a verified order identifies the customer (the packet carries no unverified one). A
    # customer who verified with the assistant and never asked for a person has no packet: the
    # conversation's `verified_order` says it then.
    order = _order_number(verified_order(packet.get("slots")) if isinstance(packet, dict) else None)
    order = order or _order_number(fields.get("verified_order"))
    tags = json_or_none(fields.get("tags"))
    started = number("created_at") or number("updated_at") or 0
    queued_at = number("queued_at")
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
        follow_up_rating=number("follow_up_rating"),
        follow_up_rated_at=number("follow_up_rated_at"),
        queued_at=queued_at,
        assigned_at=number("assigned_at"),
        # The breach mark names the wait it was counted for (its queued_at): a mark left from
        # an earlier time in the queue says nothing about the latest one.
        first_response_breached=number("breached_first") == queued_at if queued_at else None,
        packet=packet if isinstance(packet, dict) else None,
        customer_email=fields.get("customer_email") or None,
        order_number=order,
    )


def _order_number(raw: object) -> str | None:
    """`raw` as an order number (HG-10042), or None when it is none: a value without digits
    would make every copy of the conversation fail."""
    try:
        return normalise_order_number(str(raw)) if raw else None
    except ValueError:
        return None


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
        # Refusals per parked conversation (this replica's count, for the backoff) and when it
        # was last parked; entries not parked again for long are dropped (archived or gone).
        self._refusals: dict[str, tuple[int, float]] = {}
        self._swept_at: float | None = None

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
            batch = [(as_text(member), float(score)) for member, score in due]
            try:
                done += await self.archive_batch(batch)
            except Exception as error:  # any failure: down, or something in the batch refused
                self.failures += 1
                log.warning("archiving %d conversations failed: %s", len(batch), error)
                archived = await self._one_by_one(batch, began + ROUND_SECONDS)
                if archived is None:
                    await self.keep_due_alive()
                    break
                done += archived
            if len(due) < BATCH:
                break
        return done

    async def _database_answers(self) -> bool:
        try:
            await asyncio.to_thread(self.store.record)  # an empty transaction
        except Exception as error:  # the database is down or unreachable
            log.warning("the archive database is not answering, will retry: %s", error)
            return False
        return True

    async def _one_by_one(self, batch: list[tuple[str, float]], deadline: float) -> int | None:
        """Copy a failed batch's conversations one at a time, parking those still refused;
        how many were archived, or None when the database is down (nothing is parked then).
        Stops at the round's deadline (the rest stay due for the next round)."""
        if not await self._database_answers():
            return None
        done = refused_in_a_row = 0
        refused: list[tuple[str, Exception]] = []
        for item in batch:
            if time.monotonic() > deadline:
                break
            try:
                done += await self.archive_batch([item])
            except Exception as error:  # refused: this conversation, or the database went down
                refused_in_a_row += 1
                # Several in a row is the database, not the conversations (a full disk, a
                # locked table: an empty transaction still answers, every write times out):
                # parking them would call good conversations bad and stall for minutes.
                if refused_in_a_row >= REFUSED_IN_A_ROW or not await self._database_answers():
                    return None
                refused.append((item[0], error))
            else:
                refused_in_a_row = 0
                self._refusals.pop(item[0], None)
        for cid, why in refused:
            await self._park(cid, why)
        return done

    async def _park(self, cid: str, error: Exception) -> None:
        now = time.monotonic()
        refusals = self._refusals.get(cid, (0, now))[0] + 1
        # Forget conversations not parked again for long: archived since, expired or erased.
        stale = [c for c, (_, at) in self._refusals.items() if now - at > 2 * PARK_MAX_SECONDS]
        for gone in stale:
            del self._refusals[gone]
        self._refusals[cid] = (refusals, now)
        wait = min(PARK_MAX_SECONDS, PARK_FIRST_SECONDS * 2 ** (refusals - 1))
        await self.keep_alive(cid)
        ttl = await self.redis.ttl(self.keys.conversation(cid))
        if ttl > 0:
            # Tried again while Redis still holds it: with a short resume lifetime an hour's
            # wait would let it expire unarchived.
            wait = min(wait, ttl / 2)
        log.error(
            "the archive refused conversation %s (%d times), parked for %.0f s: %s",
            cid,
            refusals,
            wait,
            error,
        )
        # Still due, only later (XX: one erased meanwhile is not brought back); a write to it
        # makes it due at once again, as any write does.
        await self.redis.zadd(self.keys.due, {cid: time.time() * 1000 + wait * 1000}, xx=True)

    async def keep_due_alive(self) -> int:
        """The database is down: restart the Redis lifetime of every due conversation that has
        little left (at most every KEEP_ALIVE_EVERY_SECONDS); returns how many."""
        now = time.monotonic()
        if self._swept_at is not None and now - self._swept_at < KEEP_ALIVE_EVERY_SECONDS:
            return 0
        self._swept_at = now
        kept, start = 0, 0
        while True:
            members = [
                as_text(m) for m in await self.redis.zrange(self.keys.due, start, start + BATCH - 1)
            ]
            if not members:
                return kept
            start += len(members)
            pipe = self.redis.pipeline(transaction=False)
            for cid in members:
                pipe.ttl(self.keys.conversation(cid))
            # -1: waiting for or held by a person, never expires; -2: already gone.
            for cid, ttl in zip(members, await pipe.execute(), strict=True):
                if 0 <= int(ttl) < KEEP_ALIVE_BELOW_SECONDS:
                    await self.keep_alive(cid)
                    kept += 1

    async def archive_batch(self, batch: list[tuple[str, float]]) -> int:
        """Copy a batch of conversations in one database transaction; returns how many."""
        pipe = self.redis.pipeline(transaction=False)
        for cid, _ in batch:
            pipe.hgetall(self.keys.conversation(cid))
        hashes = [
            {as_text(k): as_text(v) for k, v in cast("dict[Any, Any]", stored).items()}
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
                entry_record(cid, as_text(eid), {as_text(k): as_text(v) for k, v in item.items()})
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
            await self._forget_erased([cid for cid, _, _ in present])
        return len(present)

    async def _forget_erased(self, cids: list[str]) -> None:
        """Deletes the copies of conversations erased while this batch was being copied: their
        hashes were read before the erasure, their rows written after its own delete."""
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.exists(self.keys.erased(cid))
        erased = [cid for cid, mark in zip(cids, await pipe.execute(), strict=True) if mark]
        for cid in erased:
            await asyncio.to_thread(self.store.delete_conversation, cid)
        if erased:
            log.info("deleted %d archive copies of conversations erased meanwhile", len(erased))

    async def backlog(self, now_ms: int | None = None) -> tuple[int, float]:
        """(conversations due, seconds the oldest has waited): for the metrics page."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        count = await self.redis.zcard(self.keys.due)
        oldest = await self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        waited = max(0.0, (now_ms - float(oldest[0][1])) / 1000) if oldest else 0.0
        return int(count), waited

    async def parked(self, now_ms: int | None = None) -> int:
        """Conversations the database refused, waiting for their next try: for the metrics."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        return int(await self.redis.zcount(self.keys.due, f"({now_ms}", "+inf"))
