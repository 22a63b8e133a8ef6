"""The live hub notices a subscription that went silent (a network partition between a replica
and Redis: no close, no reset) and subscribes again, so its sockets hear of changes as soon as
the network is back rather than when TCP next retransmits (tests/faults/test_multi_host.py
found it: a mended replica delivered hints seconds late)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from handoff.conversations import hints
from handoff.conversations.hints import LiveHub
from handoff.conversations.redis_client import connect


class Partition:
    """A TCP relay to Redis that can go silent: while cut, it drops what either side sends
    and keeps every connection open, and the connections it carried stay dead afterwards
    (their bytes are gone); connections made after `mend` are relayed again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cut = False
        self.dead: set[int] = set()  # connections that lived through a cut
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def partition(self) -> None:
        self.cut = True
        self.dead.update(range(self.connections))

    def mend(self) -> None:
        self.cut = False

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    if self.cut or number in self.dead:
                        self.dead.add(number)
                        continue
                    sink.write(data)
                    await sink.drain()

        for task in (pump(reader, upstream_writer), pump(upstream_reader, writer)):
            running = asyncio.create_task(task)
            self.tasks.add(running)
            running.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.server is not None:
            self.server.close()


async def test_a_silent_subscription_is_replaced_and_every_socket_resynced(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hints, "QUIET_SECONDS", 0.5, raising=False)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    partition = Partition(port)
    relay_port = await partition.start()
    subscriber = connect(f"redis://127.0.0.1:{relay_port}/0", 0.5, for_pubsub=True)
    hub = LiveHub(subscriber, "hub-test", answer_within=0.5)
    heard: list[dict[str, Any]] = []
    hub.watch_all(heard.append)
    runner = asyncio.create_task(hub.run())
    publisher = Redis.from_url(redis_url, decode_responses=True)
    try:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await publisher.publish("hub-test", json.dumps({"c": "before"}))
        await wait_until(lambda: {"c": "before"} in heard)

        partition.partition()
        cut_at = time.monotonic()
        # Silent for QUIET_SECONDS, then a PING unanswered for answer_within: lost.
        await wait_until(lambda: not hub.connected.is_set(), timeout=5)
        noticed = time.monotonic() - cut_at
        assert noticed < 0.5 + 0.5 + 1.0 + 1.0  # quiet + answer + one listening round + slack

        partition.mend()
        await asyncio.wait_for(hub.connected.wait(), 5)
        await wait_until(lambda: {"resync": True} in heard)
        await publisher.publish("hub-test", json.dumps({"c": "after"}))
        await wait_until(lambda: {"c": "after"} in heard)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await publisher.aclose()
        await subscriber.aclose()
        await partition.close()


async def test_a_quiet_but_healthy_subscription_is_kept(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody publishing is not a lost connection: the PING is answered, nothing resyncs."""
    monkeypatch.setattr(hints, "QUIET_SECONDS", 0.2, raising=False)
    subscriber = connect(redis_url, 0.5, for_pubsub=True)
    hub = LiveHub(subscriber, "hub-quiet", answer_within=0.5)
    heard: list[dict[str, Any]] = []
    hub.watch_all(heard.append)
    runner = asyncio.create_task(hub.run())
    publisher = Redis.from_url(redis_url, decode_responses=True)
    try:
        await asyncio.wait_for(hub.connected.wait(), 5)
        # Several quiet periods, each ended by a PING and its answer.
        for round_number in range(3):
            await asyncio.sleep(1.2)
            assert hub.connected.is_set()
            await publisher.publish("hub-quiet", json.dumps({"c": f"round-{round_number}"}))
            await wait_until(lambda n=round_number: {"c": f"round-{n}"} in heard)
        assert {"resync": True} not in heard
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await publisher.aclose()
        await subscriber.aclose()


async def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
