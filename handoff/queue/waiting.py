"""Waiting in the queue: who can take chats now, the customer's position and the wait estimate,
and whether the team is open at all."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from handoff.queue.stats import QueueStats
from handoff.settings import Settings


@dataclass(frozen=True)
class QueueStatus:
    position: int
    estimate_seconds: int
    free_slots: int

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "queue",
            "position": self.position,
            "estimate_seconds": self.estimate_seconds,
        }


def is_open(settings: Settings, at: dt.datetime | None = None) -> bool:
    windows = settings.business_hours.windows()
    if not windows:
        return True
    local = (at or dt.datetime.now(dt.timezone.utc)).astimezone(
        ZoneInfo(settings.business_hours.timezone)
    )
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in windows.get(local.weekday(), []))


class Waiting(QueueStats):
    _staffing: dict[str, tuple[float, asyncio.Future[tuple[int, float]]]]

    async def team_agents(self, team: str) -> list[str]:
        return [name for name, _ in await self._team_accounts(team)]

    async def _team_accounts(self, team: str) -> list[tuple[str, int]]:
        """(name, capacity) of the team's agents, in two round trips whatever their number:
        every waiting customer's socket asks this when a queue moves."""
        names = sorted(str(n) for n in await self.redis.smembers(self.keys.agents))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hmget(self.keys.agent(name), ["teams", "capacity"])
            rows = await pipe.execute()
        result = []
        for name, (raw_teams, capacity) in zip(names, rows, strict=True):
            teams = json.loads(raw_teams) if raw_teams else [self.settings.default_team]
            if team in teams:
                result.append((name, int(capacity or self.settings.agent_capacity)))
        return result

    async def free_slots(self, team: str) -> tuple[int, int]:
        """(agents online in the team, free chat slots among them)."""
        accounts = await self._team_accounts(team)
        if not accounts:
            return 0, 0
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.keys.presence, [name for name, _ in accounts])
            for name, _ in accounts:
                pipe.scard(self.keys.agent_chats(name))
            presence, *loads = await pipe.execute()
        online = 0
        free = 0
        for (_, capacity), status, load in zip(accounts, presence, loads, strict=True):
            if status != "online":
                continue
            online += 1
            free += max(0, capacity - int(load))
        return online, free

    async def staffing(self, team: str, fresh_after: float | None = None) -> tuple[int, float]:
        """(free chat slots in the team, average handling seconds).

        When a queue moves, every waiting customer's socket on this replica asks for this at
        once. A computation that started after `fresh_after` (loop time, e.g. when the caller
        heard of the move) already reflects the move, so those callers share one.
        """
        loop = asyncio.get_running_loop()
        started, task = self._staffing.get(team, (-1.0, None))
        if (
            task is None
            or fresh_after is None
            or started < fresh_after
            or (task.done() and (task.cancelled() or task.exception() is not None))
        ):
            started, task = loop.time(), asyncio.ensure_future(self._staffing_now(team))
            self._staffing[team] = (started, task)
        return await asyncio.shield(task)

    async def _staffing_now(self, team: str) -> tuple[int, float]:
        _, free = await self.free_slots(team)
        return free, await self.average_handling_seconds()

    async def status(
        self, cid: str, team: str, fresh_after: float | None = None
    ) -> QueueStatus | None:
        position = await self.store.queue_position(cid, team)
        if position is None:
            return None
        free, handling = await self.staffing(team, fresh_after)
        # With F free slots, the customer at position P waits for about (P-1)/F chats to finish
        # before theirs starts; with none free, for P chats to end one handling time at a time.
        slots = max(free, 1)
        estimate = ((position - 1) / slots + (0 if free else 1)) * handling
        if free and position <= free:
            estimate = 0
        return QueueStatus(position, int(estimate), free)
