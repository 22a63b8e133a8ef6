"""Conversations stored without a lifetime get one at start-up, and again a day later: a chat
with the assistant its resume lifetime, a closed one the closed retention, each made due for the
archive; one waiting for or held by a person stays without expiry; one that already expires is
untouched. A day later, because during a rolling update the replicas of an earlier release keep
creating conversations without expiry after the first pass."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from handoff.conversations import lifetimes
from handoff.conversations.keys import CLOSED_CONVERSATION_TTL, CONVERSATION_LIFETIME, Keys
from handoff.conversations.lifetimes import (
    PASS_KEPT_SECONDS,
    RULE_VERSION,
    give_stored_conversations_lifetimes,
    run_lifetimes_pass,
)
from handoff.state import app_state
from tests.app.conftest import AppFactory


async def stored_before_lifetimes(redis: Redis, keys: Keys, cid: str, state: str) -> None:
    """A conversation as the service stored it before lifetimes: keys that never expire."""
    await redis.hset(keys.conversation(cid), mapping={"state": state, "team": "support"})
    await redis.xadd(keys.log(cid), {"kind": "message", "from": "customer", "text": "hi"})
    await redis.hset(keys.seen(cid), "c1", "1-0")


async def test_stored_conversations_get_the_lifetime_of_their_state_a_day_apart(
    redis_url: str,
) -> None:
    keys = Keys("lifetimes-test")
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        for cid, state in [("a" * 32, "bot"), ("b" * 32, "closed"), ("c" * 32, "queued")]:
            await stored_before_lifetimes(redis, keys, cid, state)
        await redis.hset(keys.conversation("d" * 32), mapping={"state": "bot"})
        await redis.expire(keys.conversation("d" * 32), 50)  # already has its lifetime

        assert await give_stored_conversations_lifetimes(redis, keys) == 2
        for key in (keys.conversation("a" * 32), keys.log("a" * 32), keys.seen("a" * 32)):
            assert CONVERSATION_LIFETIME - 5 < await redis.ttl(key) <= CONVERSATION_LIFETIME
        assert await redis.ttl(keys.log("b" * 32)) > CLOSED_CONVERSATION_TTL - 5
        assert await redis.ttl(keys.conversation("c" * 32)) == -1, "a person is on it"
        assert 0 < await redis.ttl(keys.conversation("d" * 32)) <= 50
        due = set(await redis.zrange(keys.archive_due, 0, -1))
        assert due == {"a" * 32, "b" * 32}, "copied to the archive before Redis lets them go"
        # Done lately: another start does not scan again...
        assert 0 < await redis.ttl(keys.lifetimes_pass) <= PASS_KEPT_SECONDS
        await stored_before_lifetimes(redis, keys, "e" * 32, "bot")  # an old replica's
        assert await give_stored_conversations_lifetimes(redis, keys) == 0
        # ...nor while another replica is at it...
        await redis.set(keys.lifetimes_pass, lifetimes.RUNNING, ex=60)
        assert await give_stored_conversations_lifetimes(redis, keys) == 0
        assert await redis.ttl(keys.conversation("e" * 32)) == -1
        # ...but once the marker has run out (a day), the old replica's chat gets its lifetime,
        # and only it: the others are not given theirs again.
        await redis.delete(keys.lifetimes_pass)
        assert await give_stored_conversations_lifetimes(redis, keys) == 1
        assert await redis.ttl(keys.conversation("e" * 32)) > CONVERSATION_LIFETIME - 5
        # A marker an earlier release set for good does not stop the pass.
        await stored_before_lifetimes(redis, keys, "g" * 32, "bot")
        await redis.set(keys.lifetimes_pass, RULE_VERSION)
        assert await give_stored_conversations_lifetimes(redis, keys) == 1
    finally:
        await redis.aclose()


async def test_a_running_service_runs_the_pass_again_when_the_marker_runs_out(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifetimes, "PASS_CHECK_SECONDS", 0.1)
    keys = Keys("lifetimes-loop")
    redis = Redis.from_url(redis_url, decode_responses=True)
    stop = asyncio.Event()
    task = asyncio.create_task(run_lifetimes_pass(redis, keys, stop))
    try:
        deadline = time.monotonic() + 10
        while await redis.get(keys.lifetimes_pass) != RULE_VERSION:
            assert time.monotonic() < deadline, "the first pass never finished"
            await asyncio.sleep(0.05)
        await stored_before_lifetimes(redis, keys, "h" * 32, "closed")  # an old replica's
        await redis.delete(keys.lifetimes_pass)  # a day later
        while await redis.ttl(keys.conversation("h" * 32)) == -1:
            assert time.monotonic() < deadline, "the pass never ran again"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await redis.aclose()


async def test_the_service_runs_the_pass_at_start_up(make_client: AppFactory) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    # Written after the pass had run at this start (the marker is set), so it stays without
    # expiry until the next start; a start with the marker gone gives it its lifetime.
    deadline = time.monotonic() + 10
    while await state.redis.get(state.keys.lifetimes_pass) != RULE_VERSION:
        assert time.monotonic() < deadline, "the start-up pass never finished"
        await asyncio.sleep(0.05)
    await stored_before_lifetimes(state.redis, state.keys, "f" * 32, "bot")
    await stored_before_lifetimes(state.redis, state.keys, "9" * 32, "closed")
    await state.redis.delete(state.keys.lifetimes_pass)
    # The deployment's own lifetimes, not the defaults: a cluster that keeps chats four hours
    # must not have its old chats kept a week.
    await make_client(resume_token_ttl=4000, closed_conversation_ttl=9000)
    deadline = time.monotonic() + 10
    while await state.redis.get(state.keys.lifetimes_pass) != RULE_VERSION:
        assert time.monotonic() < deadline, "the second start never finished its pass"
        await asyncio.sleep(0.05)
    assert 3990 < await state.redis.ttl(state.keys.conversation("f" * 32)) <= 4000
    assert 8990 < await state.redis.ttl(state.keys.log("9" * 32)) <= 9000
