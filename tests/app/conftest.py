"""Fixtures of the handoff service suite: a real Redis per session, a scripted Rasa peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from handoff.app import create_app
from handoff.assistant.triage.config import DEFAULT_MODEL_DIR
from handoff.assistant.triage.train import is_stale, train
from handoff.settings import Secret, Settings
from tests.support.servers import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def redis_url(redis_server: RedisServer) -> AsyncIterator[str]:
    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    yield redis_server.url


@dataclass
class ScriptedRasa:
    """Stands in for Rasa's REST webhook in unit tests of the gateway (e2e uses real Rasa)."""

    replies: Callable[[str, str], list[dict[str, Any]]] = lambda sender, text: [
        {"recipient_id": sender, "text": f"echo: {text}"}
    ]
    delay: float = 0.0
    received: list[tuple[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.received.append((body["sender"], body["message"]))
            if self.delay:
                await asyncio.sleep(self.delay)
            return web.json_response(self.replies(body["sender"], body["message"]))
        finally:
            self.in_flight -= 1

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "scripted"})

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"events": [], "slots": {}})


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[ScriptedRasa, str]]:
    scripted = ScriptedRasa()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", scripted.webhook)
    app.router.add_get("/status", scripted.status)
    app.router.add_get("/conversations/{cid}/tracker", scripted.tracker)
    server = TestServer(app)
    await server.start_server()
    yield scripted, str(server.make_url("")).rstrip("/")
    await server.close()


def base_settings(redis_url: str, rasa_url: str, tmp: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        rasa_urls=(rasa_url,),
        secret=Secret("test-secret-not-for-production"),
        triage_enabled=False,
        bot_turn_timeout=2.0,
        var_dir=tmp,
        allowed_origins=("http://localhost:8080",),
    )


AppFactory = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def make_client(
    redis_url: str, rasa: tuple[ScriptedRasa, str], tmp_path: Path
) -> AsyncIterator[AppFactory]:
    clients: list[TestClient] = []

    async def factory(**overrides: Any) -> TestClient:
        settings = base_settings(redis_url, rasa[1], tmp_path).model_copy(update=overrides)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained triage pipeline: models/triage when it matches its data and code, else a
    fresh one trained into a temporary folder (the handoff tests run before `make` trains it)."""
    if not is_stale(DEFAULT_MODEL_DIR):
        return DEFAULT_MODEL_DIR
    out = tmp_path_factory.mktemp("triage-model")
    train(out, log=lambda _line: None)
    return out
