"""Everything held about one customer, exported as one document or erased everywhere: the
live conversations in Redis (hash, transcript, queues), Rasa's trackers of them, the archive,
tickets, the unanswered-question stream, emails and follow-ups, and the order numbers in the
order panel's audit. A customer is named by an email address or an order number; a conversation
is theirs when its facts say so (a verified order, the email of a left message) or when its
transcript mentions the email or order number.

The records kept beside a conversation outlive its copy in Redis (an email or a follow-up 30
days, a closed chat as little as a day), so they are matched against the customer's archived
conversations as well as the live ones: a customer who asks a week later loses them too. An
email also counts when it went to the customer's address; an order-panel lookup when it was of
their order or made in one of their conversations (its order number is blanked, the rest kept:
handoff/console/orders.py).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from handoff.archive.archiver import facts_from_hash
from handoff.archive.service import ARCHIVE_OFF
from handoff.archive.store import MAX_SEARCH_LIMIT, ArchiveStore, SearchCursor, Subject
from handoff.console.orders import blank_order_numbers, lookups_about
from handoff.conversations.entry import as_text
from handoff.conversations.keys import ERASED_KEPT, Keys
from handoff.conversations.store import is_conversation_id
from handoff.state import AppState
from vocabulary.rasa_keys import rasa_lock_key, rasa_tracker_key

SCAN_BATCH = 500


@dataclass
class Holdings:
    """What was found for one subject."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The archived conversations, whole (the live ones among them, once the archiver copied them).
    archived: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    unanswered: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # The conversations' emails (sent or waiting, with their delivery status) and follow-ups.
    emails: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    follow_ups: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # The order panel's lookups of the customer's order or in their conversations.
    order_lookups: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def conversation_ids(self) -> set[str]:
        """Every conversation of the subject's, live or only archived."""
        return set(self.live) | {c["id"] for c in self.archived}


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
            cid = as_text(raw).removeprefix(self.keys.conversation(""))
            if is_conversation_id(cid):
                found.append(cid)
        return found

    async def _records_of(
        self, pattern: str, belongs: Callable[[dict[str, str]], bool]
    ) -> list[tuple[str, dict[str, str]]]:
        """The records under `pattern` (emails, follow-ups: hashes) that `belongs` says are the
        subject's, as (id, fields). Other keys under the pattern (claims) are not records."""
        found: list[tuple[str, dict[str, str]]] = []
        async for raw in self.redis.scan_iter(match=pattern, _type="HASH"):
            key = as_text(raw)
            stored = cast("dict[Any, Any]", await self.redis.hgetall(key))
            fields = {as_text(k): as_text(v) for k, v in stored.items()}
            if belongs(fields):
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
            key = as_text(raw)
            if cids.intersection(key.removeprefix(prefix).split(":")):
                found.append(key)
        if found:
            await self.redis.delete(*found)

    async def _entries(self, key: str) -> list[tuple[str, dict[str, str]]]:
        raw = cast("list[tuple[Any, dict[Any, Any]]]", await self.redis.xrange(key) or [])
        return [(as_text(i), {as_text(k): as_text(v) for k, v in item.items()}) for i, item in raw]

    async def find(self, subject: Subject) -> Holdings:
        """Everything held about the subject, the archived conversations included."""
        held = Holdings(archived=await self._archived(subject))
        mentions = mention_pattern(subject).search
        for cid in await self._conversation_ids():
            stored = cast("dict[Any, Any]", await self.redis.hgetall(self.keys.conversation(cid)))
            fields = {as_text(k): as_text(v) for k, v in stored.items()}
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
        cids = held.conversation_ids()
        for entry_id, ticket in await self._entries(self.keys.tickets):
            if (
                ticket.get("conversation") in cids
                or (subject.kind == "email" and ticket.get("email", "").lower() == subject.value)
                or mentions(ticket.get("text", ""))
            ):
                held.tickets.append((entry_id, ticket))
        for entry_id, message in await self._entries(self.keys.faq_unanswered):
            # Masked when recorded: the conversation is what links most of them to the subject.
            if message.get("conversation") in cids or mentions(message.get("text", "")):
                held.unanswered.append((entry_id, message))
        address = subject.value if subject.kind == "email" else None
        held.emails = await self._records_of(
            self.keys.mail("*"),
            lambda m: m.get("conversation") in cids or m.get("to", "").strip().lower() == address,
        )
        mails = {mail_id for mail_id, _ in held.emails}
        held.follow_ups = await self._records_of(
            self.keys.follow_up("*"),
            lambda f: f.get("conversation") in cids or f.get("mail_id") in mails,
        )
        order = subject.value if subject.kind == "order_number" else None
        held.order_lookups = await lookups_about(self.redis, self.keys.order_lookups, order, cids)
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
        # Rasa keeps its tracker for its own lifetime (RASA_TRACKER_TTL_SECONDS), not the chat's.
        for cid in sorted(held.conversation_ids()):
            raw = await self.redis.get(rasa_tracker_key(self.keys.prefix, cid))
            if raw is not None:
                try:
                    trackers[cid] = json.loads(as_text(raw))
                except ValueError:
                    trackers[cid] = as_text(raw)
        return {
            "subject": {"kind": subject.kind, "value": subject.value},
            "exported_at": int(time.time() * 1000),
            "live_conversations": held.live,
            "assistant_trackers": trackers,
            "archived_conversations": held.archived,
            "tickets": [{"id": i, **t} for i, t in held.tickets],
            "unanswered_questions": [{"id": i, **m} for i, m in held.unanswered],
            "emails": [{"id": i, **m} for i, m in held.emails],
            "follow_ups": [{"id": i, **f} for i, f in held.follow_ups],
            "order_lookups": [{"id": i, **entry} for i, entry in held.order_lookups],
        }

    async def erase(self, subject: Subject, actor: str) -> dict[str, int]:
        """Delete everything held about the subject; returns how much of each kind went.
        Raises ArchiveUnavailable, before deleting anything, when the archive is configured
        but not open."""
        self._require_archive("erased", "nothing was erased")
        held = await self.find(subject)
        cids = held.conversation_ids()
        # First, the one step that may give up (lookups recorded all the while): then nothing
        # is erased, and the error says so.
        order = subject.value if subject.kind == "order_number" else None
        lookups = await blank_order_numbers(self.redis, self.keys.order_lookups, order, cids)
        # Marked before the deletes: an archiver that read one of these before the deletes
        # below, and writes its copy after the archive's own delete, deletes that copy again.
        marks = self.redis.pipeline(transaction=False)
        for cid in cids:
            marks.set(self.keys.archive_erased(cid), "1", ex=ERASED_KEPT)
        await marks.execute()
        trackers = 0
        # An archived conversation gone from Redis may have left keys that outlive its hash
        # (Rasa's tracker, the customer's socket marks): the same deletes reach them.
        for cid in sorted(cids):
            fields = held.live.get(cid, {}).get("fields", {})
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(rasa_tracker_key(self.keys.prefix, cid))  # first: results[0] counts it
            for key in (
                self.keys.conversation(cid),
                self.keys.log(cid),
                self.keys.seen(cid),
                self.keys.turn_lock(cid),
                rasa_lock_key(self.keys.prefix, cid),
                self.keys.customer_sockets(cid),
            ):
                pipe.delete(key)
            pipe.zrem(self.keys.pending, cid)
            pipe.zrem(self.keys.archive_due, cid)
            for team in {*self.teams, fields.get("team", "")} - {""}:
                pipe.zrem(self.keys.queue(team), cid)
            if fields.get("agent"):
                pipe.srem(self.keys.agent_chats(fields["agent"]), cid)
            results = await pipe.execute()
            trackers += int(results[0] or 0)
        await self._erase_counters(cids)
        mails = await self._erase_records(self.keys.mail("*"), self.keys.mail_due, held.emails)
        follow_ups = await self._erase_records(
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
            "follow_ups": follow_ups,
            "order_lookups": lookups,
            "archived_conversations": len(held.archived),
        }
        if self.archive is not None:
            archive = self.archive
            # The live conversations too: the archiver may have copied one since the archive
            # was read (it copies every change within seconds).
            for cid in cids:
                await asyncio.to_thread(archive.delete_conversation, cid)
            await asyncio.to_thread(archive.record_erasure, subject, actor, counts)
        return counts
