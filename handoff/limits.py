"""Fixed-window rate limits in Redis, shared by every replica."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from handoff.keys import Keys


class RateLimiter:
    def __init__(self, redis: Redis, keys: Keys, window_seconds: int = 60) -> None:
        self.redis = redis
        self.keys = keys
        self.window = window_seconds

    async def allow(self, what: str, ident: str, limit: int) -> bool:
        """Count one event for `ident`; False once it exceeds `limit` in the current window."""
        window = int(time.time()) // self.window
        key = self.keys.ratelimit(what, f"{ident}:{window}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window * 2)
            count, _ = await pipe.execute()
        return int(count) <= limit

    async def count(self, what: str, ident: str) -> int:
        window = int(time.time()) // self.window
        raw = await self.redis.get(self.keys.ratelimit(what, f"{ident}:{window}"))
        return int(raw or 0)

    async def reset(self, what: str, ident: str) -> None:
        window = int(time.time()) // self.window
        await self.redis.delete(self.keys.ratelimit(what, f"{ident}:{window}"))
