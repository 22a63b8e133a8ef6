"""Rate limits shared by every replica (fixed windows in Redis), and a per-socket frame budget.

Redis counters limit what costs storage or a password check: new chats per address, messages
per conversation, login attempts per user name and per address. The frame budget is kept in
memory by the one reader of a socket: it stops a single client from flooding the service with
frames that cost no storage (pings, typing, garbage) without a Redis round trip per frame.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from handoff.conversations.outcomes import RateCounter


class RateLimiter:
    def __init__(self, redis: Redis, keys: Keys, window_seconds: int = 60) -> None:
        self.redis = redis
        self.keys = keys
        self.window = window_seconds

    def _key(self, what: str, ident: str) -> str:
        window = int(time.time()) // self.window
        return self.keys.ratelimit(what, f"{ident}:{window}")

    def counter(self, what: str, ident: str, limit: int) -> RateCounter:
        """The counter `allow` would count on, for a script that counts in its own step
        (a customer's message: conversations/lua/append.lua)."""
        return RateCounter(self._key(what, ident), limit, self.window * 2)

    async def hit(self, *counters: tuple[str, str]) -> list[int]:
        """Count one event on each (what, ident) counter at once; each count including it.

        Counting before the work (not after it fails) is what makes a limit hold against
        concurrent requests: fifty parallel guesses cannot all see "four so far". The counters
        move in one transaction, so parallel requests are ordered the same way on all of them.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            for what, ident in counters:
                key = self._key(what, ident)
                pipe.incr(key)
                pipe.expire(key, self.window * 2)
            results = await pipe.execute()
        return [int(count) for count in results[::2]]

    async def allow(self, what: str, ident: str, limit: int) -> bool:
        """Count one event for `ident`; False once it exceeds `limit` in the current window."""
        return (await self.hit((what, ident)))[0] <= limit

    async def undo(self, what: str, ident: str) -> None:
        """Take back one event counted by `hit` (an attempt that turned out to be allowed)."""
        await self.redis.decr(self._key(what, ident))

    async def count(self, what: str, ident: str) -> int:
        raw = await self.redis.get(self._key(what, ident))
        return int(raw or 0)

    async def reset(self, what: str, ident: str) -> None:
        await self.redis.delete(self._key(what, ident))


class FrameBudget:
    """A token bucket of websocket frames: `rate` a second on average, bursts up to `burst`.

    `take()` is False for a frame over budget; `should_warn()` is True at most once a second,
    so a flooder gets one error frame per second, not one per dropped frame.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.dropped = 0
        self._warned_at = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.dropped += 1
        return False

    def should_warn(self) -> bool:
        now = time.monotonic()
        if now - self._warned_at >= 1.0:
            self._warned_at = now
            return True
        return False
