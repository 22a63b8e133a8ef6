"""The archive in the running service: every conversation reaches it within seconds of each
change, whole (transcript, packet, notes, tags, rating); agents find it through the console API;
an archive that cannot be written loses nothing and keeps the conversation alive in Redis."""

from __future__ import annotations

import asyncio
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

from handoff.archive.database import migrate, open_engine
from handoff.archive.service import archiver_for
from handoff.archive.store import ArchiveStore
from handoff.archive.writing import ConversationFacts
from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.state import app_state
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
    failing = FailingFirst(ArchiveStore(engine), failures=2)
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
    deadline = time.monotonic() + 15
    while state.archive is None:
        assert time.monotonic() < deadline, "the archive never opened"
        await asyncio.sleep(0.05)
    now = int(time.time() * 1000)
    old, recent = "a" * 32, "b" * 32
    state.archive.record(
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
