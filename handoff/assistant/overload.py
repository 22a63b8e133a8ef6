"""Graceful overload: a bounded number of bot turns in flight per Rasa replica, the rest in line.

Rasa works on every turn it is sent at once. Past what it can answer, each turn more makes
every turn slower, until the slow ones pass BOT_TURN_TIMEOUT_SECONDS (their customers get an
apology) while Rasa still works on them. So each Rasa replica gets at most BOT_TURNS_IN_FLIGHT
turns at a time from this service replica, and the others wait in line in arrival order. A
conversation has at most one turn in line (the turn lock of handoff/assistant/turns.py), so
first come, first served is also fair between conversations.

The bound is per service replica, not shared through Redis: a place would otherwise cost a Redis
round trip and a lease that outlives a crashed holder, and the service runs as a few replicas
whose count is known. With N replicas, Rasa sees at most N x BOT_TURNS_IN_FLIGHT turns at once.

A turn that waits longer than BOT_BUSY_NOTICE_SECONDS has the customer told the assistant is
busy; one still waiting after BOT_TURN_WAIT_SECONDS is never sent (`AssistantBusy`): the caller
offers a person instead (docs/reliability.md, "Overload").
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from handoff.web.metrics import Metrics


class AssistantBusy(Exception):
    """No place at the Rasa replica came free within the wait bound: the turn was not sent."""


@dataclass
class _Replica:
    """One Rasa replica as this service replica sees it: turns at it, and turns in line."""

    in_flight: int = 0
    # Each waiting turn's future is resolved when a place is handed to it, oldest first.
    line: deque[asyncio.Future[None]] = field(default_factory=deque)


class TurnLine:
    """At most `places` turns at each Rasa replica; the rest wait in line, in arrival order."""

    def __init__(
        self,
        places: int,
        wait_bound: float,
        busy_after: float,
        metrics: Metrics | None = None,
    ) -> None:
        if places < 1:
            raise ValueError("at least one turn must be allowed at a time")
        self.places = places
        self.wait_bound = wait_bound
        self.busy_after = busy_after
        self.metrics = metrics
        self._replicas: dict[str, _Replica] = {}

    @classmethod
    def unbounded(cls) -> TurnLine:
        """No bound (a BotTurns given no line, in tests): every turn goes straight to Rasa."""
        return cls(places=2**62, wait_bound=0.0, busy_after=0.0)

    def waiting(self, replica: str) -> int:
        """Turns in line for `replica` now."""
        return len(self._replicas.get(replica, _Replica()).line)

    @asynccontextmanager
    async def place(
        self,
        replica: str,
        on_busy: Callable[[], Awaitable[None]],
        wait_bound: float | None = None,
    ) -> AsyncIterator[None]:
        """Hold a place at `replica` for the block: at once if one is free and nobody is in line,
        else after the turns ahead. `on_busy` runs once the wait passes `busy_after`. Raises
        AssistantBusy (before the block) if no place came within `wait_bound` (default: the
        line's own)."""
        bound = self.wait_bound if wait_bound is None else wait_bound
        state = self._replicas.setdefault(replica, _Replica())
        await self._enter(replica, state, bound, on_busy)
        try:
            yield
        finally:
            self._hand_on(replica, state)

    async def _enter(
        self,
        replica: str,
        state: _Replica,
        bound: float,
        on_busy: Callable[[], Awaitable[None]],
    ) -> None:
        if state.in_flight < self.places and not state.line:
            state.in_flight += 1
            self._count(replica, state)
            self._waited(replica, "admitted", 0.0)
            return
        if bound <= 0:
            self._shed(replica, 0.0)
            raise AssistantBusy("every place at the assistant is taken")
        loop = asyncio.get_running_loop()
        began = loop.time()
        turn: asyncio.Future[None] = loop.create_future()
        state.line.append(turn)
        self._count(replica, state)
        try:
            async with asyncio.timeout(bound):
                if self.busy_after < bound:
                    # asyncio.wait leaves `turn` alone when it times out: it stays in line.
                    done, _ = await asyncio.wait({turn}, timeout=self.busy_after)
                    if not done:
                        await on_busy()
                await turn
        except TimeoutError:
            pass  # a place handed over just as the bound passed still counts (below)
        except BaseException:
            # Cancelled (the service stopping) or on_busy failed: a place handed to this turn
            # goes on to the next one in line; otherwise the turn just leaves the line.
            if turn.done() and not turn.cancelled():
                self._hand_on(replica, state)
            else:
                self._leave(replica, state, turn)
            raise
        waited = loop.time() - began
        if turn.done() and not turn.cancelled():
            self._waited(replica, "admitted", waited)
            return
        self._leave(replica, state, turn)
        self._shed(replica, waited)
        raise AssistantBusy(f"no place at the assistant within {bound:g} s")

    def _hand_on(self, replica: str, state: _Replica) -> None:
        """A turn left the replica: its place goes to the oldest turn still in line, if any."""
        while state.line:
            turn = state.line.popleft()
            if not turn.done():
                turn.set_result(None)  # the place passes on: in_flight stays as it is
                self._count(replica, state)
                return
        state.in_flight -= 1
        self._count(replica, state)

    def _leave(self, replica: str, state: _Replica, turn: asyncio.Future[None]) -> None:
        turn.cancel()
        if turn in state.line:
            state.line.remove(turn)
        self._count(replica, state)

    def _count(self, replica: str, state: _Replica) -> None:
        if self.metrics is not None:
            self.metrics.bot_turns_in_flight.labels(rasa=replica).set(state.in_flight)
            self.metrics.bot_turns_waiting.labels(rasa=replica).set(len(state.line))

    def _waited(self, replica: str, outcome: str, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.bot_turn_waits.labels(rasa=replica, outcome=outcome).observe(seconds)

    def _shed(self, replica: str, seconds: float) -> None:
        self._waited(replica, "shed", seconds)
        if self.metrics is not None:
            self.metrics.bot_turns_shed.labels(rasa=replica).inc()
