"""Conversations stored before they had lifetimes get one, once, at start-up.

Since lifetimes landed, every script that writes a conversation gives its keys the lifetime of
its state (lua/lifetime.lua). A conversation written before that, and never since (a chat that
ended, a tab that was abandoned), still has keys that never expire: nobody can resume it, and it
would stay in Redis for good. At start-up the service scans for them (SCAN, a batch at a time, so
Redis keeps answering everyone else) and gives each the lifetime of its state from now, making it
due for the archive so it is copied before Redis lets it go (lua/keep_stored.lua). A conversation
waiting for or held by a person is left without expiry, as the rule says.

The pass runs in the background and is idempotent (a conversation that already expires is
skipped), so several replicas starting together, or a restart halfway, do no harm; once a pass
has finished, a marker key says so and later starts skip it.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.conversations.keys import CLOSED_CONVERSATION_TTL, CONVERSATION_LIFETIME, Keys
from handoff.conversations.store import conversation_script, now_ms

log = logging.getLogger(__name__)

# Keys examined per SCAN call: small enough that Redis answers others in between.
SCAN_BATCH = 500
# The marker's version: a later change of the rule would scan again under a new one.
RULE_VERSION = "1"


async def give_stored_conversations_lifetimes(
    redis: Redis, keys: Keys, stop: asyncio.Event | None = None
) -> int:
    """Give every conversation without an expiry the lifetime of its state; the number given.
    Returns early (with what it did) when `stop` is set."""
    marker = keys.lifetimes_pass
    if await redis.get(marker) == RULE_VERSION:
        return 0
    script = redis.register_script(conversation_script("keep_stored.lua"))
    given = 0
    pattern = keys.conversation("*")
    async for key in redis.scan_iter(match=pattern, count=SCAN_BATCH, _type="HASH"):
        if stop is not None and stop.is_set():
            return given
        cid = str(key).removeprefix(keys.conversation(""))
        if ":" in cid:  # another key under the conversation's name (its log, its seen hash)
            continue
        given += int(
            await script(
                keys=[keys.conversation(cid), keys.log(cid), keys.seen(cid), keys.archive_due],
                args=[cid, CONVERSATION_LIFETIME, CLOSED_CONVERSATION_TTL, now_ms()],
            )
        )
    await redis.set(marker, RULE_VERSION)
    if given:
        log.info("gave %d conversations stored before lifetimes their lifetime", given)
    return given


async def run_lifetimes_pass(redis: Redis, keys: Keys, stop: asyncio.Event) -> None:
    """The start-up pass, as a background task: a Redis error is logged (the next start
    tries again), never raised into the service."""
    try:
        await give_stored_conversations_lifetimes(redis, keys, stop)
    except RedisError as error:
        log.warning(
            "lifetimes pass stopped by a Redis error (tried again at the next start): %s", error
        )
