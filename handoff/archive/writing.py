"""Writing the archive: what the archiver copies (a conversation's facts, its transcript
entries) and the set-based writes that store a batch of them in one transaction.

Every write is idempotent: the archiver delivers at least once, so recording the same entry or
the same facts twice leaves the archive as recording them once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from handoff.archive.schema import conversations, entries

# Ids per IN (...) list: far below SQLite's limit on a statement's parameters (32,766; 999 on
# builds older than 3.32), and short enough for PostgreSQL's planner.
IN_CHUNK = 500

T = TypeVar("T")


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
    # The follow-up email's answer (1-5) and when the latest click gave it.
    follow_up_rating: int | None = None
    follow_up_rated_at: int | None = None
    # The clocks of its latest time with a person (schema.py): when it entered the queue, when
    # a person took it, and whether the first response to that time passed its target.
    queued_at: int | None = None
    assigned_at: int | None = None
    first_response_breached: bool | None = None
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
    "follow_up_rating",
    "follow_up_rated_at",
    "queued_at",
    "assigned_at",
    "first_response_breached",
    "customer_email",
    "order_number",
)


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    """`items` in lists of at most IN_CHUNK, for IN (...) lists."""
    for at in range(0, len(items), IN_CHUNK):
        yield list(items[at : at + IN_CHUNK])


def storable(text: str) -> str:
    """`text` as both databases store it: PostgreSQL refuses NUL in text, and one NUL (in a
    conversation stored before the gateway refused them, or from elsewhere) would make the
    whole conversation impossible to archive; it is kept visible as U+FFFD. JSON columns need
    nothing: json.dumps escapes NUL."""
    return text.replace("\x00", "\ufffd")


def _column_values(facts: ConversationFacts) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in PLAIN_COLUMNS:
        value = getattr(facts, name)
        if value is not None:
            values[name] = storable(value) if isinstance(value, str) else value
    if facts.tags is not None:
        values["tags"] = json.dumps(sorted(set(facts.tags)))
    if facts.packet is not None:
        values["packet"] = json.dumps(facts.packet, sort_keys=True)
    if facts.customer_email is not None:
        values["customer_email"] = facts.customer_email.strip().lower()
    if facts.order_number is not None:
        values["order_number"] = normalise_order_number(facts.order_number)
    return values


def write_batch(
    db: Connection, facts: Iterable[ConversationFacts] = (), records: Iterable[EntryRecord] = ()
) -> None:
    """Store facts and transcript entries within `db`'s transaction.

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
    _ensure_conversations(db, spans)
    _update_facts(db, facts)
    _insert_entries(db, records)


def _ensure_conversations(db: Connection, spans: dict[str, tuple[int, int]]) -> None:
    """Every conversation exists, with its last activity at least the latest time seen."""
    existing: set[str] = set()
    ids = sorted(spans)
    for chunk in _chunks(ids):
        existing.update(db.scalars(select(conversations.c.id).where(conversations.c.id.in_(chunk))))
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


def _update_facts(db: Connection, facts: list[ConversationFacts]) -> None:
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


def _insert_entries(db: Connection, records: list[EntryRecord]) -> None:
    """Entries not stored yet (the same entry delivered twice is stored once)."""
    wanted = {(r.conversation_id, r.entry_id): r for r in records}
    if not wanted:
        return
    stored: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(wanted)):
        # Both lists bounded by the chunk; the pairs read back are matched exactly below.
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
                    "sender": storable(r.sender),
                    "kind": storable(r.kind),
                    "text": storable(r.text),
                    "data": json.dumps(r.data, sort_keys=True) if r.data else None,
                }
                for r in fresh
            ],
        )
