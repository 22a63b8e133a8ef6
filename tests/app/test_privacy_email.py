"""Export and erasure reach the email channel: a customer's mails (waiting or sent), their
follow-up and the marks of where their sockets were are exported with their conversation and go
with it; so do the records a conversation leaves behind once its chat has left Redis (the
archive keeps the chat): mails, follow-up, ticket, unanswered question, Rasa's tracker. A mail
to the customer's address is theirs whichever chat it came from."""

from __future__ import annotations

import json

from handoff.editor import unanswered
from handoff.email.follow_up import schedule
from handoff.email.outbox import queue_email
from handoff.state import AppState, app_state
from tests.app.chats import admin_of, live_chat, post
from tests.app.conftest import AppFactory
from tests.support import polling
from vocabulary.rasa_keys import rasa_tracker_key

EMAIL = "dana.erase@example.com"
ORDER = "HG-10042"


async def test_erasing_a_customer_takes_their_mails_follow_up_and_socket_marks(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    headers = await admin_of(client)
    cid = await live_chat(state, "my lamp is broken")
    await state.store.set_fields(cid, {"customer_email": EMAIL})
    mail_id = await queue_email(state, cid, kind="agent", subject="Your lamp", body="Sorry!")
    follow_up = await schedule(state, cid, days=3, by="ops")
    await state.redis.zadd(state.keys.customer_sockets(cid), {"left": 1})
    other = await live_chat(state)
    await state.store.set_fields(other, {"customer_email": "someone.else@example.com"})
    kept = await queue_email(state, other, kind="agent", subject="Yours", body="Hello")

    document = await post(client, "/api/privacy/export", headers, email=EMAIL)
    assert [m["id"] for m in document["emails"]] == [mail_id]
    assert document["emails"][0]["subject"] == "Your lamp"
    assert [f["conversation"] for f in document["follow_ups"]] == [cid]
    erased = (await post(client, "/api/privacy/erase", headers, email=EMAIL))["erased"]
    assert erased["emails"] == 1
    assert not await state.redis.exists(state.keys.mail(mail_id))
    assert await state.redis.zscore(state.keys.mail_due, mail_id) is None
    assert not await state.redis.exists(state.keys.follow_up(str(follow_up["id"])))
    assert not await state.redis.exists(state.keys.customer_sockets(cid))
    assert await state.redis.exists(state.keys.mail(kept)), "another customer's mail stays"


async def gone_from_redis(state: AppState, cid: str) -> None:
    """The chat's own keys expire (a closed chat may be kept a day) once the archive has it;
    its emails, follow-up, ticket, unanswered question and Rasa's tracker stay behind."""

    async def archived() -> bool:
        assert state.archive is not None
        copy = state.archive.conversation(cid)
        settled = await state.redis.zscore(state.keys.archive_due, cid) is None
        return settled and copy is not None and copy["order_number"] == ORDER

    await polling.until(archived, seconds=15)
    await state.redis.delete(
        state.keys.conversation(cid), state.keys.log(cid), state.keys.seen(cid)
    )


async def test_a_customer_who_asks_after_their_chat_left_redis_loses_what_it_left_behind(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    headers = await admin_of(client)
    cid = await live_chat(state, "my lamp is broken")
    await state.store.set_fields(cid, {"verified_order": ORDER})
    # Nothing of these names the order: the conversation is what links them to the customer.
    ticket = await state.queue.leave_message(cid, EMAIL, "Please call me back.")
    question = await unanswered.record(
        state.redis, state.keys, cid, "do you ship to Mars", "fallback"
    )
    mail_id = await queue_email(state, cid, kind="agent", subject="Your lamp", body="Sorry!")
    follow_up = str((await schedule(state, cid, days=3, by="ops"))["id"])
    tracker = rasa_tracker_key(state.keys.prefix, cid)
    await state.redis.set(tracker, json.dumps({"sender_id": cid, "events": []}))
    someone_else = await live_chat(state, "hello")
    await state.queue.leave_message(someone_else, "kim@example.com", "Please call me back.")
    kept = await queue_email(state, someone_else, kind="agent", subject="Yours", body="Hello")
    await gone_from_redis(state, cid)

    document = await post(client, "/api/privacy/export", headers, order_number=ORDER)
    assert document["live_conversations"] == {}
    assert [c["id"] for c in document["archived_conversations"]] == [cid]
    assert [t["id"] for t in document["tickets"]] == [ticket]
    assert [q["id"] for q in document["unanswered_questions"]] == [question]
    assert [(m["id"], m["body"]) for m in document["emails"]] == [(mail_id, "Sorry!")]
    assert [f["id"] for f in document["follow_ups"]] == [follow_up]
    assert list(document["assistant_trackers"]) == [cid]

    erased = (await post(client, "/api/privacy/erase", headers, order_number=ORDER))["erased"]
    assert erased == {
        "live_conversations": 0,
        "archived_conversations": 1,
        "assistant_trackers": 1,
        "tickets": 1,
        "unanswered_questions": 1,
        "emails": 1,
        "follow_ups": 1,
        "order_lookups": 0,
    }
    assert not await state.redis.exists(
        state.keys.mail(mail_id), state.keys.follow_up(follow_up), tracker
    )
    assert [t["conversation"] for _, t in await state.redis.xrange(state.keys.tickets)] == [
        someone_else
    ]
    assert all(
        q["conversation"] != cid for _, q in await state.redis.xrange(state.keys.faq_unanswered)
    )
    assert await state.redis.exists(state.keys.mail(kept)), "another customer's mail stays"


async def test_an_email_to_the_customers_address_is_theirs_whatever_the_chat(
    make_client: AppFactory,
) -> None:
    # An agent wrote to the address a customer gave in someone else's chat ("email my partner"),
    # and that chat no longer says so: the mail went to them, so it is theirs.
    client = await make_client()
    state = app_state(client.server.app)
    headers = await admin_of(client)
    cid = await live_chat(state, "please also send it to my partner")
    await state.store.set_fields(cid, {"customer_email": "kim@example.com"})
    mail_id = await queue_email(state, cid, kind="agent", subject="Hi", body="Hello", to=EMAIL)
    kims = await queue_email(state, cid, kind="agent", subject="Hi", body="Hello")

    document = await post(client, "/api/privacy/export", headers, email=EMAIL.upper())
    assert document["live_conversations"] == {}
    assert [m["id"] for m in document["emails"]] == [mail_id]
    assert (await post(client, "/api/privacy/erase", headers, email=EMAIL))["erased"]["emails"] == 1
    assert not await state.redis.exists(state.keys.mail(mail_id))
    assert await state.redis.exists(state.keys.mail(kims)), "Kim's own mail stays"
