"""The conversation archive on real databases (SQLite in a temporary folder, and a PostgreSQL
server this test starts): the migrated schema is what the code uses, writes are idempotent,
agents find past conversations and page through every one of them (also through the console
API), export and erasure find a customer's data, retention purges."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from alembic import command
from redis.asyncio import Redis
from sqlalchemy import MetaData, inspect
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine

from handoff.archive.archiver import entry_record, facts_from_hash
from handoff.archive.dashboard import archived_period
from handoff.archive.database import (
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    open_engine,
)
from handoff.archive.schema import metadata
from handoff.archive.store import DAY_MS, ArchiveStore, SearchCursor, Subject
from handoff.archive.writing import ConversationFacts, EntryRecord
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.email.follow_up_rating import rating_token
from handoff.state import app_state
from tests.app.agents import KEYS, agent_online, queued_chat
from tests.app.chats import opened_archive
from tests.app.conftest import SECRET, AppFactory
from tests.app.protocol import open_chat
from tests.support import polling
from tests.support.clients import PASSWORD, frames_until, login
from tests.support.fake_rasa import FakeRasa

NOW = 1_765_000_000_000  # a fixed "now" (ms) for the date filters and daily figures


async def signed_in_headers(client: TestClient, redis_url: str) -> dict[str, str]:
    """The request headers of "pia", a new account of the service, signed in."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    await Accounts(redis, Keys("ha")).create("pia", PASSWORD)
    await redis.aclose()
    return dict((await login(client, "pia"))["headers"])


def daily(archive: ArchiveStore, days: int, satisfied_from: int = 4) -> list[dict[str, Any]]:
    """The archive's dashboard figures of the last `days` before NOW, per day."""
    return archived_period(archive.engine, days, satisfied_from=satisfied_from, now_ms=NOW).daily


def entry(cid: str, n: int, text: str, sender: str = "customer", at: int = NOW) -> EntryRecord:
    return EntryRecord(cid, f"{at + n}-0", at + n, sender, "message", text)


def a_handoff(cid: str, at: int = NOW) -> tuple[list[ConversationFacts], list[EntryRecord]]:
    facts = [
        ConversationFacts(cid, at, state="queued", handoff_reason="order_delayed", team="orders"),
        ConversationFacts(cid, at + 50, state="assigned", agent="ana"),
        ConversationFacts(
            cid,
            at + 90,
            state="closed",
            closed_at=at + 90,
            tags=["refund", "delay"],
            notes="Refund issued for the late lamp.",
            order_number="hg-10042",
            customer_email="Ivan.Silva@Example.com",
            packet={"reason": "order_delayed", "summary": "Order HG-10042 is delayed."},
        ),
        ConversationFacts(cid, at + 95, rating=5, rating_comment="quick"),
    ]
    records = [
        entry(cid, 1, "where is my lamp, order HG-10042", at=at),
        entry(cid, 2, "Your order is delayed.", sender="bot", at=at),
        entry(cid, 60, "I've refunded the shipping.", sender="agent", at=at),
    ]
    return facts, records


