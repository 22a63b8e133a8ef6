"""Is the customer still there? Where a conversation's customer sockets are, across replicas.

An agent's message goes out by email too when the customer has had no socket for
EMAIL_AFTER_AWAY_SECONDS (docs/email.md, "Continuity"). A socket lives on one replica, so each
replica keeps, per conversation, how many of the customer's sockets it holds
(`AppState.customers_here`) and marks them in Redis, `{p}:conv:{cid}:sockets`:

    <replica>  -> last seen (ms)   refreshed every BEAT_SECONDS while it holds a socket
    "left"     -> when the last socket of a replica closed

The customer is here while some replica's mark is fresher than STALE_SECONDS (a replica that
died stops refreshing and ages out); otherwise they have been away since the newest mark. A
conversation without marks (its customer never had a socket since, or the marks expired) counts
as away for ever. The marks live as long as a chat with the assistant is kept after its last
write (RESUME_TOKEN_TTL_SECONDS), so they never outlive the conversation they describe.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import cast

from redis.exceptions import RedisError

from handoff.conversations.store import now_ms
from handoff.state import AppState

BEAT_SECONDS = 10.0
# Three beats missed: the replica holding the socket is gone.
STALE_SECONDS = 3 * BEAT_SECONDS
LEFT = "left"


def replica_name(state: AppState) -> str:
    """This app instance among the replicas (two apps in one test process differ too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{id(state):x}"


async def arrived(state: AppState, cid: str) -> None:
    """A customer socket of `cid` opened on this replica."""
    state.customers_here[cid] = state.customers_here.get(cid, 0) + 1
    await _mark(state, cid, replica_name(state))


async def left(state: AppState, cid: str) -> None:
    """A customer socket of `cid` closed on this replica (best effort: a Redis error leaves the
    replica's mark to age out)."""
    count = state.customers_here.get(cid, 0) - 1
    if count > 0:
        state.customers_here[cid] = count
        return
    state.customers_here.pop(cid, None)
    key = state.keys.customer_sockets(cid)
    with contextlib.suppress(RedisError):
        async with state.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, replica_name(state))
            pipe.zadd(key, {LEFT: now_ms()})
            pipe.expire(key, state.settings.resume_token_ttl)
            await pipe.execute()


async def beat(state: AppState) -> None:
    """Refresh this replica's marks for every conversation whose customer it holds."""
    if not state.customers_here:
        return
    name, now = replica_name(state), now_ms()
    async with state.redis.pipeline(transaction=False) as pipe:
        for cid in list(state.customers_here):
            pipe.zadd(state.keys.customer_sockets(cid), {name: now})
            pipe.expire(state.keys.customer_sockets(cid), state.settings.resume_token_ttl)
        await pipe.execute()


async def _mark(state: AppState, cid: str, member: str) -> None:
    key = state.keys.customer_sockets(cid)
    async with state.redis.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {member: now_ms()})
        pipe.expire(key, state.settings.resume_token_ttl)
        await pipe.execute()


async def away_seconds(state: AppState, cid: str) -> float | None:
    """How long the customer has had no socket; None while one is open (on any replica)."""
    raw = await state.redis.zrange(state.keys.customer_sockets(cid), 0, -1, withscores=True)
    marks = cast(list[tuple[str, float]], raw)
    now = now_ms()
    newest = 0.0
    for member, seen in marks:
        if member != LEFT and now - seen < STALE_SECONDS * 1000:
            return None
        newest = max(newest, float(seen))
    if not newest:
        return float("inf")
    return max(0.0, (now - newest) / 1000)
