"""Export and erasure find every conversation of a customer and no one else's: an order number
however it was written, an email address only whole, every archived conversation that mentions
them however many there are; an erasure that cannot reach the archive erases nothing and says
so; the conversation's rate-limit counters go with it; the order panel's audit keeps who looked
but not the customer's order number."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from handoff.archive import privacy
from handoff.archive.service import archiver_for
from handoff.archive.store import ArchiveStore
from handoff.archive.writing import ConversationFacts, EntryRecord
from handoff.console.orders import FOUND, NOT_MENTIONED, record_lookup
from handoff.state import app_state
from tests.app.chats import admin_of, live_chat, post
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until

NOW = int(time.time() * 1000)


def archived(archive: ArchiveStore, cid: str, text: str, at: int = NOW) -> None:
    archive.record(
        [ConversationFacts(cid, at, state="closed")],
        [EntryRecord(cid, f"{at}-0", at, "customer", "message", text)],
    )


async def test_an_order_number_is_found_however_it_was_written_and_only_whole(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    assert state.archive is not None
    theirs = {
        await live_chat(state, "where is hg 10042?"),
        await live_chat(state, "order HG10042 is late"),
        await live_chat(state, "It's #10042"),
        await live_chat(state, "hello", "my order: 10042."),
    }
    not_theirs = {
        await live_chat(state, "order HG-210042 please"),
        await live_chat(state, "tracking UP10042 and zip 10043"),
    }
    archived(state.archive, "a" * 32, "the lamp from hg10042 arrived cracked")
    archived(state.archive, "b" * 32, "refund for Hg 10042 please")
    archived(state.archive, "c" * 32, "call me on 5551004299")  # the digits inside a number

    # The service's archiver copies the live chats too, as it goes: the archive holds the
    # subject's live chats (at some point) and the two archived ones, never someone else's.
    document = await post(client, "/api/privacy/export", headers, order_number="hg-10042")
    assert set(document["live_conversations"]) == theirs
    found = {c["id"] for c in document["archived_conversations"]}
    assert found - theirs == {"a" * 32, "b" * 32}

    erased = (await post(client, "/api/privacy/erase", headers, order_number="10042"))["erased"]
    assert erased["live_conversations"] == 4 and erased["archived_conversations"] >= 2
    for cid in theirs:
        assert not await state.redis.exists(state.keys.conversation(cid))
        assert state.archive.conversation(cid) is None, "its archived copy goes too"
    for cid in not_theirs:
        assert await state.redis.exists(state.keys.conversation(cid)), "someone else's chat"
    assert state.archive.conversation("a" * 32) is None
    assert state.archive.conversation("b" * 32) is None
    assert state.archive.conversation("c" * 32) is not None, "someone else's archived chat"


async def test_an_email_address_is_found_only_whole(make_client: AppFactory) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    assert state.archive is not None
    theirs = await live_chat(state, "write to AM@example.com please")
    others = {
        await live_chat(state, "I'm sam@example.com"),
        await live_chat(state, "am@example.com.au is mine"),
    }
    archived(state.archive, "d" * 32, "reach me at am@example.com.")
    archived(state.archive, "e" * 32, "reach me at pam@example.com")

    document = await post(client, "/api/privacy/export", headers, email="am@example.com")
    assert set(document["live_conversations"]) == {theirs}
    found = {c["id"] for c in document["archived_conversations"]}
    assert found - {theirs} == {"d" * 32}, f"not {others}, nor pam's"


async def test_every_archived_conversation_mentioning_the_customer_is_erased(
    make_client: AppFactory,
) -> None:
    # More than one page of the archive's search (200): the erasure goes on to the last.
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    assert state.archive is not None
    mentioning = [f"{n:032x}" for n in range(230)]
    state.archive.record(
        [ConversationFacts(cid, NOW - n, state="closed") for n, cid in enumerate(mentioning)],
        [
            EntryRecord(cid, f"{NOW - n}-0", NOW - n, "customer", "message", "order hg 10042")
            for n, cid in enumerate(mentioning)
        ],
    )
    exported = await post(client, "/api/privacy/export", headers, order_number="HG-10042")
    assert len(exported["archived_conversations"]) == 230

    erased = (await post(client, "/api/privacy/erase", headers, order_number="HG-10042"))["erased"]
    assert erased["archived_conversations"] == 230
    assert state.archive.search(text="10042") == []


async def test_an_erasure_or_export_with_the_archive_down_does_nothing_and_says_so(
    make_client: AppFactory,
) -> None:
    # A database nobody answers on: the archive never opens.
    client = await make_client(archive_database_url="postgresql+psycopg2://x@127.0.0.1:9/none")
    headers = await admin_of(client, archive_open=False)
    state = app_state(client.server.app)
    cid = await live_chat(state, "my email is kim@example.com")

    response = await client.post(
        "/api/privacy/erase", json={"email": "kim@example.com"}, headers=headers
    )
    assert response.status == 503
    assert "archive" in (await response.json())["message"]
    assert await state.redis.exists(state.keys.conversation(cid)), "nothing is erased"
    # An export without the archived conversations would not be everything held.
    response = await client.post(
        "/api/privacy/export", json={"email": "kim@example.com"}, headers=headers
    )
    assert response.status == 503
    assert "nothing was exported" in (await response.json())["message"]


async def test_an_erased_conversations_rate_limit_counters_go_with_it(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    customer, welcome = await open_chat(client)
    cid = welcome["conversation"]
    await customer.send_json({"type": "message", "id": "m1", "text": "I'm lee@example.com"})
    await frames_until(customer, lambda f: f.get("text") == "echo: I'm lee@example.com")
    other, other_welcome = await open_chat(client)
    await other.send_json({"type": "message", "id": "m1", "text": "hello"})
    await frames_until(other, lambda f: f.get("text") == "echo: hello")
    # The previous window's counter is alive too (counters live two windows).
    window = int(time.time()) // state.limits.window
    await state.redis.set(state.keys.ratelimit("conv-msg", f"{cid}:{window - 1}"), 3, ex=120)

    def counters_of(conversation: str) -> Any:
        return state.redis.keys(state.keys.ratelimit("*", f"{conversation}:*"))

    assert len(await counters_of(cid)) == 2
    await post(client, "/api/privacy/erase", headers, email="lee@example.com")
    assert await counters_of(cid) == []
    assert len(await counters_of(other_welcome["conversation"])) == 1, "another chat's counter"


async def test_a_conversation_erased_while_the_archiver_copies_it_stays_erased(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    assert state.archive is not None
    cid = await live_chat(state, "my email is kim@example.com")
    # A replica's archiver has read the conversation and is writing its copy when the erasure
    # runs: the erasure deletes Redis and the archive's rows, then the copy lands.
    copying = ArchiveStore(state.archive.engine)
    archiver = archiver_for(state, copying)
    archiver.settle_ms = 0
    loop = asyncio.get_running_loop()
    write_copy = copying.record
    answers: list[Any] = []

    def erased_before_the_copy_lands(*args: Any) -> None:
        erasure = post(client, "/api/privacy/erase", headers, email="kim@example.com")
        answers.append(asyncio.run_coroutine_threadsafe(erasure, loop).result(timeout=30))
        write_copy(*args)

    monkeypatch.setattr(copying, "record", erased_before_the_copy_lands)
    assert await archiver.run_once() == 1
    assert answers[0]["erased"]["live_conversations"] == 1
    assert state.archive.conversation(cid) is None, "the copy written after the erasure is gone"
    assert state.archive.search(text="kim@example.com") == []


async def test_an_erasure_blanks_the_order_number_in_the_order_panels_audit(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    theirs = await live_chat(state, "where is my lamp, hg 10042?")
    other = await live_chat(state, "and my chair, HG-10077?")
    caplog.set_level("INFO", logger="handoff.console.orders")
    await record_lookup(state, "ann", theirs, "HG-10042", FOUND)
    await record_lookup(state, "ann", theirs, "HG-10015", NOT_MENTIONED)  # in their chat
    await record_lookup(state, "bob", other, "HG-10077", FOUND)
    await record_lookup(state, "bob", other, "HG-10042", NOT_MENTIONED)  # their order
    # The log line names the chat, never the order: an erasure could not reach it.
    lines = [r.getMessage() for r in caplog.records if r.name == "handoff.console.orders"]
    assert len(lines) == 4 and f"conversation={theirs}" in lines[0]
    # (Whole numbers only: a conversation id is hex and may hold "100" by chance.)
    orders = re.compile(r"(?<![0-9a-fA-F])(?:HG-?)?(?:10042|10015|10077)(?![0-9a-fA-F])")
    assert not any(orders.search(line) for line in lines), lines

    document = await post(client, "/api/privacy/export", headers, order_number="HG-10042")
    assert [(e["agent"], e["order"]) for e in document["order_lookups"]] == [
        ("ann", "HG-10042"),
        ("ann", "HG-10015"),
        ("bob", "HG-10042"),
    ]
    erased = (await post(client, "/api/privacy/erase", headers, order_number="HG-10042"))["erased"]
    assert erased["order_lookups"] == 3
    await record_lookup(state, "cy", other, "HG-10077", FOUND)  # after the erasure: the newest

    audit = await client.get("/api/audit/order-lookups", headers=headers)
    assert audit.status == 200
    # Who looked, when, in which chat and with what outcome stay, in their order.
    assert [
        (e["agent"], e["conversation"], e["order_number"], e["outcome"])
        for e in (await audit.json())["lookups"]
    ] == [
        ("cy", other, "HG-10077", FOUND),
        ("bob", other, "", NOT_MENTIONED),
        ("bob", other, "HG-10077", FOUND),
        ("ann", theirs, "", NOT_MENTIONED),
        ("ann", theirs, "", FOUND),
    ]
    after = await post(client, "/api/privacy/export", headers, order_number="HG-10042")
    assert after["order_lookups"] == []


async def test_a_lookup_recorded_while_the_erasure_runs_is_blanked_too(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client()
    headers = await admin_of(client)
    state = app_state(client.server.app)
    theirs = await live_chat(state, "where is my lamp, hg 10042?")
    await record_lookup(state, "ann", theirs, "HG-10042", FOUND)
    blank = privacy.blank_order_numbers

    async def an_agent_looks_meanwhile(*args: Any) -> int:
        # After the erasure found what the audit holds, before it blanks: an agent opens the
        # customer's order once more.
        await record_lookup(state, "bob", theirs, "HG-10042", FOUND)
        return await blank(*args)

    monkeypatch.setattr(privacy, "blank_order_numbers", an_agent_looks_meanwhile)
    erased = (await post(client, "/api/privacy/erase", headers, order_number="HG-10042"))["erased"]
    assert erased["order_lookups"] == 2
    audit = await client.get("/api/audit/order-lookups", headers=headers)
    assert [(e["agent"], e["order_number"]) for e in (await audit.json())["lookups"]] == [
        ("bob", ""),
        ("ann", ""),
    ]
