"""Redis killed and restarted (AOF on) during a live chat: nothing accepted is lost or doubled."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from handoff.app import create_app
from handoff.conversations.keys import Keys
from handoff.state import app_state
from tests.app.conftest import base_settings
from tests.app.protocol import CheckedSocket
from tests.support.fake_rasa import FakeRasa
from tests.support.servers import RedisServer


async def send_until_acked(
    ws: CheckedSocket, client_id: str, text: str, within: float = 30.0
) -> dict[str, Any]:
    """Send (and resend, like the widget, while the gateway answers `unavailable`) until the
    gateway acknowledges the message; fails at once on any other refusal, and after `within`
    seconds in all (not per frame: a trickle of other frames must not keep it waiting)."""
    deadline = time.monotonic() + within
    while True:
        await ws.send_json({"type": "message", "id": client_id, "text": text})
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"{client_id} was never accepted; last frames: {ws.received[-5:]}"
            frame = await ws.receive_json(timeout=left)
            if frame["type"] == "ack" and frame["id"] == client_id:
                return frame
            if frame["type"] == "error":
                assert frame["code"] == "unavailable", f"{client_id} refused: {frame}"
                await asyncio.sleep(0.25)
                break


async def restart_after(redis: RedisServer, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await asyncio.to_thread(redis.start)
    assert redis.process is not None and redis.process.poll() is None, "Redis did not restart"


async def test_messages_survive_a_redis_kill_and_restart(
    tmp_path: Path, rasa: tuple[FakeRasa, str]
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    # What the gateway acknowledged must be in the append-only file when Redis is killed. With
    # `everysec` Redis may hold a write back (up to 2 s, while a slow fsync runs) and still
    # answer: on a busy disk a SIGKILL then lost acknowledged writes, or the whole conversation.
    # This test is about the service (nothing it acknowledged lost, no resend doubled), not
    # about that window, so this Redis writes each command to the file before it answers.
    async with Redis.from_url(redis.url) as admin:
        await admin.config_set("appendfsync", "always")
    settings = base_settings(redis.url, rasa[1], tmp_path).model_copy(update={"redis_timeout": 0.5})
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    restart: asyncio.Task[None] | None = None
    try:
        ws = CheckedSocket(await client.ws_connect("/ws/customer"))
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=5)
        accepted = []
        for i in range(5):
            await send_until_acked(ws, f"before{i}", f"before the crash {i}")
            accepted.append(f"before the crash {i}")
        redis.kill()
        # Restarted off the event loop (starting waits for the port), and awaited: a Redis that
        # does not come back fails the test here instead of leaving it resending for minutes.
        restart = asyncio.create_task(restart_after(redis, 1.5))
        for i in range(5):
            await send_until_acked(ws, f"after{i}", f"after the crash {i}")
            accepted.append(f"after the crash {i}")
        await asyncio.wait_for(restart, timeout=15)
        # Read back through the service itself: what an agent or a reconnecting browser sees.
        state = app_state(client.server.app)
        entries = await state.store.read_all(welcome["conversation"])
        assert [e.text for e in entries if e.sender == "customer"] == accepted
        # The pre-crash entries came back from the append-only file, not from memory.
        assert (tmp_path / "redis" / "appendonlydir").is_dir()
        keys = Keys(settings.redis_prefix)
        assert await state.redis.exists(keys.log(welcome["conversation"]))
        await ws.close()
    finally:
        await client.close()
        if restart is not None:  # never leave a Redis starting up behind the test
            await asyncio.wait({restart}, timeout=15)
        redis.kill()
