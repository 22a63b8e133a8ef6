"""The archive in the running service: every conversation reaches it within seconds of each
change, whole (transcript, packet, notes, tags, rating); agents find it through the console API;
an archive that cannot be written loses nothing and keeps the conversation alive in Redis; one
conversation the database refuses is parked and does not hold up the others; a database down
when the service starts lets no due chat expire meanwhile; with the archive off, nothing piles
up in Redis for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis
from sqlalchemy import create_engine, text

from handoff.archive import archiver as archiver_module
from handoff.archive import service
from handoff.archive.archiver import BATCH, facts_from_hash
from handoff.archive.database import migrate, open_engine
from handoff.archive.service import archiver_for
from handoff.archive.store import ArchiveStore
from handoff.archive.writing import ConversationFacts
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.state import app_state
from tests.app.chats import live_chat, opened_archive
from tests.app.conftest import AppFactory
from tests.app.protocol import AGENT, CheckedSocket, open_chat
from tests.support import polling
from tests.support.clients import PASSWORD, frames_until, login
from tests.support.fake_rasa import FakeRasa, handoff_on

KEYS = Keys("ha")
HANDOFF = {"reason": "human_request", "summary": "Customer asked for a person.", "intents": []}


@pytest.fixture
def handoff_bot(rasa: tuple[FakeRasa, str]) -> FakeRasa:
    rasa[0].replies = handoff_on("human", {**HANDOFF, "slots": {}})
    return rasa[0]


@pytest.fixture
async def accounts(redis_url: str) -> AsyncIterator[Accounts]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    yield Accounts(redis, KEYS)
    await redis.aclose()


until = partial(polling.until, seconds=15.0, every=0.2)


async def test_a_closed_chat_is_archived_whole_and_agents_find_it(
    make_client: AppFactory, accounts: Accounts, handoff_bot: FakeRasa
) -> None:
    client: TestClient = await make_client()
    await accounts.create("ned", PASSWORD, display_name="Ned")
    session = await login(client, "ned")
    raw = await client.ws_connect("/ws/agent", headers={"Cookie": f"ha_session={session['sid']}"})
    agent = CheckedSocket(raw, AGENT)
    await agent.receive_json(timeout=5)
    await agent.send_json({"type": "presence", "status": "online"})
    await frames_until(agent, lambda f: f["type"] == "presence")

    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "m1", "text": "my lamp arrived cracked"})
    await frames_until(customer, lambda f: f.get("text") == "echo: my lamp arrived cracked")
    await customer.send_json({"type": "message", "id": "m2", "text": "a human please"})
    await frames_until(customer, lambda f: f.get("state") == "queued")
    await agent.send_json({"type": "claim", "conversation": cid})
    await frames_until(agent, lambda f: f["type"] == "claimed")
    await agent.send_json(
        {"type": "close", "conversation": cid, "notes": "sent a new lamp", "tags": ["damaged"]}
    )
    await frames_until(customer, lambda f: f.get("state") == "closed")
    await customer.send_json({"type": "rating", "score": 4, "comment": "fine"})
    await frames_until(customer, lambda f: f.get("event") == "rated")

    async def archived() -> dict[str, Any] | None:
        response = await client.get(f"/api/archive/conversations/{cid}", headers=session["headers"])
        if response.status != 200:
            return None
        found: dict[str, Any] = (await response.json())["conversation"]
        return found if found.get("rating") == 4 else None

    stored = await until(archived)
    texts = [e["text"] for e in stored["transcript"]]
    assert "my lamp arrived cracked" in texts and "echo: my lamp arrived cracked" in texts
    assert stored["state"] == "closed" and stored["notes"] == "sent a new lamp"
    assert stored["tags"] == ["damaged"] and stored["rating_comment"] == "fine"
    assert stored["handoff_reason"] == "human_request" and stored["agent"] == "ned"
    assert stored["packet"]["summary"].startswith("Customer asked for a person: “")
    assert stored["packet"]["asked"] == [], "the lamp was answered by the echo, not a topic"

    found = await client.get(
        "/api/archive/conversations?q=CRACKED&tag=damaged", headers=session["headers"]
    )
    assert [c["id"] for c in (await found.json())["conversations"]] == [cid]
    refused = await client.get(
        "/api/archive/conversations?from=yesterday", headers=session["headers"]
    )
    assert refused.status == 400
    assert (await client.get("/api/archive/conversations")).status == 401


class FailingFirst(ArchiveStore):
    """An archive whose first writes fail, as a database that is down would."""

    def __init__(self, store: ArchiveStore, failures: int) -> None:
        super().__init__(store.engine)
        self.failures = failures

    def record(self, *args: Any, **kwargs: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("the archive database is down")
        super().record(*args, **kwargs)


async def test_an_archive_that_cannot_be_written_loses_nothing_and_keeps_the_chat_alive(
    make_client: AppFactory, tmp_path: Path
) -> None:
    # The service's own archiver is off: this test drives one round at a time.
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    engine = open_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    migrate(engine)
    # Each failing round costs two writes: the batch, and the empty one asking if it is down.
    failing = FailingFirst(ArchiveStore(engine), failures=4)
    archiver = archiver_for(state, failing)
    archiver.settle_ms = 0

    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "m1", "text": "where is my parcel"})
    await frames_until(customer, lambda f: f.get("text") == "echo: where is my parcel")
    # A short remaining lifetime, as if the customer left long ago.
    for key in (KEYS.conversation(cid), KEYS.log(cid)):
        await state.redis.expire(key, 30)

    assert await archiver.run_once() == 0  # the database is down
    assert await state.redis.zscore(KEYS.archive_due, cid) is not None
    assert await state.redis.ttl(KEYS.log(cid)) > 30  # kept alive while it is not archived
    await archiver.run_once()  # down again
    assert await archiver.run_once() == 1  # back: everything goes in
    stored = failing.conversation(cid)
    assert stored is not None
    assert [e["text"] for e in stored["transcript"] if e["from"] != "system"] == [
        "where is my parcel",
        "echo: where is my parcel",
    ]
    assert await state.redis.zscore(KEYS.archive_due, cid) is None

    # A write after the copy makes it due again, and only the new entry is copied next.
    await customer.send_json({"type": "message", "id": "m2", "text": "thanks"})
    await frames_until(customer, lambda f: f.get("text") == "echo: thanks")
    assert await archiver.run_once() == 1
    stored = failing.conversation(cid)
    assert stored is not None and stored["transcript"][-1]["text"] == "echo: thanks"
    engine.dispose()


async def test_archived_conversations_are_purged_after_the_retention_period(
    make_client: AppFactory,
) -> None:
    # A retention of a minute: the service's purge comes by itself every six seconds. An archived
    # conversation whose last activity is two minutes old goes; one from just now stays. (Going
    # through a live chat instead made the test a race between the archiver's copy and a purge
    # seconds later on a busy machine.)
    client: TestClient = await make_client(archive_retention_days=60 / 86_400)
    state = app_state(client.server.app)
    now = int(time.time() * 1000)
    old, recent = "a" * 32, "b" * 32
    (await opened_archive(state)).record(
        [
            ConversationFacts(old, now - 120_000, state="closed"),
            ConversationFacts(recent, now, state="closed"),
        ]
    )

    async def purged() -> bool:
        assert state.archive is not None
        return state.archive.conversation(old) is None

    assert await until(purged, seconds=30)
    assert state.archive.conversation(recent) is not None


def test_the_privacy_command_line_exports_and_erases_with_confirmation(
    redis_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HARBOR_VAR_DIR": str(tmp_path),
        "HANDOFF_SECRET": "a-test-secret-that-is-long-enough-for-settings",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "handoff.archive", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    out = tmp_path / "export.json"
    exported = cli("export", "--email", "Sam@Example.com", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text())
    assert document["subject"] == {"kind": "email", "value": "sam@example.com"}
    refused = cli("erase", "--email", "sam@example.com", "--actor", "ops")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    erased = cli("erase", "--email", "sam@example.com", "--actor", "ops", "--yes")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["live_conversations"] == 0
    bad = cli("export", "--order", "no digits")
    assert bad.returncode == 2 and "order number" in bad.stderr


async def test_a_conversation_the_database_refuses_is_parked_and_the_others_archived(
    make_client: AppFactory, archive: ArchiveStore
) -> None:
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    archiver = archiver_for(state, archive)
    archiver.settle_ms = 0
    others = [await live_chat(state, f"question {n}") for n in range(4)]
    # A NUL stored before the gateway refused them (or by an agent): PostgreSQL refuses NUL in
    # text, so the archive keeps it visible as U+FFFD instead of refusing the conversation.
    await state.store.append(others[0], "agent", "pasted\x00text")
    refused = await live_chat(state, "hello")
    if archive.engine.dialect.name == "sqlite":
        with archive.engine.begin() as db:
            db.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON entries"
                    " WHEN NEW.text LIKE '%unstorable%' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        await state.store.append(refused, "customer", "this is unstorable")
    else:  # PostgreSQL refuses an address longer than its column of its own accord
        await state.store.set_fields(refused, {"customer_email": "x" * 300 + "@example.com"})
    for key in (KEYS.conversation(refused), KEYS.log(refused)):
        await state.redis.expire(key, 30)  # little lifetime left

    assert await archiver.run_once() == 4
    for cid in others:
        assert archive.conversation(cid) is not None
    stored = archive.conversation(others[0])
    assert stored is not None and "pasted\ufffdtext" in [e["text"] for e in stored["transcript"]]
    assert archive.conversation(refused) is None
    assert await state.redis.ttl(KEYS.log(refused)) > 30, "kept alive while it is not archived"
    retry_at = await state.redis.zscore(KEYS.archive_due, refused)
    assert retry_at is not None and retry_at > time.time() * 1000 + 20_000, "parked for a while"
    assert await archiver.parked() == 1
    assert await archiver.run_once() == 0, "not tried again before its time"

    # Tried again at its time and refused again: parked for longer.
    assert await archiver.run_once(now_ms=int(retry_at) + 1) == 0
    assert await state.redis.zscore(KEYS.archive_due, refused) > time.time() * 1000 + 45_000

    # Once the database takes it, it is archived.
    if archive.engine.dialect.name == "sqlite":
        with archive.engine.begin() as db:
            db.execute(text("DROP TRIGGER refuse"))
    else:
        await state.store.set_fields(refused, {"customer_email": "kim@example.com"})
    assert await archiver.run_once(now_ms=int(time.time() * 1000) + 3_600_000) == 1
    assert archive.conversation(refused) is not None
    assert await state.redis.zscore(KEYS.archive_due, refused) is None
    assert await archiver.parked() == 0


def refuse_entries(archive: ArchiveStore, when: str) -> None:
    """The SQLite archive refuses every transcript entry matching `when` (a SQL condition)."""
    with archive.engine.begin() as db:
        db.execute(
            text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN {when}"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )


async def test_a_database_refusing_every_write_parks_nobody(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    archive = ArchiveStore(open_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}"))
    migrate(archive.engine)
    archiver = archiver_for(state, archive)
    archiver.settle_ms = 0
    cids = [await live_chat(state, f"question {n}") for n in range(6)]
    # It answers an empty transaction but refuses every write (a full disk, say): the database,
    # not the conversations, so none of them is parked as bad.
    refuse_entries(archive, "1")
    assert await archiver.run_once() == 0
    assert await archiver.parked() == 0
    due = await state.redis.zrangebyscore(KEYS.archive_due, "-inf", time.time() * 1000)
    assert sorted(due) == sorted(cids), "all still due, at once"
    archive.engine.dispose()


async def test_a_parked_conversation_is_tried_again_before_redis_lets_it_go(
    make_client: AppFactory, tmp_path: Path
) -> None:
    # A deployment that keeps chats with the assistant 40 s (RESUME_TOKEN_TTL_SECONDS).
    client: TestClient = await make_client(archive_database_url="off", resume_token_ttl=40)
    state = app_state(client.app)
    archive = ArchiveStore(open_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}"))
    migrate(archive.engine)
    archiver = archiver_for(state, archive)
    archiver.settle_ms = 0
    refused = await live_chat(state, "this is unstorable")
    await live_chat(state, "fine")
    refuse_entries(archive, "NEW.text LIKE '%unstorable%'")
    assert await archiver.run_once() == 1
    retry_at = await state.redis.zscore(KEYS.archive_due, refused)
    lifetime = await state.redis.ttl(KEYS.conversation(refused))
    assert retry_at is not None and 0 < lifetime <= 40
    assert retry_at <= time.time() * 1000 + lifetime * 1000 / 2 + 1000, "tried before it expires"
    archive.engine.dispose()


async def test_while_the_database_is_down_every_due_conversation_is_kept_alive(
    make_client: AppFactory, tmp_path: Path
) -> None:
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    # A database that cannot be opened (its folder does not exist): down.
    down = ArchiveStore(create_engine(f"sqlite:///{tmp_path / 'gone' / 'archive.sqlite3'}"))
    archiver = archiver_for(state, down)
    archiver.settle_ms = 0
    cids = [await live_chat(state, "hello") for _ in range(BATCH + 50)]
    async with state.redis.pipeline(transaction=False) as pipe:
        for cid in cids:
            pipe.expire(KEYS.conversation(cid), 30).expire(KEYS.log(cid), 30)
        await pipe.execute()

    assert await archiver.run_once() == 0
    async with state.redis.pipeline(transaction=False) as pipe:
        for cid in cids:
            pipe.ttl(KEYS.log(cid))
        lifetimes = await pipe.execute()
    assert min(lifetimes) > 30, "every due conversation kept alive, not only the first batch"
    assert await state.redis.zcard(KEYS.archive_due) == len(cids)
    assert await archiver.parked() == 0, "a database that is down is no reason to park"


async def test_a_customer_who_verified_with_the_assistant_is_archived_with_their_order(
    make_client: AppFactory, tmp_path: Path
) -> None:
    # Verified with the assistant, never handed to a person: no packet, the conversation's
    # `verified_order` names the order.
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    engine = open_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    migrate(engine)
    archive = ArchiveStore(engine)
    archiver = archiver_for(state, archive)
    archiver.settle_ms = 0
    cid = await live_chat(state, "where is my lamp")
    await state.store.set_fields(cid, {"verified_order": "hg 10042"})
    assert await archiver.run_once() == 1
    assert [c["id"] for c in archive.search(order_number="10042")] == [cid]
    engine.dispose()
    # A verified order in the packet wins; a value that is no order number is none.
    packet = json.dumps({"slots": {"order_verified": True, "order_number": "HG-20001"}})
    assert facts_from_hash(cid, {"packet": packet, "verified_order": "HG-10042"}).order_number == (
        "HG-20001"
    )
    assert facts_from_hash(cid, {"verified_order": "unknown"}).order_number is None


async def test_a_message_with_a_control_character_is_refused_and_nothing_stored(
    make_client: AppFactory,
) -> None:
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "nul", "text": "order\x00 HG-10042"})
    refused = (await frames_until(customer, lambda f: f["type"] == "error"))[-1]
    assert refused["code"] == "bad_message" and refused["id"] == "nul"
    assert "control characters" in refused["message"]
    await customer.send_json(
        {"type": "leave_message", "email": "kim\x00@example.com", "text": "call me"}
    )
    assert (await frames_until(customer, lambda f: f["type"] == "error"))[-1]["code"] == "bad_email"
    # Tabs and line breaks are text.
    await customer.send_json({"type": "message", "id": "ok", "text": "line one\r\n\tline two"})
    await frames_until(customer, lambda f: f.get("text") == "echo: line one\r\n\tline two")
    texts = [fields["text"] for _, fields in await state.redis.xrange(KEYS.log(cid))]
    assert "line one\r\n\tline two" in texts
    assert not any("\x00" in t for t in texts)


async def test_with_the_archive_off_due_marks_do_not_pile_up(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "TRIM_EVERY_SECONDS", 0.1)
    client: TestClient = await make_client(archive_database_url="off")
    state = app_state(client.app)
    fresh = await live_chat(state, "hello")
    stale = "f" * 32
    old = time.time() * 1000 - (service.TRIM_OLDER_THAN_SECONDS + 60) * 1000
    await state.redis.zadd(KEYS.archive_due, {stale: old})

    async def trimmed() -> bool:
        return await state.redis.zscore(KEYS.archive_due, stale) is None

    await until(trimmed)
    # The round that took the old mark saw the fresh one: a replica with the archive on would
    # still copy it.
    assert await state.redis.zscore(KEYS.archive_due, fresh) is not None


async def test_a_database_down_at_start_lets_no_due_chat_expire_and_archives_it_once_back(
    make_client: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tries and keep-alive walks a few times a second, for chats with the assistant kept 3 s.
    monkeypatch.setattr(service, "OPEN_RETRY_SECONDS", 0.2)
    monkeypatch.setattr(archiver_module, "KEEP_ALIVE_EVERY_SECONDS", 0.5)
    # The database's file is a folder: SQLite cannot open it, as if its server were down.
    database = tmp_path / "archive" / "archive.sqlite3"
    database.mkdir(parents=True)
    client: TestClient = await make_client(
        archive_database_url=f"sqlite:///{database}", resume_token_ttl=3
    )
    state = app_state(client.app)
    due = await live_chat(state, "where is my parcel")
    control = await live_chat(state, "hello")
    await state.redis.zrem(KEYS.archive_due, control)  # as if archived: nothing keeps it

    async def control_expired() -> bool:
        return not await state.redis.exists(KEYS.conversation(control))

    await until(control_expired)
    assert state.archive is None, "the database is still down"
    assert await state.redis.exists(KEYS.conversation(due), KEYS.log(due)) == 2, "kept alive"

    database.rmdir()  # the database is back

    async def archived() -> bool:
        return state.archive is not None and state.archive.conversation(due) is not None

    await until(archived)
    stored = state.archive.conversation(due) if state.archive else None
    assert stored is not None and stored["transcript"][-1]["text"] == "where is my parcel"
