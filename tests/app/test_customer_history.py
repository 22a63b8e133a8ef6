"""A live chat's customer history (GET /api/conversations/{cid}/customer): a verified customer is
recognised by their order's email (as the order store has it) across conversations, with their
earlier conversations and ratings from the archive and the messages they left; an address typed
with a message proves nothing and reveals nothing of its owner; a customer who proved nothing is
nobody, and nothing leaks into another visitor's chat."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.exc import OperationalError

from handoff.archive.writing import ConversationFacts
from handoff.console.accounts import Accounts
from handoff.state import AppState, app_state
from tests.app.chats import opened_archive
from tests.app.conftest import AppFactory
from tests.support.clients import PASSWORD, login

EMAIL = "lucas.muller37@example.com"


async def ready(make_client: AppFactory, **overrides: Any) -> tuple[TestClient, AppState]:
    client = await make_client(**overrides)
    state = app_state(client.server.app)
    if overrides.get("archive_database_url") != "off":
        await opened_archive(state)
    accounts = Accounts(state.redis, state.keys)
    await accounts.create("ops", PASSWORD, display_name="Olu", role="admin")
    await accounts.create("alex", PASSWORD, display_name="Alex", role="agent")
    await accounts.create("eddie", PASSWORD, display_name="Eddie", role="editor")
    return client, state


async def chat(state: AppState, **fields: str) -> str:
    cid = str(
        await state.store.create(
            state.settings.default_team,
            lifetime=state.settings.resume_token_ttl,
            max_entries=state.settings.max_transcript_entries,
        )
    )
    await state.store.append(cid, "customer", "hello")
    if fields:
        await state.store.set_fields(cid, fields)
    return cid


async def history(client: TestClient, cid: str, user: str = "ops") -> dict[str, Any]:
    session = await login(client, user)
    response = await client.get(f"/api/conversations/{cid}/customer", headers=session["headers"])
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_a_verified_customer_is_known_with_earlier_chats_ratings_and_tickets(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client)
    cid = await chat(
        state, customer_email=EMAIL, customer_name="Lucas Müller", verified_order="HG-10008"
    )
    assert state.archive is not None
    now = int(time.time() * 1000)
    theirs = {"customer_email": EMAIL, "order_number": "HG-10008"}
    state.archive.record(
        [
            ConversationFacts("a" * 32, now - 9000, state="closed", rating=5, **theirs),
            ConversationFacts("b" * 32, now - 5000, state="closed", rating=3, **theirs),
            # Hana proved her own order (HG-10064), then typed Lucas's address with a message:
            # filed under his address, her chat is still not his history.
            ConversationFacts(
                "c" * 32, now - 4000, state="closed", customer_email=EMAIL, order_number="HG-10064"
            ),
            # Their live chat, already archived once: never listed as its own history.
            ConversationFacts(cid, now, state="queued", **theirs),
            ConversationFacts(
                "d" * 32, now, state="closed", rating=1, customer_email="x@y.example"
            ),
            # Somebody mailed support from Lucas's address, or typed it with a message, and
            # proved no order: not Lucas's history, whatever address it is filed under.
            ConversationFacts("e" * 32, now - 3000, state="closed", rating=1, customer_email=EMAIL),
        ]
    )
    await state.redis.xadd(
        state.keys.tickets,
        {"conversation": "b" * 32, "email": EMAIL.upper(), "text": "my mug arrived cracked"},
    )
    await state.redis.xadd(
        state.keys.tickets,
        {"conversation": "e" * 32, "email": EMAIL, "text": "ship to my new flat"},
    )
    await state.redis.xadd(state.keys.tickets, {"email": "x@y.example", "text": "not theirs"})

    found = await history(client, cid)
    # The order's email finds the history and is never shown: it is what ownership is proved with.
    assert found["customer"] == {
        "name": "Lucas Müller",
        "email": "",
        "verified_order": "HG-10008",
        "known_by": "verified order",
    }
    assert EMAIL not in json.dumps(found).lower()
    assert [c["id"] for c in found["conversations"]] == ["b" * 32, "a" * 32]
    assert found["ratings"] == {"count": 2, "average": 4.0}
    assert [t["text"] for t in found["tickets"]] == ["my mug arrived cracked"]
    assert found["archive"] == "ok"


async def test_a_customer_who_proved_nothing_is_nobody_and_sees_nobody_elses_history(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client)
    assert state.archive is not None
    state.archive.record([ConversationFacts("e" * 32, 1, state="closed", customer_email=EMAIL)])
    cid = await chat(state)
    found = await history(client, cid)
    assert found["customer"] is None
    assert found["conversations"] == [] and found["tickets"] == []


async def known_customer_elsewhere(state: AppState) -> None:
    """Lucas's rated chat in the archive and a message he left in another chat."""
    assert state.archive is not None
    state.archive.record(
        [ConversationFacts("a" * 32, 1, state="closed", rating=5, customer_email=EMAIL)]
    )
    await state.redis.xadd(
        state.keys.tickets, {"conversation": "b" * 32, "email": EMAIL, "text": "lucas's own words"}
    )


