"""Reading and writing the archive (synchronous SQLAlchemy; the service calls it off the event
loop). What the archiver writes and how a batch is stored are in handoff/archive/writing.py.
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

from sqlalchemy import Select, and_, case, delete, func, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import literal, null, union_all

from handoff.archive.schema import conversations, entries, erasures
from handoff.archive.writing import (
    PLAIN_COLUMNS,
    ConversationFacts,
    EntryRecord,
    normalise_order_number,
    write_batch,
)
from handoff.conversations.store import is_conversation_id

DAY_MS = 86_400_000
# A page of search results, and the most one search may ask for (a page is read whole).
SEARCH_LIMIT = 50
MAX_SEARCH_LIMIT = 200
# A cursor is ~70 characters; anything much longer is not one of ours.
CURSOR_MAX_CHARS = 120
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_CURSOR_TIME = re.compile(r"[0-9]{1,16}")
# What `ArchiveStore.daily` counts per day, besides the day itself.
DAILY_COUNTS = ("conversations", "handoffs", "person_needed", "rated", "rating_sum", "satisfied")
# How an archived entry's data says a message was left for a person, and that the customer
# answered a follow-up email (json.dumps as write_batch).
TICKET_CREATED = json.dumps({"event": "ticket_created"})[1:-1]
FOLLOW_UP_RATED = json.dumps({"event": "follow_up_rated"})[1:-1]


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

    def daily(
        self, days: int, *, satisfied_from: int, now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Per UTC day of the last `days`, oldest first, as the live counters count them:

        - over the conversations that started that day (each once, on its start day):
          `conversations`; `handoffs`, those that entered the queue (they have a reason);
          `person_needed`, those that entered the queue or left a message for a person (a
          ticket's `ticket_created` event in the transcript): the live containment's measure;
        - `rated`, the ratings 1..5 given that day; `rating_sum`, their sum; `satisfied`, those
          of `satisfied_from` or more (the live CSAT's measure). A chat's widget rating counts
          on its start day, a follow-up email's answer at its latest score on the day of its
          first (a chat rated both ways counts twice, as it does live).
        """
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        first_day = now_ms // DAY_MS - days + 1
        since = first_day * DAY_MS
        handed_over = conversations.c.handoff_reason.is_not(None)
        # A message left for a person is a `ticket_created` event (handoff/queue/tickets.py).
        # The entry comes after the conversation's start, so its time bounds the lookup
        # (ix_entries_at).
        left_message = _events(TICKET_CREATED).where(entries.c.at >= since).exists()
        started = select(
            (conversations.c.started_at // DAY_MS).label("day"),
            literal(1).label("started"),
            case((handed_over, 1)).label("handoff"),
            case((handed_over | left_message, 1)).label("person_needed"),
            conversations.c.rating.label("score"),
        ).where(conversations.c.started_at >= since)
        # The live dashboard counts a follow-up's answer on the day of its first click
        # (handoff/email/follow_up_rating.py); the conversation keeps the latest click's time,
        # the transcript's first `follow_up_rated` event the first's. The latest is never the
        # earlier, so it bounds the rows read.
        first_answer = func.coalesce(
            _events(FOLLOW_UP_RATED).with_only_columns(func.min(entries.c.at)).scalar_subquery(),
            conversations.c.follow_up_rated_at,
        )
        answered = select(
            (first_answer // DAY_MS).label("day"),
            null(),
            null(),
            null(),
            conversations.c.follow_up_rating,
        ).where(conversations.c.follow_up_rated_at >= since)
        # One row per start and per follow-up answer, on its day. COUNT(x) counts non-null
        # values, and CASE without ELSE is null: both databases give a whole number for a count
        # and for SUM of an integer column (NULL for no rows, hence COALESCE), so the figures
        # compare and divide alike on SQLite and PostgreSQL. 0 or no score is no rating.
        each = union_all(started, answered).subquery()
        rated = each.c.score.between(1, 5)
        query = (
            select(
                each.c.day,
                func.count(each.c.started).label("conversations"),
                func.count(each.c.handoff).label("handoffs"),
                func.count(each.c.person_needed).label("person_needed"),
                func.count(case((rated, 1))).label("rated"),
                func.coalesce(func.sum(case((rated, each.c.score))), 0).label("rating_sum"),
                func.count(case((rated & (each.c.score >= satisfied_from), 1))).label("satisfied"),
            )
            .where(each.c.day >= first_day)
            .group_by(each.c.day)
        )
        with self.engine.connect() as db:
            counted = {int(r.day): r._mapping for r in db.execute(query)}
        return [
            {
                "day": time.strftime("%Y-%m-%d", time.gmtime(d * DAY_MS / 1000)),
                **{name: int(counted[d][name]) if d in counted else 0 for name in DAILY_COUNTS},
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


def _events(event: str) -> Select[Any]:
    """The transcript events named `event` of the conversation of the enclosing query's row.
    write_batch stores an entry's fields as JSON text on both databases, and JSON escapes
    quotes inside values, so nothing a customer typed can pass for one."""
    return select(entries.c.entry_id).where(
        entries.c.conversation_id == conversations.c.id,
        entries.c.kind == "event",
        entries.c.data.contains(event, autoescape=True),
    )


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
