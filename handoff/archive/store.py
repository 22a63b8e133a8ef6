"""Reading and writing the archive (synchronous SQLAlchemy; the service calls it off the event
loop). What the archiver writes and how a batch is stored are in handoff/archive/writing.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.engine import Engine

from handoff.archive.schema import conversations, entries, erasures
from handoff.archive.writing import (
    PLAIN_COLUMNS,
    ConversationFacts,
    EntryRecord,
    normalise_order_number,
    write_batch,
)

DAY_MS = 86_400_000
SEARCH_LIMIT = 50


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


class ArchiveStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing -------------------------------------------------------------------------------

    def record(
        self, facts: Iterable[ConversationFacts] = (), records: Iterable[EntryRecord] = ()
    ) -> None:
        """Store facts and transcript entries in one transaction (all or nothing)."""
        with self.engine.begin() as db:
            write_batch(db, facts, records)

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
