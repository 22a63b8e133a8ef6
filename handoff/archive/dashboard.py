"""The dashboard's figures over long periods, from the archive (`archive` of GET /api/stats).

Redis keeps the live counters 90 days (handoff/queue/stats.py); the archive keeps conversations
for ARCHIVE_RETENTION_DAYS. `archived_period` counts a period's days here as the live counters
count them (docs/protocol.md defines each figure, docs/archive.md says where the two differ):

    per day    conversations, handoffs, person_needed        over the conversations started then
               rated, rating_sum, satisfied                  the ratings given then
               tickets                                       the messages left then
               first_response_within / _breached             the first responses timed then
    per period wait_s, first_response_s, handling_s          whole-second samples, as histograms

The counts come from one SQL query; the timings from each conversation's clocks (its row) and
its transcript's state events and agent messages, paired in Python: a median is not a query
both SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, case, cast, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import literal, null, union_all

from handoff.archive.schema import DAY_MS, conversations, entries
from handoff.queue.stats import SAMPLE_SERIES

# What `archived_period` counts per day, besides the day itself.
DAILY_COUNTS = (
    "conversations",
    "handoffs",
    "person_needed",
    "rated",
    "rating_sum",
    "satisfied",
    "tickets",
    "first_response_within",
    "first_response_breached",
)
WAIT, FIRST_RESPONSE, HANDLING = SAMPLE_SERIES
# How an archived entry's data (sorted-key JSON text, as write_batch stores it) says a message
# was left for a person, that the customer answered a follow-up email, and that the
# conversation moved (to a state).
TICKET_CREATED = json.dumps({"event": "ticket_created"})[1:-1]
FOLLOW_UP_RATED = json.dumps({"event": "follow_up_rated"})[1:-1]
MOVED = json.dumps({"event": "state"})[1:-1]
TO_QUEUE = json.dumps({"state": "queued"})[1:-1]
TO_PERSON = json.dumps({"state": "assigned"})[1:-1]


@dataclass(frozen=True)
class ArchivedPeriod:
    """A period's figures: `daily`, every UTC day oldest first with each of DAILY_COUNTS;
    `samples`, per series of SAMPLE_SERIES, whole seconds -> how many (the live form)."""

    daily: list[dict[str, Any]]
    samples: dict[str, dict[int, int]]


@dataclass(frozen=True)
class Clocks:
    """One conversation's latest time with a person (ms; None where it has none)."""

    queued_at: int | None
    assigned_at: int | None
    closed_at: int | None
    first_response_breached: bool | None
    # From the transcript, at or after `queued_at`: the first move out of the queue, the
    # first move to a person, and a person's first message.
    left_queue_at: int | None
    taken_at: int | None
    first_response_at: int | None

    def samples(self) -> Iterator[tuple[str, int, int]]:
        """(series, when it counts, whole seconds) of each duration the live dashboard
        records for this time with a person (handoff/console/chat_actions.py)."""
        queued = self.queued_at
        # The wait ends when a person takes the chat from the queue; the customer leaving the
        # queue (back to the assistant) ends it without one.
        if queued and self.taken_at and self.taken_at == self.left_queue_at:
            yield WAIT, self.taken_at, _seconds(self.taken_at - queued)
        if queued and self.first_response_at:
            yield FIRST_RESPONSE, self.first_response_at, _seconds(self.first_response_at - queued)
        # Handling: from the last time a person took it to the close (a chat reopened by a
        # taken ticket and not closed again has none yet).
        if self.assigned_at and self.closed_at and self.closed_at >= self.assigned_at:
            yield HANDLING, self.closed_at, _seconds(self.closed_at - self.assigned_at)

    def first_response_counted(self) -> tuple[str, int] | None:
        """The first response's place in the share within target: the day count it adds to
        and when it counts (`first_response_within` at the reply, `first_response_breached`
        when the wait began), or None (not known, or not timed: still waiting
        within the target, or the customer left before it passed)."""
        if not self.queued_at or self.first_response_breached is None:
            return None
        if self.first_response_breached:
            return "first_response_breached", self.queued_at
        if self.first_response_at:
            return "first_response_within", self.first_response_at
        return None


def _seconds(ms: int) -> int:
    """A duration as the live samples keep it: whole seconds, never negative."""
    return max(0, ms // 1000)


def _day(at_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at_ms / 1000))


