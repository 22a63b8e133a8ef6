"""Everything held about one customer, exported as one document or erased everywhere: the
live conversations in Redis (hash, transcript, queues), Rasa's trackers of them, the archive,
tickets and the unanswered-question stream. A customer is named by an email address or an
order number; a conversation is theirs when its facts say so (a verified order, the email of a
left message) or when its transcript mentions the email or order number.

An order number is matched however it is written ("HG-10042", "hg10042", "hg 10042", a bare
"10042", never inside a longer number or code), an email address only whole.

An erasure is recorded (who, when, what kind of subject, how much was erased) without the
email or order number itself. With the archive configured but not open (its database was down
when the service started), an erasure refuses to start (ArchiveUnavailable): it would leave the
archived conversations behind and say it had erased everything. The service's logs never hold
message text (docs/security.md), so there is nothing to erase there.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from handoff.archive.archiver import facts_from_hash
from handoff.archive.service import ARCHIVE_OFF
from handoff.archive.store import MAX_SEARCH_LIMIT, ArchiveStore, SearchCursor, Subject
from handoff.conversations.keys import ERASED_KEPT, Keys
from handoff.conversations.store import is_conversation_id
from handoff.state import AppState
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


class ArchiveUnavailable(Exception):
    """The archive is configured but its database is not open: an erasure now would leave the
    customer's archived conversations behind, an export would leave them out."""


def mention_pattern(subject: Subject) -> re.Pattern[str]:
    """What a text mentioning the subject contains. An email address counts whole ("am@x.com"
    is not in "sam@x.com" nor "am@x.com.au"); an order number in any of the ways the assistant
    reads one (actions/parsing.py): HG-10042, hg10042, hg 10042, HG_10042 or a bare 10042, but
    not the digits inside a longer number or code ("210042", "UP10042")."""
    if subject.kind == "email":
        return re.compile(
            rf"(?<![\w.%+'-]){re.escape(subject.value)}(?![\w-]|\.[\w-])", re.IGNORECASE
        )
    digits = re.escape(subject.value.removeprefix("HG-"))
    return re.compile(rf"(?<![\w-])(?:hg[\s_-]*)?{digits}(?!\w)", re.IGNORECASE)


def _needle(subject: Subject) -> str:
    """The text every archived mention of the subject contains (the archive's search is a
    substring match): the email, or the order's digits, which every way of writing it has."""
    return subject.value if subject.kind == "email" else subject.value.removeprefix("HG-")