def test_the_migrations_build_exactly_the_schema_the_code_uses(archive: ArchiveStore) -> None:
    assert current_revision(archive.engine) == head_revision() is not None
    migrate(archive.engine)  # a second start is a no-op
    reflected = MetaData()
    reflected.reflect(archive.engine)
    for table in metadata.sorted_tables:
        assert table.name in reflected.tables
        columns = {c["name"]: c for c in inspect(archive.engine).get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
        indexes = {i["name"] for i in inspect(archive.engine).get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes


def test_a_conversation_is_archived_whole_and_once_however_often_it_is_delivered(
    archive: ArchiveStore,
) -> None:
    facts, records = a_handoff("c" * 32)
    archive.record(facts, records)
    archive.record(facts, records)  # the archiver delivers at least once
    archive.record([], records[:1])
    stored = archive.conversation("c" * 32)
    assert stored is not None
    assert [e["text"] for e in stored["transcript"]] == [r.text for r in records]
    assert stored["state"] == "closed" and stored["agent"] == "ana" and stored["team"] == "orders"
    assert stored["tags"] == ["delay", "refund"] and stored["rating"] == 5
    assert stored["order_number"] == "HG-10042"
    assert stored["customer_email"] == "ivan.silva@example.com"
    assert stored["packet"]["reason"] == "order_delayed"
    assert stored["last_activity_at"] == NOW + 95
    # A later update that does not mention a field leaves it as it was.
    archive.record([ConversationFacts("c" * 32, NOW + 100, state="closed")])
    assert archive.conversation("c" * 32)["notes"] == "Refund issued for the late lamp."  # type: ignore[index]


def test_in_one_delivery_the_latest_facts_win_column_by_column(archive: ArchiveStore) -> None:
    cid = "r" * 32
    archive.record(
        [
            ConversationFacts(cid, NOW, state="queued", team="orders"),
            ConversationFacts(cid, NOW + 10, state="assigned", agent="ana"),
            # Sent back to the queue: the same columns as the first, after the second.
            ConversationFacts(cid, NOW + 20, state="queued", team="returns"),
        ]
    )
    stored = archive.conversation(cid)
    assert stored is not None
    assert (stored["state"], stored["team"], stored["agent"]) == ("queued", "returns", "ana")


def test_a_large_batch_is_archived_whole_and_a_late_first_copy_keeps_its_start_day(
    archive: ArchiveStore,
) -> None:
    # More conversations than one IN (...) list holds; each first copied a day after it began
    # (the database was down), and delivered twice.
    ids = [f"{n:032d}" for n in range(700)]
    began = NOW - DAY_MS
    facts = [ConversationFacts(cid, NOW, started_at=began, state="bot") for cid in ids]
    records = [entry(cid, n, f"message {n}", at=began) for cid in ids for n in (1, 2)]
    archive.record(facts, records)
    archive.record(facts, records)
    for cid in (ids[0], ids[499], ids[500], ids[-1]):
        stored = archive.conversation(cid)
        assert stored is not None and stored["started_at"] == began
        assert [e["text"] for e in stored["transcript"]] == ["message 1", "message 2"]
    days = daily(archive, 2, satisfied_from=4)
    assert [d["conversations"] for d in days] == [700, 0]


def test_agents_find_past_conversations_by_order_email_text_tag_and_date(
    archive: ArchiveStore,
) -> None:
    archive.record(*a_handoff("a" * 32, at=NOW - 40 * DAY_MS))
    archive.record(*a_handoff("b" * 32))
    archive.record(
        [ConversationFacts("d" * 32, NOW, state="bot")],
        [entry("d" * 32, 1, "do you sell 100% wool_blankets?")],
    )

    def ids(**filters: object) -> list[str]:
        return [c["id"][0] for c in archive.search(**filters)]  # type: ignore[arg-type]

    assert ids(order_number="10042") == ["b", "a"]  # newest first
    assert ids(email="IVAN.SILVA@example.com ") == ["b", "a"]
    assert ids(text="LAMP") == ["b", "a"]
    assert ids(text="refund issued") == ["b", "a"]  # the agent's notes too
    assert ids(text="100% wool_") == ["d"]  # LIKE's wildcards are taken literally
    assert ids(text="100%%") == []
    assert ids(tag="refund") == ["b", "a"] and ids(tag="ref") == []
    assert ids(since_ms=NOW - DAY_MS) == ["b", "d"]  # b's last activity is the later
    assert ids(until_ms=NOW - DAY_MS) == ["a"]
    assert ids(order_number="10042", since_ms=NOW - DAY_MS) == ["b"]


def tied(count: int, now: int = NOW) -> tuple[list[ConversationFacts], list[str]]:
    """`count` conversations tagged "paging" whose last activity falls on three moments, each
    shared by several (as a busy minute's closes are), and their ids in the order a search must
    list them: newest activity first, then the greater id first."""
    facts = [
        ConversationFacts(f"{n:032x}", now - (n % 3) * 1000, state="closed", tags=["paging"])
        for n in range(count)
    ]
    # Stored in no particular order: a database may list ties in the order they were written.
    random.Random(count).shuffle(facts)
    return facts, [f.id for f in sorted(facts, key=lambda f: (f.at, f.id), reverse=True)]


def pages(archive: ArchiveStore, size: int, **filters: Any) -> list[list[str]]:
    """Every page of a search, following each page's cursor to the end."""
    found: list[list[str]] = []
    before: SearchCursor | None = None
    while True:
        page = archive.search_page(before=before, limit=size, **filters)
        found.append([c["id"] for c in page.conversations])
        if page.next is None:
            return found
        assert len(found) < 100, "the cursor does not move on"
        before = SearchCursor.decode(page.next.encode())  # as a client sends it back


def test_a_search_pages_through_every_result_once_even_when_many_share_a_moment(
    archive: ArchiveStore,
) -> None:
    facts, ordered = tied(11)
    archive.record(facts)
    # Someone else's conversations in between, at the same moments: a filter still pages.
    archive.record([ConversationFacts(f"{n:032x}", NOW, state="bot") for n in range(100, 104)])

    for size in (1, 2, 4, 11, 50):
        found = pages(archive, size, tag="paging")
        assert [cid for page in found for cid in page] == ordered, size
        assert all(len(page) == size for page in found[:-1]) and 0 < len(found[-1]) <= size
    # The first page of search() is what the console lists first; a page that ends exactly at
    # the last result says there is no other.
    assert [c["id"] for c in archive.search(tag="paging", limit=4)] == ordered[:4]
    assert len(pages(archive, 11, tag="paging")) == 1
    # Unfiltered, the others come first (the newest), and the paging is the same.
    everyone = [cid for page in pages(archive, 3) for cid in page]
    assert len(everyone) == len(set(everyone)) == 15
    assert [cid for cid in everyone if cid in ordered] == ordered


def test_a_search_cursor_is_refused_unless_the_archive_made_it() -> None:
    cursor = SearchCursor(NOW, "a" * 32)
    assert SearchCursor.decode(cursor.encode()) == cursor
    made = [f"{NOW}.{'g' * 32}", f"-5.{'a' * 32}", f"{NOW}", f"{NOW}.{'a' * 31}", "1e3." + "a" * 32]
    for text in [
        "",
        "not a cursor!",
        "é" * 10,
        "A" * 500,
        cursor.encode() + "$",
        *(base64.urlsafe_b64encode(m.encode()).decode() for m in made),
        base64.urlsafe_b64encode(b"\xff\xfe." + b"a" * 32).decode(),
    ]:
        with pytest.raises(ValueError):
            SearchCursor.decode(text)


async def test_the_console_pages_through_a_search_and_refuses_a_cursor_it_did_not_give(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    # Now, not NOW: the service's retention purge must leave them alone.
    facts, ordered = tied(61, now=int(time.time() * 1000))
    (await opened_archive(state)).record(facts)
    headers = await signed_in_headers(client, redis_url)

    async def page(query: str) -> dict[str, Any]:
        answer = await client.get(f"/api/archive/conversations?{query}", headers=headers)
        assert answer.status == 200, await answer.text()
        body: dict[str, Any] = await answer.json()
        return body

    first = await page("tag=paging")
    assert [c["id"] for c in first["conversations"]] == ordered[:50]
    assert isinstance(first["next"], str)
    second = await page(f"tag=paging&before={first['next']}")
    assert [c["id"] for c in second["conversations"]] == ordered[50:]
    assert second["next"] is None

    for forged in ("garbage", first["next"][:-4], "x" * 300):
        refused = await client.get(
            f"/api/archive/conversations?tag=paging&before={forged}", headers=headers
        )
        assert refused.status == 400
        assert "'before'" in await refused.text()
        assert "search again from the first page" in await refused.text()


def a_left_message(cid: str, at: int = NOW) -> tuple[list[ConversationFacts], list[EntryRecord]]:
    """A chat nobody could take: the customer left a message (a ticket), as the archiver
    copies the event from the transcript."""
    event = {
        "kind": "event",
        "from": "system",
        "text": "Thanks, your message is with our team.",
        "at": str(at + 5),
        "event": "ticket_created",
    }
    facts = [ConversationFacts(cid, at + 5, state="closed", customer_email="mo@example.com")]
    return facts, [
        entry(cid, 1, "my parcel is lost", at=at),
        entry_record(cid, f"{at + 5}-0", event),
    ]


def a_rated_chat(cid: str, rating: int, at: int = NOW) -> list[ConversationFacts]:
    return [ConversationFacts(cid, at, state="closed", rating=rating)]


def a_mixed_period(archive: ArchiveStore, now: int) -> None:
    """Five days ago: a handoff rated 5, a message left and rated 2, the assistant alone rated
    4, a customer who typed the ticket event's words; today: two chats nobody rated."""
    day = now - 5 * DAY_MS
    archive.record(*a_handoff("a" * 32, at=day))  # rated 5
    facts, records = a_left_message("b" * 32, at=day)
    archive.record([*facts, ConversationFacts("b" * 32, day + 9, rating=2)], records)
    archive.record(a_rated_chat("c" * 32, 4, at=day))
    look = '{"event": "ticket_created"}'
    archive.record(
        [ConversationFacts("d" * 32, day, state="bot")],
        # What a customer sends is stored escaped, however it looks.
        [EntryRecord("d" * 32, f"{day}-0", day, "customer", "message", look, {"client_id": look})],
    )
    archive.record([ConversationFacts(cid * 32, now, state="bot") for cid in "ef"])


def test_daily_figures_count_conversations_handoffs_ratings_and_messages_left_per_day(
    archive: ArchiveStore,
) -> None:
    a_mixed_period(archive, NOW)
    archive.record([ConversationFacts("g" * 32, NOW, state="closed", rating=0)])  # not a rating
    days = daily(archive, 7, satisfied_from=4)
    assert len(days) == 7 and days[1]["day"] == time.strftime(
        "%Y-%m-%d", time.gmtime((NOW - 5 * DAY_MS) / 1000)
    )
    counts = [{k: v for k, v in d.items() if k != "day"} for d in days]
    assert counts[1] == {
        "conversations": 4,
        "handoffs": 1,
        "person_needed": 2,  # the handoff and the message left, not the look-alike text
        "rated": 3,
        "rating_sum": 11,
        "satisfied": 2,  # 5 and 4, not 2
        "tickets": 1,  # the message left
        "first_response_within": 0,  # no clocks in these facts
        "first_response_breached": 0,
    }
    # Today: three chats and no rating (a 0 is not one of the 1..5 stars); other days: none.
    assert counts[-1] == {"conversations": 3} | {k: 0 for k in counts[1] if k != "conversations"}
    assert all(not any(d.values()) for d in counts[:1] + counts[2:-1])
    assert all(type(v) is int for d in counts for v in d.values())  # the same types on both
    assert daily(archive, 7, satisfied_from=5)[1]["satisfied"] == 1
    assert len(daily(archive, 365, satisfied_from=4)) == 365


async def test_the_dashboard_takes_containment_and_csat_over_the_whole_period_from_the_archive(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    a_mixed_period(await opened_archive(state), int(time.time() * 1000))
    headers = await signed_in_headers(client, redis_url)

    async def archived(days: int) -> dict[str, Any]:
        answer = await client.get(f"/api/stats?days={days}", headers=headers)
        assert answer.status == 200, await answer.text()
        figures: dict[str, Any] = (await answer.json())["archive"]
        return figures

    month = await archived(30)
    assert len(month["daily"]) == 30
    assert month["daily"][-6]["rated"] == 3 and month["daily"][-6]["rating_sum"] == 11
    assert {k: month[k] for k in ("conversations", "handoffs", "person_needed")} == {
        "conversations": 6,
        "handoffs": 1,
        "person_needed": 2,
    }
    # 4 of 6 never needed a person; 2 of the 3 ratings are 4 or 5, averaging 11 / 3.
    assert month["containment_rate"] == 0.6667
    assert (month["rated"], month["csat"], month["csat_average"]) == (3, 0.6667, 3.67)
    today = await archived(1)
    assert (today["conversations"], today["containment_rate"]) == (2, 1.0)
    assert (today["rated"], today["csat"], today["csat_average"]) == (0, None, None)


def test_export_and_erasure_find_the_customer_and_the_log_keeps_no_trace_of_them(
    archive: ArchiveStore,
) -> None:
    archive.record(*a_handoff("a" * 32))
    archive.record([ConversationFacts("d" * 32, NOW, state="bot")], [entry("d" * 32, 1, "hi")])
    subject = Subject.of(email="ivan.silva@EXAMPLE.com")
    exported = archive.export(subject)
    assert [c["id"] for c in exported] == ["a" * 32]
    assert exported[0]["transcript"][0]["text"] == "where is my lamp, order HG-10042"
    assert archive.export(Subject.of(order_number="HG10042")) == exported

    assert archive.erase(subject, actor="admin") == 1
    assert archive.conversation("a" * 32) is None
    assert archive.search(text="lamp") == []
    assert archive.conversation("d" * 32) is not None  # someone else's stays
    log = archive.erasure_log()
    assert [(e["actor"], e["subject_kind"], e["conversations"]) for e in log] == [
        ("admin", "email", 1)
    ]
    assert "ivan" not in repr(log).lower()


def test_retention_purges_conversations_idle_longer_than_the_period(
    archive: ArchiveStore,
) -> None:
    archive.record(*a_handoff("a" * 32, at=NOW - 400 * DAY_MS))
    archive.record(*a_handoff("b" * 32, at=NOW - 10 * DAY_MS))
    assert archive.purge(365, now_ms=NOW) == 1
    assert [c["id"] for c in archive.search()] == ["b" * 32]
    assert archive.search(text="lamp")[0]["id"] == "b" * 32


def test_a_subject_is_one_email_or_one_order_number() -> None:
    with pytest.raises(ValueError):
        Subject.of()
    with pytest.raises(ValueError):
        Subject.of(email="a@b.c", order_number="1")
    with pytest.raises(ValueError):
        Subject.of(email="not an address")
    assert Subject.of(order_number=" hg-10042 ") == Subject("order_number", "HG-10042")


# --- follow-up email ratings ----------------------------------------------------------------


def a_follow_up_answer(cid: str, score: int, previous: int, at: int) -> EntryRecord:
    """The event the follow-up's rating link writes to the transcript, as the conversation
    store keeps it (its `data` JSON-encoded) and the archiver copies it."""
    return entry_record(
        cid,
        f"{at}-0",
        {
            "kind": "event",
            "from": "system",
            "text": f"Follow-up email: the customer rated {score} of 5.",
            "at": str(at),
            "event": "follow_up_rated",
            "data": json.dumps({"score": score, "previous": previous, "follow_up": "f" * 32}),
        },
    )


def a_follow_up_rated_chat(
    cid: str, started: int, answers: list[tuple[int, int]], widget: int | None = None
) -> tuple[list[ConversationFacts], list[EntryRecord]]:
    """A chat whose customer answered its follow-up email with each (score, time) in turn, as
    the archiver copies it from the conversation's hash (the latest answer and its time) and
    transcript; `widget`: the chat's own rating."""
    score, rated_at = answers[-1]
    fields = {
        "created_at": str(started),
        "updated_at": str(rated_at),
        "state": "closed",
        "follow_up_rating": str(score),
        "follow_up_rated_at": str(rated_at),
        **({"rating": str(widget)} if widget else {}),
    }
    previous = [0] + [s for s, _ in answers[:-1]]
    events = [
        a_follow_up_answer(cid, s, p, at) for (s, at), p in zip(answers, previous, strict=True)
    ]
    return [facts_from_hash(cid, fields)], events


def on(archive: ArchiveStore, days: int, at: int, *names: str) -> dict[str, int]:
    """The archive's figures of the day of `at` among the last `days` before NOW."""
    day = time.strftime("%Y-%m-%d", time.gmtime(at / 1000))
    (found,) = [d for d in daily(archive, days, satisfied_from=4) if d["day"] == day]
    return {name: found[name] for name in names}


RATINGS = ("rated", "rating_sum", "satisfied")


def test_a_chat_rated_only_by_its_follow_up_email_counts_in_the_csat(
    archive: ArchiveStore,
) -> None:
    cid = "f" * 32
    started, answered = NOW - 10 * DAY_MS, NOW - 3 * DAY_MS
    archive.record(*a_follow_up_rated_chat(cid, started, [(4, answered)]))
    stored = archive.conversation(cid)
    assert stored is not None
    assert (stored["rating"], stored["follow_up_rating"]) == (None, 4)
    assert stored["follow_up_rated_at"] == answered
    # A rating, and a satisfied one, on the day the customer answered, as the live CSAT
    # counts it; the chat itself still counts on the day it began, unrated.
    assert on(archive, 14, answered, "conversations", *RATINGS) == {
        "conversations": 0,
        "rated": 1,
        "rating_sum": 4,
        "satisfied": 1,
    }
    assert on(archive, 14, started, "conversations", *RATINGS) == {
        "conversations": 1,
        "rated": 0,
        "rating_sum": 0,
        "satisfied": 0,
    }
    days = daily(archive, 14, satisfied_from=4)
    assert sum(d["rated"] for d in days) == 1
    assert daily(archive, 14, satisfied_from=5)[-4]["satisfied"] == 0


def test_a_changed_follow_up_answer_counts_once_at_its_latest_score_on_the_first_answers_day(
    archive: ArchiveStore,
) -> None:
    # Answered 5 three days ago, changed to 2 yesterday: the live dashboard moved the first
    # day's totals rather than adding a rating yesterday.
    first, changed = NOW - 3 * DAY_MS, NOW - 1 * DAY_MS
    archive.record(*a_follow_up_rated_chat("f" * 32, NOW - 9 * DAY_MS, [(5, first), (2, changed)]))
    assert on(archive, 14, first, *RATINGS) == {"rated": 1, "rating_sum": 2, "satisfied": 0}
    assert on(archive, 14, changed, *RATINGS) == {"rated": 0, "rating_sum": 0, "satisfied": 0}
    # A period that starts after the first answer does not count it, however late the change.
    assert sum(d["rated"] for d in daily(archive, 2, satisfied_from=4)) == 0


def test_a_chat_rated_in_the_widget_and_by_its_follow_up_counts_both_as_the_live_csat_does(
    archive: ArchiveStore,
) -> None:
    started, answered = NOW - 6 * DAY_MS, NOW - 2 * DAY_MS
    facts, events = a_follow_up_rated_chat("w" * 32, started, [(3, answered)], widget=5)
    archive.record(facts, events)
    assert on(archive, 7, started, *RATINGS) == {"rated": 1, "rating_sum": 5, "satisfied": 1}
    assert on(archive, 7, answered, *RATINGS) == {"rated": 1, "rating_sum": 3, "satisfied": 0}
    # Without the transcript's event (the service stopped between the two writes), the
    # answer's own time says the day.
    archive.record(a_follow_up_rated_chat("v" * 32, started, [(4, answered + 1)])[0])
    assert on(archive, 7, answered, *RATINGS) == {"rated": 2, "rating_sum": 7, "satisfied": 1}


async def test_the_archives_csat_agrees_with_the_live_one_for_a_follow_up_answer(
    make_client: AppFactory, redis_url: str
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    await opened_archive(state)
    _, welcome = await open_chat(client)
    cid = welcome["conversation"]
    # A follow-up as the sender leaves it once emailed (handoff/email/follow_up.py).
    fid = secrets.token_hex(16)
    now = int(time.time() * 1000)
    await state.redis.hset(
        state.keys.follow_up(fid),
        mapping={"conversation": cid, "state": "sent", "rate_until": now + DAY_MS},
    )
    # The customer clicks 5, then puts it right with 2: one rating, not satisfied.
    for score in (5, 2):
        answer = await client.get(f"/rate/{rating_token(SECRET, fid, score)}")
        assert answer.status == 200, await answer.text()

    async def archived() -> bool:
        assert state.archive is not None
        stored = await asyncio.to_thread(state.archive.conversation, cid)
        return stored is not None and stored["follow_up_rating"] == 2

    await polling.until(archived, seconds=15)
    headers = await signed_in_headers(client, redis_url)
    stats = await (await client.get("/api/stats?days=30", headers=headers)).json()
    live = (stats["ratings"], stats["csat"], stats["csat_average"])
    archive = stats["archive"]
    assert live == (1, 0.0, 2) == (archive["rated"], archive["csat"], archive["csat_average"])
    assert archive["daily"][-1]["rated"] == 1 and archive["daily"][-1]["rating_sum"] == 2


# --- migrating an archive created by an earlier release ---------------------------------------

PREVIOUS_HEAD = "0001_archive"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database with nothing in it yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'older.sqlite3'}"
    return str(request.getfixturevalue("empty_postgres"))


def move_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_an_archive_from_the_previous_release_is_upgraded_without_losing_a_row(
    empty_database: str,
) -> None:
    engine = open_engine(empty_database)
    try:
        move_to(engine, PREVIOUS_HEAD)
        # What the previous release wrote: a rated handoff with its transcript.
        cid = "o" * 32
        with engine.begin() as db:
            db.execute(
                sql(
                    "INSERT INTO conversations (id, started_at, last_activity_at, state,"
                    " handoff_reason, tags, notes, rating) VALUES"
                    " (:id, :at, :at, 'closed', 'order_delayed', '[\"delay\"]', 'refunded', 5)"
                ),
                {"id": cid, "at": NOW - DAY_MS},
            )
            db.execute(
                sql(
                    "INSERT INTO entries (conversation_id, entry_id, at, sender, kind, text)"
                    " VALUES (:id, :eid, :at, 'customer', 'message', 'where is my lamp?')"
                ),
                {"id": cid, "eid": f"{NOW - DAY_MS}-0", "at": NOW - DAY_MS},
            )
        assert current_revision(engine) == PREVIOUS_HEAD != head_revision()

        migrate(engine)  # what the new release does at start
        assert current_revision(engine) == head_revision()
        archive = ArchiveStore(engine)
        stored = archive.conversation(cid)
        assert stored is not None
        assert (stored["rating"], stored["tags"], stored["notes"]) == (5, ["delay"], "refunded")
        assert [e["text"] for e in stored["transcript"]] == ["where is my lamp?"]
        assert (stored["follow_up_rating"], stored["follow_up_rated_at"]) == (None, None)
        assert on(archive, 7, NOW - DAY_MS, "conversations", *RATINGS) == {
            "conversations": 1,
            "rated": 1,
            "rating_sum": 5,
            "satisfied": 1,
        }
        # The old conversation's customer answers its follow-up after the upgrade.
        archive.record(
            [ConversationFacts(cid, NOW, follow_up_rating=2, follow_up_rated_at=NOW)],
            [a_follow_up_answer(cid, 2, 0, NOW)],
        )
        assert on(archive, 7, NOW, *RATINGS) == {"rated": 1, "rating_sum": 2, "satisfied": 0}

        # Going back a release keeps the conversations and their transcripts too.
        move_to(engine, PREVIOUS_HEAD, down=True)
        with engine.connect() as db:
            assert db.execute(sql("SELECT rating FROM conversations")).scalars().all() == [5]
            assert db.execute(sql("SELECT count(*) FROM entries")).scalar() == 2
    finally:
        engine.dispose()


# --- waits, responses and tickets over long periods -------------------------------------------

S = 1000  # a second, in ms
# Noon, three days before NOW: a day's timings stay on that day unless a test says otherwise.
NOON = (NOW // DAY_MS - 3) * DAY_MS + 12 * 3600 * S


def moved(cid: str, at: int, state: str) -> EntryRecord:
    """A move's event in the transcript, as the archiver copies it (ConversationStore.move)."""
    fields = {"kind": "event", "from": "system", "text": f"now {state}", "at": str(at)}
    return entry_record(cid, f"{at}-0", {**fields, "event": "state", "state": state})


def a_timed_chat(
    cid: str,
    queued: int,
    moves: list[tuple[int, str]],
    replies: list[int],
    *,
    assigned: int | None = None,
    closed: int | None = None,
    breached: bool = False,
) -> tuple[list[ConversationFacts], list[EntryRecord]]:
    """A chat handed over at `queued`, its later moves and its agent's replies, copied as the
    archiver copies them: the hash's clocks (with the sweeper's breach mark on this wait when
    `breached`) and the transcript."""
    fields = {"created_at": str(queued - 5 * S), "state": "queued", "reason": "human_request"}
    latest = max([queued, *replies, *(at for at, _ in moves), closed or 0])
    fields |= {"queued_at": str(queued), "updated_at": str(latest)}
    if assigned:
        fields |= {"assigned_at": str(assigned), "state": "assigned"}
    if closed:
        fields |= {"closed_at": str(closed), "state": "closed"}
    if breached:
        fields["breached_first"] = str(queued)
    records = [moved(cid, queued + 1, "queued")] + [moved(cid, at, to) for at, to in moves]
    records += [entry(cid, 0, "Hello, I'm on it.", sender="agent", at=at) for at in replies]
    records.append(entry(cid, 0, "thanks!", at=queued + 2 * S))  # the customer's: no reply
    return [facts_from_hash(cid, fields)], records


def a_timed_week(archive: ArchiveStore) -> None:
    """Three days ago, seven times with a person (seconds after entering the queue):
    1  taken at 40, answered at 70 (and 100), closed at 400, within the target;
    2  taken at 20, answered late at 200 (breached), handed to another agent at 300, closed
       at 500 (handled 200 s by the last);
    3  left the queue at 10, left a message at 50; an agent took that ticket at 55 and answered
       at 60: a first response in time, but no wait ended by a person;
    4  still waiting, its target passed (breached);
    5  archived before whether the target passed was kept: answered at 90, not in the share;
    7  entered the queue ten seconds before midnight, answered 30 s later, the next day.
    Ten days ago (outside a week): 8, taken at 5, answered at 6, closed at 50. Across the
    week's start: 9, taken at 40 and answered at 50 before it, closed an hour into it."""
    t = NOON
    archive.record(
        *a_timed_chat(
            "1" * 32,
            t,
            [(t + 40 * S, "assigned")],
            [t + 70 * S, t + 100 * S],
            assigned=t + 40 * S,
            closed=t + 400 * S,
        )
    )
    archive.record(
        *a_timed_chat(
            "2" * 32,
            t,
            [(t + 20 * S, "assigned"), (t + 300 * S, "assigned")],
            [t + 200 * S],
            assigned=t + 300 * S,
            closed=t + 500 * S,
            breached=True,
        )
    )
    facts, records = a_timed_chat(
        "3" * 32,
        t,
        [(t + 10 * S, "bot"), (t + 55 * S, "assigned")],
        [t + 60 * S],
        assigned=t + 55 * S,
    )
    ticket = {
        "kind": "event",
        "from": "system",
        "text": "Thanks",
        "at": str(t + 50 * S),
        "event": "ticket_created",
    }
    archive.record(facts, [*records, entry_record("3" * 32, f"{t + 50 * S}-1", ticket)])
    archive.record(*a_timed_chat("4" * 32, t, [], [], breached=True))
    facts, records = a_timed_chat("5" * 32, t, [], [t + 90 * S])
    archive.record([ConversationFacts("5" * 32, t, queued_at=t)], records)
    midnight = NOON + 12 * 3600 * S
    archive.record(
        *a_timed_chat(
            "7" * 32,
            midnight - 10 * S,
            [(midnight, "assigned")],
            [midnight + 20 * S],
            assigned=midnight,
        )
    )
    old = NOW - 10 * DAY_MS
    archive.record(
        *a_timed_chat(
            "8" * 32,
            old,
            [(old + 5 * S, "assigned")],
            [old + 6 * S],
            assigned=old + 5 * S,
            closed=old + 50 * S,
        )
    )
    start = (NOW // DAY_MS - 6) * DAY_MS - 100 * S
    archive.record(
        *a_timed_chat(
            "9" * 32,
            start,
            [(start + 40 * S, "assigned")],
            [start + 50 * S],
            assigned=start + 40 * S,
            closed=start + 3700 * S,
        )
    )


def test_the_archive_times_waits_responses_and_handling_as_the_live_dashboard_does(
    archive: ArchiveStore,
) -> None:
    a_timed_week(archive)
    week = archived_period(archive.engine, 7, satisfied_from=4, now_ms=NOW)
    assert week.samples == {
        # From entering the queue to a person taking it: not to the customer leaving it (3),
        # nor to a transfer between agents (2).
        "wait_s": {40: 1, 20: 1, 10: 1},
        # To a person's first message after entering the queue, once per time in the queue.
        "first_response_s": {70: 1, 200: 1, 60: 1, 90: 1, 30: 1},
        # From the last person taking the chat to the close; only what happened in the week.
        "handling_s": {360: 1, 200: 1, 3660: 1},
    }
    days = {d["day"]: d for d in week.daily}
    noon, next_day = (
        time.strftime("%Y-%m-%d", time.gmtime(t / 1000)) for t in (NOON, NOON + DAY_MS)
    )
    # Within: 1 and 3 that day, 7 on the next (its reply's day); breached: 2 and 4, on the
    # day their wait began; 5's is not known.
    assert (days[noon]["first_response_within"], days[noon]["first_response_breached"]) == (2, 2)
    assert (days[next_day]["first_response_within"], days[next_day]["first_response_breached"]) == (
        1,
        0,
    )
    assert days[noon]["tickets"] == 1
    assert (
        sum(
            d["tickets"] + d["first_response_within"] + d["first_response_breached"]
            for d in week.daily
        )
        == 6
    )
    # Ten days ago is in a month, not in a week.
    month = archived_period(archive.engine, 30, satisfied_from=4, now_ms=NOW)
    assert month.samples["wait_s"] == {40: 2, 20: 1, 10: 1, 5: 1}
    assert month.samples["handling_s"] == {360: 1, 200: 1, 45: 1, 3660: 1}
    assert sum(d["first_response_within"] for d in month.daily) == 5


def test_an_archive_from_before_the_clocks_has_its_timings_from_the_transcript(
    empty_database: str,
) -> None:
    engine = open_engine(empty_database)
    try:
        move_to(engine, "0002_follow_up_rating")
        # What that release wrote: a chat taken 15 s after entering the queue, answered at 45 s
        # and closed at 300 s; a customer who was never handed over, closed by no one.
        archive = ArchiveStore(engine)
        t, cid = NOON, "q" * 32
        _, records = a_timed_chat(cid, t, [(t + 15 * S, "assigned")], [t + 45 * S])
        archive.record(
            [
                ConversationFacts(
                    cid, t, state="closed", handoff_reason="human_request", closed_at=t + 301 * S
                )
            ],
            records,
        )
        archive.record(*a_left_message("r" * 32, at=t))
        assert current_revision(engine) == "0002_follow_up_rating" != head_revision()

        migrate(engine)  # what the new release does at start
        stored = archive.conversation(cid)
        assert stored is not None and len(stored["transcript"]) == len(records)
        # The queue move's event is a millisecond after the hash's clock.
        assert (stored["queued_at"], stored["assigned_at"]) == (t + 1, t + 15 * S)
        assert stored["first_response_breached"] is None  # never archived: not known
        assert archive.conversation("r" * 32) is not None
        week = archived_period(engine, 7, satisfied_from=4, now_ms=NOW)
        assert week.samples == {
            "wait_s": {14: 1},
            "first_response_s": {44: 1},
            "handling_s": {286: 1},
        }
        assert (
            sum(d["first_response_within"] + d["first_response_breached"] for d in week.daily) == 0
        )
        assert sum(d["tickets"] for d in week.daily) == 1

        # Going back a release keeps the conversations and their transcripts.
        move_to(engine, "0002_follow_up_rating", down=True)
        with engine.connect() as db:
            assert db.execute(sql("SELECT count(*) FROM conversations")).scalar() == 2
            assert db.execute(sql("SELECT count(*) FROM entries")).scalar() == len(records) + 2
    finally:
        engine.dispose()


async def test_the_dashboards_waits_responses_and_tickets_over_a_month_agree_with_the_live_ones(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    await opened_archive(state)
    zoe, session = await agent_online(client, accounts, "zoe", capacity=10)
    # Nobody online: a customer leaves a message (a ticket).
    await zoe.send_json({"type": "presence", "status": "away"})
    await frames_until(zoe, lambda f: f == {"type": "presence", "status": "away"})
    customer, _ = await open_chat(client)
    await customer.send_json({"type": "message", "id": "h", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("event") == "offer_leave_message")
    await customer.send_json(
        {"type": "leave_message", "email": "lou@example.com", "text": "Call me back"}
    )
    await frames_until(customer, lambda f: f.get("event") == "ticket_created")
    await zoe.send_json({"type": "presence", "status": "online"})
    await frames_until(zoe, lambda f: f == {"type": "presence", "status": "online"})
    # Three chats waited 7 s, 11 s and 1000 s (past the 120 s target) for Zoe, who answers
    # each at once and closes it.
    chats = []
    for waited in (7, 11, 1000):
        customer, welcome = await queued_chat(client)
        cid = welcome["conversation"]
        chats.append(cid)
        queued_at = int(time.time() * 1000) - waited * 1000
        await accounts.redis.hset(KEYS.conversation(cid), "queued_at", queued_at)
        await zoe.send_json({"type": "claim", "conversation": cid})
        await frames_until(zoe, lambda f: f.get("type") == "claimed")
        await zoe.send_json({"type": "message", "conversation": cid, "id": "z", "text": "Hi!"})
        await frames_until(zoe, lambda f: f["type"] == "ack")
        await zoe.send_json({"type": "close", "conversation": cid})
        await frames_until(customer, lambda f: f.get("state") == "closed")

    async def stats() -> dict[str, Any]:
        answer = await client.get("/api/stats?days=30", headers=session["headers"])
        assert answer.status == 200, await answer.text()
        figures: dict[str, Any] = await answer.json()
        return figures

    async def archived() -> dict[str, Any] | None:
        figures = await stats()
        copied = (
            figures["archive"]["first_response_within"]
            + figures["archive"]["first_response_breached"]
        )
        return figures if copied == 3 and figures["archive"]["tickets"] == 1 else None

    figures = await polling.until(archived, seconds=15)
    archive = figures["archive"]
    assert figures["median_wait_seconds"] == 11
    # The live samples are taken a moment after the events the archive times.
    for name in ("wait", "first_response", "handling"):
        live, kept = figures[f"median_{name}_seconds"], archive[f"median_{name}_seconds"]
        assert kept is not None and live - 1 <= kept <= live, name
    assert archive["first_response_within_target"] == figures["first_response_within_target"]
    assert archive["first_response_within_target"] == round(2 / 3, 4)
    assert archive["tickets"] == figures["tickets"] == 1
    assert archive["daily"][-1]["tickets"] == 1
    assert archive["daily"][-1]["first_response_within"] == 2
    assert "next_response_within_target" not in archive  # not archived
