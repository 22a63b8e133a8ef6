"""/readyz, the load balancer's question "may this replica get customers now?", against a real
Redis: ready while Redis answers, not ready (with the reason) within its bound once Redis stalls
or stops, ready again once it is back; Rasa being down never makes a replica unready."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from handoff.app import create_app
from handoff.state import app_state
from handoff.web.health import READY_PING_SECONDS
from tests.app.conftest import base_settings
from tests.support.polling import until
from tests.support.servers import RedisServer

# A busy 2-core machine's margin on top of the bound /readyz promises.
MARGIN_SECONDS = 1.5


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A Redis of this test's own: it is stalled, stopped and restarted."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def client(own_redis: RedisServer, tmp_path: Path, closed_port: int) -> AsyncIterator[Any]:
    # Rasa's address has nothing listening: readiness must not depend on it.
    rasa_down = f"http://127.0.0.1:{closed_port}"
    settings = base_settings(own_redis.url, rasa_down, tmp_path).model_copy(
        update={"redis_timeout": 0.5}
    )
    test_client = TestClient(TestServer(create_app(settings)))
    await test_client.start_server()
    yield test_client
    await test_client.close()


async def readiness(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def ready(client: TestClient) -> bool:
    return (await readiness(client))[0] == 200


async def test_ready_while_redis_answers_and_rasa_is_down(client: TestClient) -> None:
    # The live subscription starts in the background: ready once it runs.
    await until(lambda: ready(client))
    status, body = await readiness(client)
    assert (status, body) == (200, {"status": "ready"})
    # The same replica is unhealthy (Rasa is down), which must not take it out of rotation.
    assert (await client.get("/healthz")).status == 503
    assert (await client.get("/livez")).status == 200


async def test_not_ready_within_the_bound_while_redis_stalls_then_ready_again(
    client: TestClient, own_redis: RedisServer
) -> None:
    await until(lambda: ready(client))
    own_redis.pause()
    try:
        started = time.monotonic()
        status, body = await readiness(client)
        took = time.monotonic() - started
    finally:
        own_redis.resume()
    assert status == 503, body
    assert body["status"] == "not ready"
    assert body["reason"].startswith("redis: no answer to PING"), body
    assert took < READY_PING_SECONDS + MARGIN_SECONDS, f"answered after {took:.1f} s"
    await until(lambda: ready(client))


async def test_not_ready_while_redis_is_stopped_and_ready_once_it_restarts(
    client: TestClient, own_redis: RedisServer
) -> None:
    await until(lambda: ready(client))
    # The service goes on being alive: only the load balancer should stop sending customers.
    await asyncio.to_thread(own_redis.stop)
    started = time.monotonic()
    status, body = await readiness(client)
    assert time.monotonic() - started < READY_PING_SECONDS + MARGIN_SECONDS
    assert status == 503 and body["reason"].startswith("redis:"), body
    assert (await client.get("/livez")).status == 200
    await asyncio.to_thread(own_redis.start)
    # Back when Redis answers and the live subscription has reconnected (at most a second
    # between its attempts, handoff/conversations/hints.py).
    await until(lambda: ready(client), seconds=15)
    assert await readiness(client) == (200, {"status": "ready"})


async def test_not_ready_once_the_live_subscription_has_stopped(client: TestClient) -> None:
    await until(lambda: ready(client))
    state = app_state(client.server.app)

    def broken(payload: dict[str, Any]) -> None:
        raise RuntimeError("a fault nobody expected in the live hub")

    # An error the subscription does not retry ends its task; the replica is still alive but
    # hears of no other replica's writes, so the load balancer must stop sending it customers.
    state.live.dispatch = broken  # type: ignore[method-assign]
    await state.redis.publish(state.live.channel, b'{"c": "x"}')
    await until(lambda: not_ready(client))
    status, body = await readiness(client)
    assert status == 503 and body["reason"].startswith("live:"), body
    assert (await client.get("/livez")).status == 200


async def not_ready(client: TestClient) -> bool:
    return (await readiness(client))[0] == 503