class Privacy:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        archive: ArchiveStore | None,
        teams: tuple[str, ...],
        *,
        archive_configured: bool | None = None,
    ) -> None:
        """`archive` None means there is no archive, unless `archive_configured` says there is
        one that is not open (then an erasure raises ArchiveUnavailable)."""
        self.redis = redis
        self.keys = keys
        self.archive = archive
        self.teams = teams
        self.archive_configured = (
            archive is not None if archive_configured is None else (archive_configured)
        )

    @classmethod
    def of_service(cls, state: AppState) -> Privacy:
        """The running service's: its archive, open or not yet."""
        return cls(
            state.redis,
            state.keys,
            state.archive,
            state.settings.teams,
            archive_configured=state.settings.archive_database_url != ARCHIVE_OFF,
        )

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

    async def _erase_counters(self, cids: set[str]) -> None:
        """Rate-limit counters named after the conversations (they expire within minutes, but
        nothing named after an erased conversation should outlive the erasure): one pass over
        the counters for the whole erasure. Their names hold the counter, the conversation and
        the window ({p}:ratelimit:{what}:{cid}:{window}); which counters and windows exist is
        the rate limiter's business (handoff/web/limits.py), so they are found, not spelled."""
        if not cids:
            return
        prefix = self.keys.ratelimit("", "").removesuffix(":")
        found = []
        async for raw in self.redis.scan_iter(match=prefix + "*", count=SCAN_BATCH):
            key = _text(raw)
            if cids.intersection(key.removeprefix(prefix).split(":")):
                found.append(key)
        if found:
            await self.redis.delete(*found)

    async def _entries(self, key: str) -> list[tuple[str, dict[str, str]]]:
        raw = cast("list[tuple[Any, dict[Any, Any]]]", await self.redis.xrange(key) or [])
        return [(_text(i), {_text(k): _text(v) for k, v in item.items()}) for i, item in raw]

    async def find(self, subject: Subject) -> Holdings:
        held = Holdings()
        mentions = mention_pattern(subject).search
        for cid in await self._conversation_ids():
            stored = cast("dict[Any, Any]", await self.redis.hgetall(self.keys.conversation(cid)))
            fields = {_text(k): _text(v) for k, v in stored.items()}
            if not fields:
                continue
            facts = facts_from_hash(cid, fields)  # its order number normalised, as the subject's
            own = (
                subject.kind == "email"
                and (facts.customer_email or "").strip().lower() == subject.value
            ) or (subject.kind == "order_number" and facts.order_number == subject.value)
            transcript = await self._entries(self.keys.log(cid))
            if own or any(mentions(e.get("text", "")) for _, e in transcript):
                held.live[cid] = {"fields": fields, "transcript": transcript}
        for entry_id, ticket in await self._entries(self.keys.tickets):
            if (
                ticket.get("conversation") in held.live
                or (subject.kind == "email" and ticket.get("email", "").lower() == subject.value)
                or mentions(ticket.get("text", ""))
            ):
                held.tickets.append((entry_id, ticket))
        for entry_id, message in await self._entries(self.keys.faq_unanswered):
            if message.get("conversation") in held.live or mentions(message.get("text", "")):
                held.unanswered.append((entry_id, message))
        held.emails = await self._records_of(self.keys.mail("*"), set(held.live))
        held.follow_ups = await self._records_of(self.keys.follow_up("*"), set(held.live))
        return held

    def _require_archive(self, done: str, outcome: str) -> None:
        if self.archive is None and self.archive_configured:
            raise ArchiveUnavailable(
                "The conversation archive is not available (its database is down), so the"
                f" customer's archived conversations cannot be {done}; {outcome}."
                " Try again when it is back."
            )

    async def _archived(self, subject: Subject) -> list[dict[str, Any]]:
        """The subject's archived conversations, whole: their own (by email or order number)
        and every one whose transcript or notes mention them, page after page to the last."""
        if self.archive is None:
            return []
        archive = self.archive
        own = await asyncio.to_thread(archive.export, subject)
        ids = {c["id"] for c in own}
        mentions = mention_pattern(subject).search
        cursor: SearchCursor | None = None
        while True:
            # The search finds every way of writing the subject and more (the order's digits
            # inside a longer number): each candidate is read whole and checked.
            page = await asyncio.to_thread(
                archive.search_page, text=_needle(subject), before=cursor, limit=MAX_SEARCH_LIMIT
            )
            for summary in page.conversations:
                if summary["id"] in ids:
                    continue
                whole = await asyncio.to_thread(archive.conversation, summary["id"])
                if whole is not None and (
                    mentions(whole.get("notes") or "")
                    or any(mentions(e["text"] or "") for e in whole["transcript"])
                ):
                    own.append(whole)
                    ids.add(summary["id"])
            if page.next is None:
                return own
            cursor = page.next

    async def export(self, subject: Subject) -> dict[str, Any]:
        """One JSON-ready document of everything held about the subject. Raises
        ArchiveUnavailable when the archive is configured but not open: a document without the
        archived conversations would not be everything."""
        self._require_archive("exported", "nothing was exported")
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
        """Delete everything held about the subject; returns how much of each kind went.
        Raises ArchiveUnavailable, before deleting anything, when the archive is configured
        but not open."""
        self._require_archive("erased", "nothing was erased")
        held = await self.find(subject)
        archived = await self._archived(subject)
        # Marked first: an archiver that read one of these before the deletes below, and
        # writes its copy after the archive's own delete, deletes that copy again.
        marks = self.redis.pipeline(transaction=False)
        for cid in {c["id"] for c in archived} | set(held.live):
            marks.set(self.keys.archive_erased(cid), "1", ex=ERASED_KEPT)
        await marks.execute()
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
        await self._erase_counters(set(held.live))
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
            # The live conversations too: the archiver may have copied one since `archived`
            # was read (it copies every change within seconds).
            for cid in {c["id"] for c in archived} | set(held.live):
                await asyncio.to_thread(archive.delete_conversation, cid)
            await asyncio.to_thread(archive.record_erasure, subject, actor, counts)
        return counts