async def test_a_typed_address_of_a_known_customer_reveals_nothing_of_theirs(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client)
    await known_customer_elsewhere(state)
    # A visitor leaves a message with Lucas's address: anyone can type anyone's.
    cid = await chat(state)
    await state.queue.leave_message(cid, EMAIL.upper(), "please call me back")
    found = await history(client, cid)
    assert found["customer"] == {
        "name": "",
        "email": EMAIL,
        "verified_order": "",
        "known_by": "email left with a message, not verified",
    }
    # Only what was left in this very chat; nothing of Lucas's.
    assert [t["text"] for t in found["tickets"]] == ["please call me back"]
    assert found["conversations"] == [] and found["ratings"] == {"count": 0, "average": None}
    assert "lucas's own words" not in json.dumps(found)


async def test_an_address_typed_after_verifying_does_not_change_whose_history_it_is(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client)
    await known_customer_elsewhere(state)
    # Hana proved HG-10064 (hana.patel70@example.com) and then left a message typing Lucas's
    # address, which replaces the conversation's customer_email.
    cid = await chat(
        state,
        verified_order="HG-10064",
        customer_name="Hana Patel",
        customer_email="hana.patel70@example.com",
    )
    await state.queue.leave_message(cid, EMAIL, "reply to this address please")
    found = await history(client, cid)
    assert found["customer"]["known_by"] == "verified order"
    assert found["customer"]["name"] == "Hana Patel"
    assert found["conversations"] == []
    assert [t["text"] for t in found["tickets"]] == ["reply to this address please"]
    assert "lucas's own words" not in json.dumps(found)


async def test_an_email_left_with_a_message_is_named_without_the_archive(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client, archive_database_url="off")
    cid = await chat(state)
    await state.queue.leave_message(cid, "dana@example.com", "call me")
    found = await history(client, cid)
    assert found["customer"]["known_by"] == "email left with a message, not verified"
    assert found["archive"] == "off" and found["conversations"] == []
    assert [t["text"] for t in found["tickets"]] == ["call me"]


async def test_roles_and_conversations_are_checked_as_for_every_chat(
    make_client: AppFactory,
) -> None:
    client, state = await ready(make_client)
    cid = await chat(state, customer_email=EMAIL, customer_name="Lucas Müller")
    assert (await client.get(f"/api/conversations/{cid}/customer")).status == 401
    editor = await login(client, "eddie")
    refused = await client.get(f"/api/conversations/{cid}/customer", headers=editor["headers"])
    assert refused.status == 403
    agent = await login(client, "alex")
    forged = await client.get(f"/api/conversations/{'f' * 32}/customer", headers=agent["headers"])
    assert forged.status == 404
    # A chat waiting in nobody's hands is not alex's to read yet, unless it is queued for them.
    await state.store.set_fields(cid, {"state": "assigned", "agent": "someone-else"})
    other = await client.get(f"/api/conversations/{cid}/customer", headers=agent["headers"])
    assert other.status == 403


async def test_an_archive_that_fails_costs_the_history_never_the_tickets(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state = await ready(make_client)
    assert state.archive is not None

    def down(**_: Any) -> list[dict[str, Any]]:
        raise OperationalError("SELECT", {}, Exception("the archive database is down"))

    monkeypatch.setattr(state.archive, "search", down)
    cid = await chat(state, customer_email=EMAIL, verified_order="HG-10008")
    await state.redis.xadd(
        state.keys.tickets, {"conversation": cid, "email": EMAIL, "text": "still waiting"}
    )
    found = await history(client, cid)
    assert found["archive"] == "unavailable" and found["conversations"] == []
    assert [t["text"] for t in found["tickets"]] == ["still waiting"]


async def test_with_the_order_store_down_a_verified_customer_is_found_by_their_order(
    make_client: AppFactory, closed_port: int
) -> None:
    client, state = await ready(
        make_client,
        orders_database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port}/orders",
    )
    await known_customer_elsewhere(state)
    assert state.archive is not None
    state.archive.record(
        [ConversationFacts("c" * 32, 2, state="closed", rating=4, order_number="HG-10008")]
    )
    cid = await chat(state, verified_order="HG-10008", customer_name="Lucas Müller")
    found = await history(client, cid)
    assert found["customer"] == {
        "name": "Lucas Müller",
        "email": "",
        "verified_order": "HG-10008",
        "known_by": "verified order",
    }
    # Without the order's email: the conversations of that order, no tickets of other chats.
    assert [c["id"] for c in found["conversations"]] == ["c" * 32]
    assert found["tickets"] == []
