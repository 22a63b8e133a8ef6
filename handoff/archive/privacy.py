"""Everything held about one customer, exported as one document or erased everywhere: the
live conversations in Redis (hash, transcript, queues), Rasa's trackers of them, the archive,
tickets and the unanswered-question stream. A customer is named by an email address or an
order number; a conversation is theirs when its facts say so (a verified order, the email of a
left message) or when its transcript mentions the email or order number.

An erasure is recorded (who, when, what kind of subject, how much was erased) without the
email or order number itself. The service's logs never hold message text (docs/security.md),
so there is nothing to erase there.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from handoff.archive.archiver import facts_from_hash
from handoff.archive.store import ArchiveStore, Subject
from handoff.conversations.keys import Keys
from handoff.conversations.store import is_conversation_id
from vocabulary.rasa_keys import rasa_lock_key, rasa_tracker_key

SCAN_BATCH = 500


@dataclass
class Holdings:
    """What was found for one subject."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    unanswered: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # The conversations' emails (sent or waiting, with their delivery status) and follow-ups.
    emails: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    follow_ups: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _mentions(subject: Subject, text: str) -> bool:
    if subject.kind == "email":
        return subject.value in text.lower()
    digits = subject.value.removeprefix("HG-")
    return subject.value.lower() in text.lower() or f"hg{digits}" in text.lower().replace(" ", "")


