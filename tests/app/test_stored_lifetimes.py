"""Conversations stored before lifetimes existed get one at start-up, once: a chat with the
assistant its resume lifetime, a closed one the closed retention, each made due for the archive;
one waiting for or held by a person stays without expiry; one that already expires is untouched."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from handoff.conversations.keys import CLOSED_CONVERSATION_TTL, CONVERSATION_LIFETIME, Keys
from handoff.conversations.lifetimes import give_stored_conversations_lifetimes
from handoff.state import app_state
from tests.app.conftest import AppFactory


async def stored_before_lifetimes(redis: Redis, keys: Keys, cid: str, state: str) -> None:
    """A conversation as the service stored it before lifetimes: keys that never expire."""
    await redis.hset(keys.conversation(cid), mapping={"state": state, "team": "support"})
    await redis.xadd(keys.log(cid), {"kind": "message", "from": "customer", "text": "hi"})
    await redis.hset(keys.seen(cid), "c1", "1-0")


async def test_stored_conversations_get_the_lifetime_of_their_state_once(
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
        # Done once: a later start does not scan again.
        await stored_before_lifetimes(redis, keys, "e" * 32, "bot")
        assert await give_stored_conversations_lifetimes(redis, keys) == 0
    finally:
        await redis.aclose()


async def test_the_service_runs_the_pass_at_start_up(make_client: AppFactory) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    # Written after the pass had run at this start (the marker is set), so it stays without
    # expiry until the next start; a start with the marker gone gives it its lifetime.
    deadline = time.monotonic() + 10
    while await state.redis.get(state.keys.lifetimes_pass) is None:
        assert time.monotonic() < deadline, "the start-up pass never finished"
        await asyncio.sleep(0.05)
    await stored_before_lifetimes(state.redis, state.keys, "f" * 32, "bot")
    await state.redis.delete(state.keys.lifetimes_pass)
    await make_client()
    deadline = time.monotonic() + 10
    while await state.redis.ttl(state.keys.conversation("f" * 32)) == -1:
        assert time.monotonic() < deadline, "the second start never gave it a lifetime"
        await asyncio.sleep(0.05)