def archived_period(
    engine: Engine, days: int, *, satisfied_from: int, now_ms: int | None = None
) -> ArchivedPeriod:
    """The last `days` UTC days' figures (today the last): see the module's docstring.

    - over the conversations that started that day (each once, on its start day):
      `conversations`; `handoffs`, those that entered the queue (they have a reason);
      `person_needed`, those that entered the queue or left a message for a person (a
      ticket's `ticket_created` event in the transcript): the live containment's measure;
    - `rated`, the ratings 1..5 given that day; `rating_sum`, their sum; `satisfied`, those
      of `satisfied_from` or more (the live CSAT's measure). A chat's widget rating counts
      on its start day, a follow-up email's answer at its latest score on the day of its
      first (a chat rated both ways counts twice, as it does live);
    - `tickets`, the messages left that day (each `ticket_created` event);
    - `first_response_within`, the first responses in time, on the reply's day;
      `first_response_breached`, those past the target, answered or not, on the day the wait
      began. Both for each conversation's latest time in the queue (`Clocks`).
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    first_day = now_ms // DAY_MS - days + 1
    since = first_day * DAY_MS
    with engine.connect() as db:
        counted = {int(r.day): r._mapping for r in db.execute(_day_counts(since, satisfied_from))}
        clocks = [Clocks(**r._mapping) for r in db.execute(_clocks(since))]
    daily = {
        _day(d * DAY_MS): {
            name: int(counted[d][name]) if d in counted and name in counted[d] else 0
            for name in DAILY_COUNTS
        }
        for d in range(first_day, first_day + days)
    }
    samples: dict[str, dict[int, int]] = {series: {} for series in SAMPLE_SERIES}
    for conversation in clocks:
        for series, at, seconds in conversation.samples():
            if at >= since:
                samples[series][seconds] = samples[series].get(seconds, 0) + 1
        counted_as = conversation.first_response_counted()
        if counted_as and _day(counted_as[1]) in daily:
            daily[_day(counted_as[1])][counted_as[0]] += 1
    return ArchivedPeriod([{"day": day, **counts} for day, counts in daily.items()], samples)


def _day_counts(since: int, satisfied_from: int) -> Select[Any]:
    """Per day from `since` (day number -> the counts of DAILY_COUNTS SQL can make)."""
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
        # Typed: PostgreSQL types a UNION column by its first row, and a bare NULL is text.
        cast(null(), Integer).label("ticket"),
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
        null(),
    ).where(conversations.c.follow_up_rated_at >= since)
    # The live counter counts each ticket on the day it was opened: each event, not each
    # conversation (a customer may leave several messages).
    tickets = select(
        (entries.c.at // DAY_MS).label("day"), null(), null(), null(), null(), literal(1)
    ).where(
        entries.c.at >= since,
        entries.c.kind == "event",
        entries.c.data.contains(TICKET_CREATED, autoescape=True),
    )
    # One row per start, per follow-up answer and per ticket, on its day. COUNT(x) counts
    # non-null values, and CASE without ELSE is null: both databases give a whole number for a
    # count and for SUM of an integer column (NULL for no rows, hence COALESCE), so the figures
    # compare and divide alike on SQLite and PostgreSQL. 0 or no score is no rating.
    each = union_all(started, answered, tickets).subquery()
    rated = each.c.score.between(1, 5)
    return (
        select(
            each.c.day,
            func.count(each.c.started).label("conversations"),
            func.count(each.c.handoff).label("handoffs"),
            func.count(each.c.person_needed).label("person_needed"),
            func.count(case((rated, 1))).label("rated"),
            func.coalesce(func.sum(case((rated, each.c.score))), 0).label("rating_sum"),
            func.count(case((rated & (each.c.score >= satisfied_from), 1))).label("satisfied"),
            func.count(each.c.ticket).label("tickets"),
        )
        .where(each.c.day >= since // DAY_MS)
        .group_by(each.c.day)
    )


def _clocks(since: int) -> Select[Any]:
    """The `Clocks` of every conversation active since `since` that had a person: any of its
    timings that falls in the period happened at or before its last activity."""
    queued_at = conversations.c.queued_at

    def first_after_queued(query: Select[Any]) -> Any:
        return (
            query.with_only_columns(func.min(entries.c.at))
            .where(entries.c.at >= queued_at)
            .scalar_subquery()
        )

    agent_messages = select(entries.c.entry_id).where(
        entries.c.conversation_id == conversations.c.id,
        entries.c.sender == "agent",
        entries.c.kind == "message",
    )
    return select(
        queued_at,
        conversations.c.assigned_at,
        conversations.c.closed_at,
        conversations.c.first_response_breached,
        first_after_queued(
            _events(MOVED).where(~entries.c.data.contains(TO_QUEUE, autoescape=True))
        ).label("left_queue_at"),
        first_after_queued(_events(MOVED, TO_PERSON)).label("taken_at"),
        first_after_queued(agent_messages).label("first_response_at"),
    ).where(
        conversations.c.last_activity_at >= since,
        or_(queued_at.is_not(None), conversations.c.closed_at.is_not(None)),
    )


def _events(*fragments: str) -> Select[Any]:
    """The transcript events of the enclosing query's conversation whose data holds every
    fragment. write_batch stores an entry's fields as JSON text on both databases, and JSON
    escapes quotes inside values, so nothing a customer typed can pass for one."""
    return select(entries.c.entry_id).where(
        entries.c.conversation_id == conversations.c.id,
        entries.c.kind == "event",
        *(entries.c.data.contains(fragment, autoescape=True) for fragment in fragments),
    )
