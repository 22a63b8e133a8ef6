"""The console's periodic work: chats of agents gone past the grace period go back to the front
of their queue, (with AUTO_ASSIGN) waiting chats go to the least-loaded online agent, and chats
whose customer has waited past the response-time target are reported once.

`start_sweeping` hooks this into the app's sweeper (app._sweep_forever, every 2 s).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from handoff.console.accounts import Account
from handoff.console.chat_actions import claim
from handoff.console.presence import heartbeat_interval, is_online
from handoff.console.queue_view import breach_hint, clock_of
from handoff.console.sessions import accounts_of
from handoff.conversations.store import is_conversation_id, load_script, now_ms
from handoff.queue.targets import CLOCK_FIELDS
from handoff.state import AppState, app_state

# Requeued chats (agent gone past the grace period) go ahead of every normal priority-0 chat:
# their queue time is shifted this far into the past (ms), keeping their order among themselves.
FRONT_OF_LINE_SHIFT = 10**12
DISCONNECTED_TEXT = (
    "Your agent was disconnected. You're first in line for the next available person."
)
# The sweeper runs every 2 s (app._sweep_forever); a longer gap between two successful rounds
# means Redis (or this process) was unavailable in between.
SWEEP_GAP_SECONDS = 3.0


async def sweep_agents(state: AppState, requeue: bool = True) -> None:
    """Requeue the chats of agents gone past the grace period; optionally auto-assign.

    With `requeue` false, stale heartbeats are left alone this round (see `start_sweeping`).
    """
    keys = state.keys
    cutoff = now_ms() - int(state.settings.agent_grace_seconds * 1000)
    stale = (
        [str(n) for n in await state.redis.zrangebyscore(keys.heartbeat, "-inf", cutoff)]
        if requeue
        else []
    )
    agent_gone = state.redis.register_script(load_script("agent_gone.lua"))
    for name in stale:
        # Decided again in Redis: a console that beat since the list above was read keeps its
        # agent online and their chats.
        if not await agent_gone(keys=[keys.heartbeat, keys.presence], args=[name, cutoff]):
            continue
        for cid in [str(c) for c in await state.redis.smembers(keys.agent_chats(name))]:
            conversation = await state.store.get(cid)
            if conversation is None:
                await state.redis.srem(keys.agent_chats(name), cid)
                continue
            team = conversation.get("team") or state.settings.default_team
            queued_at = int(conversation.get("queued_at") or now_ms())
            result = await state.store.move(
                cid,
                allowed=["assigned"],
                new_state="queued",
                expected_agent=name,
                priority=0,
                queued_at=max(1, queued_at - FRONT_OF_LINE_SHIFT),
                # The new wait (and its first response) count from now; the score above keeps
                # the chat at the front of the line.
                fields={"queued_at": now_ms()},
                event_text=DISCONNECTED_TEXT,
                event={"reason": "agent_disconnected"},
            )
            if result.ok:
                await state.store.publish({"q": team})
        # Only forget the heartbeat if no console of theirs beat meanwhile.
        await state.redis.zremrangebyscore(keys.heartbeat, "-inf", cutoff)
    if state.settings.auto_assign:
        for team in state.settings.teams:
            await auto_assign(state, team)


# What a breach check reads of each chat: its clock, where it is, its title, the breach marks.
BREACH_FIELDS = (*CLOCK_FIELDS, "team", "agent", "customer_name", "breached_first", "breached_next")
# Chats read per pipeline. Building, reading and checking a thousand at once held the event
# loop for tens of milliseconds every 2 s, and every message relayed meanwhile waited: the
# relay's p99 (issue 20). In batches, the loop serves the sockets between two.
BREACH_READ_BATCH = 100


async def sweep_breaches(state: AppState) -> int:
    """Report every chat whose customer has waited past the target for a reply: the breach is
    marked on the conversation (so among all replicas' sweepers, and a late reply, one counts
    it, in the dashboard's share and the metric) and hinted to the consoles that see the chat
    (`breach` frame). Counting it here, not at the reply, is what puts a wait that is never
    answered (the customer left the queue or closed the chat) into the share.

    Every chat a person may owe a reply is in a team queue or an agent's chats, so one round
    reads those sets and then every such chat, BREACH_READ_BATCH to a pipeline: a few hundred
    small reads every 2 s, bounded by the agents' capacity and the queues. Returns how many
    breaches it marked.
    """
    keys = state.keys
    chats: set[str] = set()
    for team in state.settings.teams:
        chats.update(cid for cid, _ in await state.store.waiting(team, limit=1000))
    names = [str(n) for n in await state.redis.smembers(keys.agents)]
    async with state.redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.smembers(keys.agent_chats(name))
        for assigned in await pipe.execute():
            chats.update(str(c) for c in assigned)
    ordered = sorted(c for c in chats if is_conversation_id(c))
    # The time is taken before the chats are read: a clock seen running and overdue at `now`
    # was still running once `now` had passed, so a reply that stops it after the read is late
    # as well (targets.ResponseClock.overdue) and never counted within its target too.
    now = now_ms()
    marked = 0
    for start in range(0, len(ordered), BREACH_READ_BATCH):
        batch = ordered[start : start + BREACH_READ_BATCH]
        async with state.redis.pipeline(transaction=False) as pipe:
            for cid in batch:
                pipe.hmget(keys.conversation(cid), list(BREACH_FIELDS))
            rows = await pipe.execute()
        hints = [
            hint
            for cid, row in zip(batch, rows, strict=True)
            if (hint := await _mark_breach(state, cid, row, now)) is not None
        ]
        if hints:
            # One hint for the batch: after an outage hundreds of waits breach in one round,
            # and a hint each would queue ahead of every message's hint on the live channel.
            await state.store.publish({"breaches": hints})
        marked += len(hints)
    return marked


async def _mark_breach(
    state: AppState, cid: str, row: list[Any], now: int
) -> dict[str, Any] | None:
    """Mark the chat's breach if its clock (BREACH_FIELDS, as read) is overdue and no replica
    has counted this wait yet; the breach's hint for the consoles when this call did."""
    conversation = {f: str(v) for f, v in zip(BREACH_FIELDS, row, strict=True) if v is not None}
    clock = clock_of(state, conversation)
    if clock is None or not clock.overdue(now):
        return None
    seen = conversation.get(clock.breach_marker())
    if not await state.queue.mark_breach(cid, clock, seen):
        return None
    state.metrics.response_breached(clock.kind, clock.priority)
    return breach_hint(cid, conversation, clock)


async def auto_assign(state: AppState, team: str, limit: int = 20) -> int:
    """Give the team's waiting chats, first first, to its least-loaded online agents."""
    accounts = accounts_of(state)
    assigned = 0
    for _ in range(limit):
        waiting = await state.store.waiting(team, limit=1)
        if not waiting:
            break
        best: tuple[float, Account] | None = None
        for name in await state.queue.team_agents(team):
            if not await is_online(state, name):
                continue
            account = await accounts.get(name)
            if account is None:
                continue
            load = int(await state.redis.scard(state.keys.agent_chats(name)))
            if load >= account.capacity:
                continue
            ratio = load / account.capacity
            if best is None or ratio < best[0]:
                best = (ratio, account)
        if best is None:
            break
        outcome = await claim(state, best[1], waiting[0][0])
        assigned += outcome.ok
    return assigned


async def start_sweeping(app: web.Application) -> None:
    """On start-up: add the console's round to the app's sweeper."""
    state = app_state(app)
    loop = asyncio.get_running_loop()
    # While Redis was unreachable no console could beat, so every heartbeat looks stale right
    # after it returns. Requeueing then would tell customers their agent vanished when it was
    # Redis that did: give live consoles a heartbeat interval (and a second of slack) to beat
    # again first. Start-up counts as such a return, for consoles reconnecting to this replica.
    settle = heartbeat_interval(state) + 1.0
    last_round = recovered_at = loop.time()

    async def hook() -> None:
        nonlocal last_round, recovered_at
        now = loop.time()
        if now - last_round > SWEEP_GAP_SECONDS:
            recovered_at = now
        await sweep_agents(state, requeue=now - recovered_at >= settle)
        await sweep_breaches(state)
        last_round = loop.time()

    state.sweep_hooks.append(hook)
