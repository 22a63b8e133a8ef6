"""Reading and writing the archive (synchronous SQLAlchemy; the service calls it off the event
loop). What the archiver writes and how a batch is stored are in handoff/archive/writing.py; the
dashboard's figures over long periods in handoff/archive/dashboard.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, insert, or_, select
from sqlalchemy.engine import Engine

from handoff.archive.schema import DAY_MS, conversations, entries, erasures
from handoff.archive.writing import (
    PLAIN_COLUMNS,
    ConversationFacts,
    EntryRecord,
    normalise_order_number,
    write_batch,
)
from handoff.conversations.store import is_conversation_id

# A page of search results, and the most one search may ask for (a page is read whole).
SEARCH_LIMIT = 50
MAX_SEARCH_LIMIT = 200
# A cursor is ~70 characters; anything much longer is not one of ours.
CURSOR_MAX_CHARS = 120
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_CURSOR_TIME = re.compile(r"[0-9]{1,16}")


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


@dataclass(frozen=True)
class SearchCursor:
    """Where a page of search results ended: its last row's activity time and id.

    Results are ordered by (last_activity_at, id), newest first, and the next page is the rows
    strictly after this pair in that order: rows sharing one activity time are told apart by
    their id, so paging neither skips nor repeats one. To a client the cursor is an opaque
    string (URL-safe base64 of "<ms>.<id>"); `decode` refuses anything it did not make.
    """

    last_activity_at: int
    id: str

    def encode(self) -> str:
        raw = f"{self.last_activity_at}.{self.id}".encode("ascii")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> SearchCursor:
        """The cursor `encode` made, or ValueError."""
        if len(text) > CURSOR_MAX_CHARS or not _CURSOR_CHARS.fullmatch(text):
            raise ValueError("not a search cursor")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("not a search cursor") from None
        at, _, cid = raw.partition(".")
        if not _CURSOR_TIME.fullmatch(at) or not is_conversation_id(cid):
            raise ValueError("not a search cursor")
        return cls(int(at), cid)


@dataclass(frozen=True)
class SearchPage:
    """One page of search results; `next` is where the following page starts, None on the last."""

    conversations: list[dict[str, Any]]
    next: SearchCursor | None


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
        before: SearchCursor | None = None,
        limit: int = SEARCH_LIMIT,
    ) -> list[dict[str, Any]]:
        """Past conversations, newest activity first, matching every filter given: the first
        `limit` (at most MAX_SEARCH_LIMIT) of them, or those after `before` (search_page)."""
        return self.search_page(
            text=text,
            order_number=order_number,
            email=email,
            tag=tag,
            since_ms=since_ms,
            until_ms=until_ms,
            before=before,
            limit=limit,
        ).conversations

    def search_page(
        self,
        *,
        text: str | None = None,
        order_number: str | None = None,
        email: str | None = None,
        tag: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        before: SearchCursor | None = None,
        limit: int = SEARCH_LIMIT,
    ) -> SearchPage:
        """One page of the search: `limit` conversations (1..MAX_SEARCH_LIMIT) ordered by
        last activity then id, newest first, starting after `before` when given; `next` says
        where the following page starts when there is one."""
        query = _matching(text, order_number, email, tag, since_ms, until_ms)
        if before is not None:
            at, cid = conversations.c.last_activity_at, conversations.c.id
            query = query.where(
                or_(
                    at < before.last_activity_at,
                    and_(at == before.last_activity_at, cid < before.id),
                )
            )
        size = max(1, min(limit, MAX_SEARCH_LIMIT))
        # One row more than the page says whether another page follows.
        query = query.order_by(
            conversations.c.last_activity_at.desc(), conversations.c.id.desc()
        ).limit(size + 1)
        with self.engine.connect() as db:
            rows = [_summary(row._mapping) for row in db.execute(query)]
        page = rows[:size]
        more = len(rows) > size
        last = page[-1] if page else None
        following = SearchCursor(last["last_activity_at"], last["id"]) if more and last else None
        return SearchPage(page, following)

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


def _matching(
    text: str | None,
    order_number: str | None,
    email: str | None,
    tag: str | None,
    since_ms: int | None,
    until_ms: int | None,
) -> Select[Any]:
    """The conversations matching every filter given, unordered."""
    query = select(conversations)
    if order_number:
        query = query.where(conversations.c.order_number == normalise_order_number(order_number))
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
    return query


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
