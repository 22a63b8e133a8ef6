"""Export and erasure reach the email channel: a customer's mails (waiting or sent), their
follow-up and the marks of where their sockets were are exported with their conversation and go
with it."""

from __future__ import annotations

import asyncio
import time

from handoff.console.accounts import Accounts
from handoff.email.follow_up import schedule
from handoff.email.outbox import queue_email
from handoff.state import app_state
from tests.app.conftest import AppFactory
from tests.support.clients import PASSWORD, login

EMAIL = "dana.erase@example.com"


async def test_erasing_a_customer_takes_their_mails_follow_up_and_socket_marks(
    make_client: AppFactory,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    deadline = time.monotonic() + 15
    while state.archive is None:  # erasure records itself in the archive
        assert time.monotonic() < deadline, "the archive never opened"
        await asyncio.sleep(0.05)
    await Accounts(state.redis, state.keys).create("ops", PASSWORD, role="admin")
    settings = state.settings
    cid = str(
        await state.store.create(
            settings.default_team,
            lifetime=settings.resume_token_ttl,
            max_entries=settings.max_transcript_entries,
        )
    )
    await state.store.append(cid, "customer", "my lamp is broken")
    await state.store.set_fields(cid, {"customer_email": EMAIL})
    mail_id = await queue_email(state, cid, kind="agent", subject="Your lamp", body="Sorry!")
    follow_up = await schedule(state, cid, days=3, by="ops")
    await state.redis.zadd(state.keys.customer_sockets(cid), {"left": 1})
    other = str(
        await state.store.create(
            settings.default_team,
            lifetime=settings.resume_token_ttl,
            max_entries=settings.max_transcript_entries,
        )
    )
    await state.store.set_fields(other, {"customer_email": "someone.else@example.com"})
    kept = await queue_email(state, other, kind="agent", subject="Yours", body="Hello")

    session = await login(client, "ops")
    exported = await client.post(
        "/api/privacy/export", json={"email": EMAIL}, headers=session["headers"]
    )
    assert exported.status == 200, await exported.text()
    document = await exported.json()
    assert [m["id"] for m in document["emails"]] == [mail_id]
    assert document["emails"][0]["subject"] == "Your lamp"
    assert [f["conversation"] for f in document["follow_ups"]] == [cid]
    answer = await client.post(
        "/api/privacy/erase", json={"email": EMAIL}, headers=session["headers"]
    )
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["erased"]["emails"] == 1
    assert not await state.redis.exists(state.keys.mail(mail_id))
    assert await state.redis.zscore(state.keys.mail_due, mail_id) is None
    assert not await state.redis.exists(state.keys.follow_up(str(follow_up["id"])))
    assert not await state.redis.exists(state.keys.customer_sockets(cid))
    assert await state.redis.exists(state.keys.mail(kept)), "another customer's mail stays"
