"""Reading and writing the archive (synchronous SQLAlchemy; the service calls it off the event
loop). Every write is idempotent: the archiver delivers at least once, so recording the same
entry or the same facts twice leaves the archive as recording them once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from handoff.archive.schema import conversations, entries, erasures

DAY_MS = 86_400_000
SEARCH_LIMIT = 50
# Ids per IN (...) list: far below SQLite's limit on a statement's parameters (32,766; 999 on
# builds older than 3.32), and short enough for PostgreSQL's planner.
IN_CHUNK = 500


@dataclass(frozen=True)
class ConversationFacts:
    """What is known about a conversation at one moment; None means "not said here" (an
    update never blanks a field another update set)."""

    id: str
    at: int
    # When the conversation began, if known: a conversation first archived late (the database
    # was down) still starts on its own day, not on the day of its first copy.
    started_at: int | None = None
    state: str | None = None
    closed_at: int | None = None
    handoff_reason: str | None = None
    team: str | None = None
    agent: str | None = None
    tags: Sequence[str] | None = None
    notes: str | None = None
    rating: int | None = None
    rating_comment: str | None = None
    packet: dict[str, Any] | None = None
    customer_email: str | None = None
    order_number: str | None = None


@dataclass(frozen=True)
class EntryRecord:
    conversation_id: str
    entry_id: str
    at: int
    sender: str
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """Whose data: a customer's email address or an order number, normalised."""

    kind: str  # "email" or "order_number"
    value: str

    @classmethod
    def of(cls, email: str | None = None, order_number: str | None = None) -> Subject:
        if bool(email) == bool(order_number):
            raise ValueError("give exactly one of an email address or an order number")
        if email:
            cleaned = email.strip().lower()
            if "@" not in cleaned or len(cleaned) > 254:
                raise ValueError(f"not an email address: {email!r}")
            return cls("email", cleaned)
        return cls("order_number", normalise_order_number(str(order_number)))


def normalise_order_number(raw: str) -> str:
    """ "hg-10042", "HG10042" and "10042" are the same order: HG-10042."""
    digits = "".join(c for c in raw if c.isdigit())
    if not digits:
        raise ValueError(f"not an order number: {raw!r}")
    return f"HG-{digits}"


# The conversation columns stored as they are (tags and the packet are JSON; see below).
PLAIN_COLUMNS = (
    "state",
    "closed_at",
    "handoff_reason",
    "team",
    "agent",
    "notes",
    "rating",
    "rating_comment",
    "customer_email",
    "order_number",
)


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for at in range(0, len(ids), IN_CHUNK):
        yield list(ids[at : at + IN_CHUNK])


def _column_values(facts: ConversationFacts) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in PLAIN_COLUMNS:
        value = getattr(facts, name)
        if value is not None:
            values[name] = value
    if facts.tags is not None:
        values["tags"] = json.dumps(sorted(set(facts.tags)))
    if facts.packet is not None:
        values["packet"] = json.dumps(facts.packet, sort_keys=True)
    if facts.customer_email is not None:
        values["customer_email"] = facts.customer_email.strip().lower()
    if facts.order_number is not None:
        values["order_number"] = normalise_order_number(facts.order_number)
    return values


class ArchiveStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing -------------------------------------------------------------------------------

    def record(
        self, facts: Iterable[ConversationFacts] = (), records: Iterable[EntryRecord] = ()
    ) -> None:
        """Store facts and transcript entries in one transaction (all or nothing).

        Set-based: a batch of conversations costs a handful of statements (one read of which
        rows exist, one insert and one update of each kind, executed for many rows), not a few
        per conversation and entry. Under a relay load the archiver copies hundreds of
        conversations a second, and building a statement per row was a quarter of the
        service's CPU (bench/results/2026-12-06-serving-profile.md)."""
        facts, records = list(facts), list(records)
        spans: dict[str, tuple[int, int]] = {}  # conversation -> (earliest, latest) time seen
        for cid, first, last in [(f.id, f.started_at or f.at, f.at) for f in facts] + [
            (r.conversation_id, r.at, r.at) for r in records
        ]:
            seen = spans.get(cid)
            spans[cid] = (min(seen[0], first), max(seen[1], last)) if seen else (first, last)
        with self.engine.begin() as db:
            self._ensure_conversations(db, spans)
            self._update_facts(db, facts)
            self._insert_entries(db, records)

    def _ensure_conversations(self, db: Connection, spans: dict[str, tuple[int, int]]) -> None:
        """Every conversation exists, with its last activity at least the latest time seen."""
        existing: set[str] = set()
        ids = sorted(spans)
        for chunk in _chunks(ids):
            existing.update(
                db.scalars(select(conversations.c.id).where(conversations.c.id.in_(chunk)))
            )
        fresh = [cid for cid in ids if cid not in existing]
        if fresh:
            db.execute(
                insert(conversations),
                [
                    {
                        "id": cid,
                        "started_at": spans[cid][0],
                        "last_activity_at": spans[cid][1],
                        "state": "bot",
                        "tags": "[]",
                        "notes": "",
                    }
                    for cid in fresh
                ],
            )
        known = [cid for cid in ids if cid in existing]
        if known:
            db.execute(
                update(conversations)
                .where(conversations.c.id == bindparam("b_id"))
                .where(conversations.c.last_activity_at < bindparam("b_at"))
                .values(last_activity_at=bindparam("b_at")),
                [{"b_id": cid, "b_at": spans[cid][1]} for cid in known],
            )

    def _update_facts(self, db: Connection, facts: list[ConversationFacts]) -> None:
        """The columns each facts value says, one many-row update per set of columns said."""
        # What each conversation's facts say, later facts overriding earlier ones column by
        # column, as if each had been applied in turn.
        merged: dict[str, dict[str, Any]] = {}
        for item in facts:
            merged.setdefault(item.id, {}).update(_column_values(item))
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for cid, values in merged.items():
            if values:
                row = {f"b_{name}": value for name, value in values.items()}
                by_columns.setdefault(tuple(sorted(values)), []).append({"b_id": cid, **row})
        for names, rows in by_columns.items():
            db.execute(
                update(conversations)
                .where(conversations.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names}),
                rows,
            )

    def _insert_entries(self, db: Connection, records: list[EntryRecord]) -> None:
        """Entries not stored yet (the same entry delivered twice is stored once)."""
        wanted = {(r.conversation_id, r.entry_id): r for r in records}
        if not wanted:
            return
        stored: set[tuple[str, str]] = set()
        keys = sorted(wanted)
        for at in range(0, len(keys), IN_CHUNK):
            # Both lists bounded by the chunk; the pairs read back are matched exactly below.
            chunk = keys[at : at + IN_CHUNK]
            rows = db.execute(
                select(entries.c.conversation_id, entries.c.entry_id).where(
                    entries.c.conversation_id.in_(sorted({cid for cid, _ in chunk})),
                    entries.c.entry_id.in_(sorted({eid for _, eid in chunk})),
                )
            )
            stored.update((row.conversation_id, row.entry_id) for row in rows)
        fresh = [r for key, r in wanted.items() if key not in stored]
        if fresh:
            db.execute(
                insert(entries),
                [
                    {
                        "conversation_id": r.conversation_id,
                        "entry_id": r.entry_id,
                        "at": r.at,
                        "sender": r.sender,
                        "kind": r.kind,
                        "text": r.text,
                        "data": json.dumps(r.data, sort_keys=True) if r.data else None,
                    }
                    for r in fresh
                ],
            )

    # -- reading -------------------------------------------------------------------------------

    def search(
        self,
        *,
        text: str | None = None,
        order_number: str | None = None,
        email: str | None = None,
        tag: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = SEARCH_LIMIT,
    ) -> list[dict[str, Any]]:
        """Past conversations, newest activity first, matching every filter given."""
        query = select(conversations)
        if order_number:
            query = query.where(
                conversations.c.order_number == normalise_order_number(order_number)
            )
        if email:
            query = query.where(conversations.c.customer_email == email.strip().lower())
        if tag:
            # Tags are stored as a sorted JSON list of strings: an exact element match.
            query = query.where(conversations.c.tags.contains(json.dumps(tag.strip())))
        if since_ms is not None:
            query = query.where(conversations.c.last_activity_at >= since_ms)
        if until_ms is not None:
            query = query.where(conversations.c.last_activity_at < until_ms)
        if text:
            pattern = f"%{_escape_like(text.strip())}%"
            matching = select(entries.c.conversation_id).where(
                entries.c.text.ilike(pattern, escape="\\")
            )
            query = query.where(
                or_(
                    conversations.c.id.in_(matching),
                    conversations.c.notes.ilike(pattern, escape="\\"),
                )
            )
        query = query.order_by(conversations.c.last_activity_at.desc()).limit(
            max(1, min(limit, 200))
        )
        with self.engine.connect() as db:
            return [_summary(row._mapping) for row in db.execute(query)]

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        """One archived conversation with its whole transcript, oldest entry first."""
        with self.engine.connect() as db:
            row = db.execute(
                select(conversations).where(conversations.c.id == conversation_id)
            ).first()
            if row is None:
                return None
            transcript = [
                _entry(e._mapping)
                for e in db.execute(
                    select(entries)
                    .where(entries.c.conversation_id == conversation_id)
                    .order_by(entries.c.at, entries.c.entry_id)
                )
            ]
        return {**_summary(row._mapping), "transcript": transcript}

    def daily(self, days: int, now_ms: int | None = None) -> list[dict[str, Any]]:
        """Per UTC day of the last `days`: conversations started, and those handed to a person."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        first_day = now_ms // DAY_MS - days + 1
        day = (conversations.c.started_at // DAY_MS).label("day")
        query = (
            select(
                day,
                func.count().label("conversations"),
                # COUNT of a column counts its non-null values: the conversations handed off.
                func.count(conversations.c.handoff_reason).label("handoffs"),
            )
            .where(conversations.c.started_at >= first_day * DAY_MS)
            .group_by(day)
        )
        with self.engine.connect() as db:
            counted = {
                int(r.day): (int(r.conversations), int(r.handoffs)) for r in db.execute(query)
            }
        return [
            {
                "day": time.strftime("%Y-%m-%d", time.gmtime(d * DAY_MS / 1000)),
                "conversations": counted.get(d, (0, 0))[0],
                "handoffs": counted.get(d, (0, 0))[1],
            }
            for d in range(first_day, first_day + days)
        ]

    # -- privacy -------------------------------------------------------------------------------

    def subject_conversations(self, subject: Subject) -> list[str]:
        column = (
            conversations.c.customer_email
            if subject.kind == "email"
            else conversations.c.order_number
        )
        with self.engine.connect() as db:
            return list(db.scalars(select(conversations.c.id).where(column == subject.value)))

    def export(self, subject: Subject) -> list[dict[str, Any]]:
        """Every archived conversation of the subject, whole."""
        found = [self.conversation(cid) for cid in self.subject_conversations(subject)]
        return [c for c in found if c is not None]

    def delete_conversation(self, conversation_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(entries).where(entries.c.conversation_id == conversation_id))
            db.execute(delete(conversations).where(conversations.c.id == conversation_id))

    def erase(self, subject: Subject, actor: str) -> int:
        """Delete the subject's own conversations (their entries go with them) and record the
        erasure; handoff/archive/privacy.py erases everywhere else too."""
        ids = self.subject_conversations(subject)
        for conversation_id in ids:
            self.delete_conversation(conversation_id)
        self.record_erasure(subject, actor, {"archived_conversations": len(ids)})
        return len(ids)

    def record_erasure(self, subject: Subject, actor: str, counts: dict[str, int]) -> None:
        """Who erased, when, what kind of subject and how much: never the subject itself."""
        with self.engine.begin() as db:
            db.execute(
                insert(erasures).values(
                    at=int(time.time() * 1000),
                    actor=actor,
                    subject_kind=subject.kind,
                    conversations=counts.get("archived_conversations", 0)
                    + counts.get("live_conversations", 0),
                    details=json.dumps(counts, sort_keys=True),
                )
            )

    def erasure_log(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(erasures).order_by(erasures.c.id))
            return [{**dict(r._mapping), "details": json.loads(r.details or "{}")} for r in rows]

    def purge(self, older_than_days: float, now_ms: int | None = None) -> int:
        """Delete conversations with no activity for `older_than_days` (the retention policy)."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        cutoff = now_ms - int(older_than_days * DAY_MS)
        with self.engine.begin() as db:
            old = select(conversations.c.id).where(conversations.c.last_activity_at < cutoff)
            db.execute(delete(entries).where(entries.c.conversation_id.in_(old)))
            result = db.execute(
                delete(conversations).where(conversations.c.last_activity_at < cutoff)
            )
            return int(result.rowcount or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _summary(row: Any) -> dict[str, Any]:
    summary = {name: row[name] for name in ("id", "started_at", "last_activity_at", *PLAIN_COLUMNS)}
    summary["tags"] = json.loads(row["tags"] or "[]")
    summary["packet"] = json.loads(row["packet"]) if row["packet"] else None
    return summary


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row["entry_id"],
        "at": row["at"],
        "from": row["sender"],
        "kind": row["kind"],
        "text": row["text"],
        "data": json.loads(row["data"]) if row["data"] else {},
    }
