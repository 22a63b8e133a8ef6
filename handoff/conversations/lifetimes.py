"""Conversations stored without a lifetime get one: at start-up, and again daily.

Since lifetimes landed, every script that writes a conversation gives its keys the lifetime of
its state (lua/lifetime.lua). A conversation written before that, and never since (a chat that
ended, a tab that was abandoned), still has keys that never expire: nobody can resume it, and it
would stay in Redis for good. At start-up the service scans for them (SCAN, a batch at a time, so
Redis keeps answering everyone else) and gives each the lifetime of its state from now, making it
due for the archive so it is copied before Redis lets it go (lua/keep_stored.lua). A conversation
waiting for or held by a person is left without expiry, as the rule says.

The pass runs in the background and is idempotent (a conversation that already expires is
skipped), so several replicas starting together, or a restart halfway, do no harm. A marker key
says a pass ran (or is running): one replica scans, the others skip. The marker lasts a day,
not for good, and every replica looks for it hourly: during a rolling update, replicas of the
release before lifetimes keep creating conversations without expiry after the first new replica
scanned, and a pass a day later gives those theirs too. Re-running costs one SCAN of the
keyspace a day for the whole service, and a script call only per conversation found without
expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.background import stop_if_cancelled
from handoff.conversations.keys import CONVERSATION_LIFETIME, Keys
from handoff.conversations.store import conversation_script, now_ms

log = logging.getLogger(__name__)

# Keys examined per SCAN call: small enough that Redis answers others in between.
SCAN_BATCH = 500
# The marker's value once a pass finished: which rule it applied.
RULE_VERSION = "1"
# A finished pass holds the marker this long; one under way holds it for PASS_CLAIM_SECONDS at
# a time (renewed while it scans), so a replica that dies mid-pass leaves it to another soon.
PASS_KEPT_SECONDS = 24 * 3600
PASS_CLAIM_SECONDS = 600
RUNNING = "running"
# How often each replica looks for the marker (and runs the pass when it is gone).
PASS_CHECK_SECONDS = 3600.0


async def give_stored_conversations_lifetimes(
    redis: Redis,
    keys: Keys,
    stop: asyncio.Event | None = None,
    lifetime: int = CONVERSATION_LIFETIME,
) -> int:
    """Give every conversation without an expiry the lifetime of its state; the number given.
    `lifetime` is the deployment's resume lifetime (RESUME_TOKEN_TTL_SECONDS) and the closed
    one comes with `keys`, so the pass gives what the service's own writes would give.
    Returns early (with what it did) when `stop` is set."""
    marker = keys.lifetimes_pass
    if await redis.ttl(marker) == -1:
        # A marker set for good by an earlier release: replicas of that release may still be
        # creating conversations without expiry.
        await redis.delete(marker)
    if not await redis.set(marker, RUNNING, nx=True, ex=PASS_CLAIM_SECONDS):
        return 0  # done lately, or another replica is at it
    script = redis.register_script(conversation_script("keep_stored.lua"))
    given = seen = 0
    pattern = keys.conversation("*")
    async for key in redis.scan_iter(match=pattern, count=SCAN_BATCH, _type="HASH"):
        if stop is not None and stop.is_set():
            await redis.delete(marker)  # unfinished: the next replica to look runs it
            return given
        seen += 1
        if seen % SCAN_BATCH == 0:
            await redis.expire(marker, PASS_CLAIM_SECONDS)
        cid = str(key).removeprefix(keys.conversation(""))
        if ":" in cid:  # another key under the conversation's name (its log, its seen hash)
            continue
        given += int(
            await script(
                keys=[keys.conversation(cid), keys.log(cid), keys.seen(cid), keys.archive_due],
                args=[cid, lifetime, keys.closed_lifetime, now_ms()],
            )
        )
    await redis.set(marker, RULE_VERSION, ex=PASS_KEPT_SECONDS)
    if given:
        log.info("gave %d conversations stored without a lifetime their lifetime", given)
    return given


async def run_lifetimes_pass(
    redis: Redis, keys: Keys, stop: asyncio.Event, lifetime: int = CONVERSATION_LIFETIME
) -> None:
    """The pass as a background task: at start-up, then whenever a replica finds the marker
    gone (looked for every PASS_CHECK_SECONDS). A Redis error is logged (the next look tries
    again), never raised into the service."""
    while not stop.is_set():
        try:
            await give_stored_conversations_lifetimes(redis, keys, stop, lifetime)
        except RedisError as error:
            stop_if_cancelled()
            log.warning("lifetimes pass stopped by a Redis error (tried again later): %s", error)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PASS_CHECK_SECONDS)
