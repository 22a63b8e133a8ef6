"""Agent presence (online, away, offline) and the heartbeat that keeps a console counted as there.

While a console socket is open its agent's heartbeat is refreshed; the sweeper
(console/sweeper.py) takes an agent whose heartbeat is older than the grace period offline.
Only online agents take chats: by a claim, a transfer to them or auto-assign.
"""

from __future__ import annotations

import asyncio
from typing import Literal, get_args

from redis.exceptions import RedisError

from handoff.background import stop_if_cancelled
from handoff.console.sessions import SessionAgent
from handoff.conversations.store import now_ms
from handoff.state import AppState

PresenceStatus = Literal["online", "away", "offline"]
PRESENCE: tuple[PresenceStatus, ...] = get_args(PresenceStatus)


def heartbeat_interval(state: AppState) -> float:
    """Every 10 s, or a third of the grace period if that is shorter (at least 0.2 s)."""
    return max(0.2, min(10.0, state.settings.agent_grace_seconds / 3))


async def presence_of(state: AppState, name: str) -> str:
    return str(await state.redis.hget(state.keys.presence, name) or "offline")


async def is_online(state: AppState, name: str) -> bool:
    return await presence_of(state, name) == "online"


async def beat(state: AppState, name: str) -> None:
    await state.redis.zadd(state.keys.heartbeat, {name: now_ms()})


async def keep_beating(state: AppState, name: str) -> None:
    """The heartbeat of one open console, until cancelled; a Redis blip skips a beat."""
    while True:
        try:
            await beat(state, name)
        except RedisError:
            stop_if_cancelled()
        await asyncio.sleep(heartbeat_interval(state))


async def set_presence(state: AppState, name: str, status: PresenceStatus) -> None:
    # The beat first: the other way round, the sweeper could find the agent just set online
    # with a stale heartbeat in between, and take them offline again.
    await beat(state, name)
    await state.redis.hset(state.keys.presence, name, status)


async def tell_teams(state: AppState, agent: SessionAgent) -> None:
    """Wake the agent's teams' queues after their presence changed (auto-assign may pick them)."""
    for team in agent.account.teams:
        await state.store.publish({"q": team})
