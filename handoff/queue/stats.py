"""Dashboard counters and samples of the live queue, kept per day in Redis.

Waits, first responses and handling times are kept per day as a histogram of whole seconds in
the day's stats hash: `<name>:<seconds>` -> how many. A day's median needs no unbounded list, and
a day expires with its counters.
"""

from __future__ import annotations

import datetime as dt

from handoff.conversations.keys import HANDLING_SAMPLES, STATS_TTL
from handoff.conversations.store import now_ms
from handoff.queue.base import QueueParts
from handoff.queue.targets import RESPONSE_KINDS, ResponseClock

SAMPLE_SERIES = ("wait_s", "first_response_s", "handling_s")


class QueueStats(QueueParts):
    async def count(self, name: str, amount: int = 1, day: str | None = None) -> None:
        """Add to a dashboard counter of a day (today, UTC, unless given)."""
        key = self.keys.daily_stats(day or day_of(now_ms()))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, name, amount)
            pipe.expire(key, STATS_TTL)
            await pipe.execute()

    async def count_once(
        self, cid: str, conversation: dict[str, str], marker: str, counter: str
    ) -> None:
        """Count a conversation at most once, on the day it started.

        Counting each conversation once and in the cohort of its start day is what keeps
        rates such as handoffs / conversations between 0 and 1 whatever the customer does.
        """
        if await self.redis.hsetnx(self.keys.conversation(cid), marker, now_ms()):
            started = int(conversation.get("created_at") or now_ms())
            await self.count(counter, day=day_of(started))

    async def record_sample(self, series: str, seconds: float) -> None:
        """One duration for a day's median (see SAMPLE_SERIES)."""
        await self.count(f"{series}:{max(0, int(seconds))}")

    async def record_handling(self, seconds: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.handling_times, round(seconds, 1))
            pipe.ltrim(self.keys.handling_times, 0, HANDLING_SAMPLES - 1)
            await pipe.execute()
        await self.record_sample("handling_s", seconds)

    async def record_response(self, cid: str, clock: ResponseClock, at_ms: int) -> bool:
        """A reply that stopped `clock` at `at_ms` (append.lua reports each stopped clock to one
        reply only). In time, the wait counts today as within its target; late, its breach is
        marked unless the sweeper of some replica marked it first (`mark_breach`, which counts
        it). True when this reply marked the breach, for the caller's metric."""
        if not clock.overdue(at_ms):
            await self.count(f"{clock.kind}_response_within")
            return False
        (marked,) = await self.store.fields_of(cid, clock.breach_marker())
        return await self.mark_breach(cid, clock, marked)

    async def mark_breach(self, cid: str, clock: ResponseClock, marked: str | None) -> bool:
        """Mark the clock's breach on the conversation and count it today as breached
        (`first_response_breached` / `next_response_breached`). True for the one caller (of any
        replica, the sweeper's round or the late reply) that marked it first: the mark is a
        compare-and-set in Redis, so each wait enters the dashboard's share once, whether it
        is answered late, abandoned or never answered. `marked` is the marker field's value as
        the caller read it."""
        since = str(clock.started_at)
        if marked == since:
            return False
        field = clock.breach_marker()
        if not await self.store.set_fields(
            cid, {field: since}, unless_changed=(field, marked or "")
        ):
            return False
        await self.count(f"{clock.kind}_response_breached")
        return True

    async def average_handling_seconds(self) -> float:
        samples = [float(x) for x in await self.redis.lrange(self.keys.handling_times, 0, -1)]
        return sum(samples) / len(samples) if samples else self.settings.default_handling_seconds


def day_of(at_ms: int) -> str:
    return dt.datetime.fromtimestamp(at_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


def median_of_histogram(counts: dict[int, int]) -> float | None:
    """The median of samples given as value -> how many times it occurred."""
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted(counts.items())

    def nth(n: int) -> int:  # the n-th smallest sample, 0-based
        for value, many in ordered:
            if n < many:
                return value
            n -= many
        raise IndexError(n)

    middle = total // 2
    if total % 2:
        return float(nth(middle))
    return (nth(middle - 1) + nth(middle)) / 2


def within_target_shares(counters: dict[str, int]) -> dict[str, float | None]:
    """Of the waits counted (a period's or a day's counters: each answered in time, or
    breached whether answered late or not at all), the share answered within the target:
    `first_response_within_target` and `next_response_within_target` (None when there was none)."""
    shares: dict[str, float | None] = {}
    for kind in RESPONSE_KINDS:
        within = counters.get(f"{kind}_response_within", 0)
        total = within + counters.get(f"{kind}_response_breached", 0)
        shares[f"{kind}_response_within_target"] = round(within / total, 4) if total else None
    return shares
