"""Redis killed and restarted (AOF on) during a live chat: nothing accepted is lost or doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from handoff.app import create_app
from handoff.conversations.keys import Keys
from handoff.state import app_state
from tests.app.conftest import base_settings
from tests.app.protocol import CheckedSocket
from tests.support.fake_rasa import FakeRasa
from tests.support.servers import RedisServer


async def send_until_acked(ws: CheckedSocket, client_id: str, text: str) -> dict[str, Any]:
    """Send (and resend, like the widget) until the gateway acknowledges the message."""
    for _ in range(40):
        await ws.send_json({"type": "message", "id": client_id, "text": text})
        while True:
            frame = await ws.receive_json(timeout=10)
            if frame["type"] == "ack" and frame["id"] == client_id:
                return frame
            if frame["type"] == "error" and frame["code"] == "unavailable":
                await asyncio.sleep(0.25)
                break
    raise AssertionError(f"{client_id} was never accepted")


async def test_messages_survive_a_redis_kill_and_restart(
    tmp_path: Path, rasa: tuple[FakeRasa, str]
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    settings = base_settings(redis.url, rasa[1], tmp_path).model_copy(update={"redis_timeout": 0.5})
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        ws = CheckedSocket(await client.ws_connect("/ws/customer"))
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=5)
        accepted = []
        for i in range(5):
            await send_until_acked(ws, f"before{i}", f"before the crash {i}")
            accepted.append(f"before the crash {i}")
        redis.kill()
        restart = asyncio.get_running_loop().call_later(1.5, redis.start)
        for i in range(5):
            await send_until_acked(ws, f"after{i}", f"after the crash {i}")
            accepted.append(f"after the crash {i}")
        restart.cancel()
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
        redis.kill()
