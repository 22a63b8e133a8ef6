"""Is the customer still there? Where a conversation's customer sockets are, across replicas.

An agent's message goes out by email too when the customer has had no socket for
EMAIL_AFTER_AWAY_SECONDS (docs/email.md, "Continuity"). A socket lives on one replica, so each
replica keeps, per conversation, how many of the customer's sockets it holds
(`AppState.customers_here`) and marks them in Redis, `{p}:conv:{cid}:sockets`:

    <replica>  -> when its first socket of the conversation opened (ms)
    "left"     -> when the last socket of a replica closed

and, once per BEAT_SECONDS for all of them, when it last beat, `{p}:replica:<replica>:seen`.
The customer is here while a replica marked on the conversation beat within STALE_SECONDS (a
replica that died stops beating and ages out); otherwise they have been away since the newest
of the marks and those replicas' last beats. A conversation without marks (its customer never
had a socket since, or the marks expired) counts as away for ever.

One beat for the replica, not one write per open chat: a replica holding a thousand chats
beat two thousand commands every ten seconds, a ninth of its CPU when idle
(bench/results/2026-12-07-serving-profile-idle.md). The marks live as long as a chat with the
assistant is kept after its last write (RESUME_TOKEN_TTL_SECONDS), so they never outlive the
conversation they describe; their lifetime is renewed every quarter of it (at most every
CHAT_MARKS_RENEWED seconds), not at every beat.
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
CHAT_MARKS_RENEWED = 600.0


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


async def beat(state: AppState, renew_chats: bool) -> None:
    """This replica is alive: its customers are here. With `renew_chats`, the lifetime of every
    conversation's marks it holds is renewed too (beat_renews says when)."""
    name, ttl = replica_name(state), state.settings.resume_token_ttl
    async with state.redis.pipeline(transaction=False) as pipe:
        pipe.set(state.keys.replica_seen(name), now_ms(), ex=ttl)
        if renew_chats:
            for cid in list(state.customers_here):
                pipe.expire(state.keys.customer_sockets(cid), ttl)
        await pipe.execute()


def renewal_gap(state: AppState) -> float:
    """Seconds between renewals of the chats' marks: a quarter of their lifetime, at most
    CHAT_MARKS_RENEWED (a short lifetime, in tests, is renewed at every beat)."""
    return min(state.settings.resume_token_ttl / 4, CHAT_MARKS_RENEWED)


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
    replicas = [member for member, _ in marks if member != LEFT]
    beats = (
        await state.redis.mget([state.keys.replica_seen(r) for r in replicas]) if replicas else []
    )
    last_beat = dict(zip(replicas, beats, strict=True))
    now = now_ms()
    newest = 0.0
    for member, marked in marks:
        seen = float(marked)
        if member != LEFT:
            beat_at = last_beat.get(member)
            seen = max(seen, float(beat_at) if beat_at else 0.0)
            if now - seen < STALE_SECONDS * 1000:
                return None
        newest = max(newest, seen)
    if not newest:
        return float("inf")
    return max(0.0, (now - newest) / 1000)
