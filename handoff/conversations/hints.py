"""Hints from Redis pub/sub, fanned out to the sockets open on this replica.

A hint says "conversation X changed" or "a queue moved"; the hint of a new transcript entry
also carries the entry and the id of the one before it (lua/entry_hint.lua). A socket that has
delivered that one sends the entry as it came; any other re-reads the transcript from the last
id it delivered (conversations/entry.py `following`). A missed hint therefore costs latency,
never data: after the subscription reconnects (Redis restarted, or a failover moved the
master: the subscriber's client does not reconnect by itself, conversations/redis_client.py),
every socket is told to resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from handoff.background import stop_if_cancelled

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]

# A subscriber's connection has no read timeout (it waits for hints), and a network that drops
# packets between this replica and Redis (a partition) neither closes nor resets it. Without
# asking, the hub would hear nothing after the network came back until TCP retransmitted, up to
# minutes later, and its sockets would see changes only at their periodic resync. So after this
# many silent seconds the hub pings on the channel; no answer within `answer_within` means the
# connection is lost, and the hub subscribes again (and resyncs every socket).
QUIET_SECONDS = 5.0


class LiveHub:
    def __init__(self, redis: Redis, channel: str, answer_within: float = 2.0) -> None:
        self.redis = redis
        self.channel = channel
        self.answer_within = answer_within
        self._by_conversation: dict[str, set[Listener]] = defaultdict(set)
        self._everything: set[Listener] = set()
        self.connected = asyncio.Event()

    def watch(self, cid: str, listener: Listener) -> Callable[[], None]:
        self._by_conversation[cid].add(listener)

        def unwatch() -> None:
            listeners = self._by_conversation.get(cid)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    self._by_conversation.pop(cid, None)

        return unwatch

    def watch_all(self, listener: Listener) -> Callable[[], None]:
        self._everything.add(listener)
        return lambda: self._everything.discard(listener)

    def dispatch(self, payload: dict[str, Any]) -> None:
        cid = payload.get("c")
        if isinstance(cid, str):
            for listener in list(self._by_conversation.get(cid, ())):
                listener(payload)
        elif "q" in payload:
            # A team queue moved: every waiting customer's position may have changed.
            for listeners in list(self._by_conversation.values()):
                for listener in list(listeners):
                    listener(payload)
        for listener in list(self._everything):
            listener(payload)

    def resync_all(self) -> None:
        payload = {"resync": True}
        for listeners in list(self._by_conversation.values()):
            for listener in list(listeners):
                listener(payload)
        for listener in list(self._everything):
            listener(payload)

    @property
    def socket_count(self) -> int:
        return sum(len(v) for v in self._by_conversation.values()) + len(self._everything)

    async def run(self) -> None:
        """Subscribe for the life of the app, reconnecting with backoff."""
        delay = 0.2
        first = True
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.connected.set()
                if not first:
                    self.resync_all()
                first = False
                delay = 0.2
                heard, asked = loop.time(), None
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    now = loop.time()
                    if message is None:
                        if asked is not None and now - asked > self.answer_within:
                            raise RedisConnectionError("no answer to PING on the live channel")
                        if asked is None and now - heard > QUIET_SECONDS:
                            await pubsub.ping()
                            asked = now
                        continue
                    heard, asked = now, None  # anything heard, a pong included, will do
                    try:
                        payload = orjson.loads(message["data"])
                    except (TypeError, ValueError):
                        continue
                    if isinstance(payload, dict):
                        self.dispatch(payload)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                stop_if_cancelled()
                self.connected.clear()
                log.warning("live channel lost (%s); reconnecting in %.1f s", error, delay)
                await asyncio.sleep(delay)
                # At most a second between attempts: after a failover (a new master named by
                # Sentinel a few seconds after the old one died) sockets hear of changes again
                # within a second of it, and one attempt a second per replica costs nothing.
                delay = min(delay * 2, 1.0)
            finally:
                # Whatever ends a subscription (a lost connection, shutdown, or an error nobody
                # expected, which ends this task), this replica hears of nothing until the next
                # one runs: /readyz must say so (handoff/web/health.py), not a stale "running".
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