class Privacy:
    def __init__(
        self, redis: Redis, keys: Keys, archive: ArchiveStore | None, teams: tuple[str, ...]
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.archive = archive
        self.teams = teams

    async def _conversation_ids(self) -> list[str]:
        found: list[str] = []
        pattern = self.keys.conversation("*")
        async for raw in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
            cid = _text(raw).removeprefix(self.keys.conversation(""))
            if is_conversation_id(cid):
                found.append(cid)
        return found

    async def _records_of(self, pattern: str, cids: set[str]) -> list[tuple[str, dict[str, str]]]:
        """The records under `pattern` (emails, follow-ups: hashes with a `conversation` field)
        that belong to one of the conversations, as (id, fields). Other keys under the pattern
        (claims) are not records."""
        found: list[tuple[str, dict[str, str]]] = []
        if not cids:
            return found
        async for raw in self.redis.scan_iter(match=pattern, _type="HASH"):
            key = _text(raw)
            stored = cast("dict[Any, Any]", await self.redis.hgetall(key))
            fields = {_text(k): _text(v) for k, v in stored.items()}
            if fields.get("conversation") in cids:
                found.append((key.removeprefix(pattern.removesuffix("*")), fields))
        return found

    async def _erase_records(
        self, pattern: str, due: str, records: list[tuple[str, dict[str, str]]]
    ) -> int:
        """Delete the records and their places in the `due` schedule; how many went."""
        for record_id, _ in records:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(pattern.removesuffix("*") + record_id)
                pipe.zrem(due, record_id)
                await pipe.execute()
        return len(records)

    async def _entries(self, key: str) -> list[tuple[str, dict[str, str]]]:
        raw = cast("list[tuple[Any, dict[Any, Any]]]", await self.redis.xrange(key) or [])
        return [(_text(i), {_text(k): _text(v) for k, v in item.items()}) for i, item in raw]

    async def find(self, subject: Subject) -> Holdings:
        held = Holdings()
        for cid in await self._conversation_ids():
            stored = cast("dict[Any, Any]", await self.redis.hgetall(self.keys.conversation(cid)))
            fields = {_text(k): _text(v) for k, v in stored.items()}
            if not fields:
                continue
            facts = facts_from_hash(cid, fields)
            own = (subject.kind == "email" and facts.customer_email == subject.value) or (
                subject.kind == "order_number"
                and facts.order_number is not None
                and facts.order_number.upper().endswith(subject.value.removeprefix("HG-"))
            )
            transcript = await self._entries(self.keys.log(cid))
            if own or any(_mentions(subject, e.get("text", "")) for _, e in transcript):
                held.live[cid] = {"fields": fields, "transcript": transcript}
        for entry_id, ticket in await self._entries(self.keys.tickets):
            if (
                ticket.get("conversation") in held.live
                or (subject.kind == "email" and ticket.get("email", "").lower() == subject.value)
                or _mentions(subject, ticket.get("text", ""))
            ):
                held.tickets.append((entry_id, ticket))
        for entry_id, message in await self._entries(self.keys.faq_unanswered):
            if message.get("conversation") in held.live or _mentions(
                subject, message.get("text", "")
            ):
                held.unanswered.append((entry_id, message))
        held.emails = await self._records_of(self.keys.mail("*"), set(held.live))
        held.follow_ups = await self._records_of(self.keys.follow_up("*"), set(held.live))
        return held

    async def _archived(self, subject: Subject) -> list[dict[str, Any]]:
        if self.archive is None:
            return []
        archive = self.archive
        own = await asyncio.to_thread(archive.export, subject)
        mentioned = await asyncio.to_thread(archive.search, text=subject.value, limit=200)
        ids = {c["id"] for c in own}
        for summary in mentioned:
            if summary["id"] not in ids:
                whole = await asyncio.to_thread(archive.conversation, summary["id"])
                if whole is not None:
                    own.append(whole)
                    ids.add(summary["id"])
        return own

    async def export(self, subject: Subject) -> dict[str, Any]:
        """One JSON-ready document of everything held about the subject."""
        held = await self.find(subject)
        trackers = {}
        for cid in held.live:
            raw = await self.redis.get(rasa_tracker_key(self.keys.prefix, cid))
            if raw is not None:
                try:
                    trackers[cid] = json.loads(_text(raw))
                except ValueError:
                    trackers[cid] = _text(raw)
        return {
            "subject": {"kind": subject.kind, "value": subject.value},
            "exported_at": int(time.time() * 1000),
            "live_conversations": held.live,
            "assistant_trackers": trackers,
            "archived_conversations": await self._archived(subject),
            "tickets": [{"id": i, **t} for i, t in held.tickets],
            "unanswered_questions": [{"id": i, **m} for i, m in held.unanswered],
            "emails": [{"id": i, **m} for i, m in held.emails],
            "follow_ups": [{"id": i, **f} for i, f in held.follow_ups],
        }

    async def erase(self, subject: Subject, actor: str) -> dict[str, int]:
        """Delete everything held about the subject; returns how much of each kind went."""
        held = await self.find(subject)
        archived = await self._archived(subject)
        trackers = 0
        for cid, found in held.live.items():
            fields = found["fields"]
            pipe = self.redis.pipeline(transaction=True)
            for key in (
                self.keys.conversation(cid),
                self.keys.log(cid),
                self.keys.seen(cid),
                self.keys.turn_lock(cid),
                rasa_lock_key(self.keys.prefix, cid),
                self.keys.customer_sockets(cid),
            ):
                pipe.delete(key)
            pipe.delete(rasa_tracker_key(self.keys.prefix, cid))
            pipe.zrem(self.keys.pending, cid)
            pipe.zrem(self.keys.archive_due, cid)
            for team in {*self.teams, fields.get("team", "")} - {""}:
                pipe.zrem(self.keys.queue(team), cid)
            if fields.get("agent"):
                pipe.srem(self.keys.agent_chats(fields["agent"]), cid)
            results = await pipe.execute()
            trackers += int(results[5] or 0)
            # Rate-limit counters named after the conversation (they expire within minutes,
            # but nothing named after an erased conversation should outlive the erasure).
            async for key in self.redis.scan_iter(match=self.keys.ratelimit("*", f"{cid}*")):
                await self.redis.delete(key)
        mails = await self._erase_records(self.keys.mail("*"), self.keys.mail_due, held.emails)
        await self._erase_records(
            self.keys.follow_up("*"), self.keys.follow_ups_due, held.follow_ups
        )
        if held.tickets:
            await self.redis.xdel(self.keys.tickets, *[i for i, _ in held.tickets])
        if held.unanswered:
            await self.redis.xdel(self.keys.faq_unanswered, *[i for i, _ in held.unanswered])
        counts = {
            "live_conversations": len(held.live),
            "assistant_trackers": trackers,
            "tickets": len(held.tickets),
            "unanswered_questions": len(held.unanswered),
            "emails": mails,
            "archived_conversations": len(archived),
        }
        if self.archive is not None:
            archive = self.archive
            for conversation in archived:
                await asyncio.to_thread(archive.delete_conversation, conversation["id"])
            await asyncio.to_thread(archive.record_erasure, subject, actor, counts)
        return counts
