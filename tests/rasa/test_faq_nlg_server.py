"""The NLG server: Rasa's own rendering over the files as they are now, so edits go live."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import nlg_server
from bot.faq.library import FaqLibrary

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "domain.yml", tmp_path / "domain.yml")
    shutil.copytree(ROOT / "data" / "nlu", tmp_path / "data" / "nlu")
    return tmp_path


def with_client(project: Path, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    async def run() -> None:
        async with TestClient(TestServer(nlg_server.create_app(project))) as client:
            await scenario(client)

    asyncio.run(run())


async def render(client: TestClient, response: str, slots: dict[str, Any] | None = None) -> Any:
    body = {
        "response": response,
        "arguments": {},
        "tracker": {"sender_id": "c1", "slots": slots or {}, "events": []},
        "channel": {"name": "rest"},
    }
    reply = await client.post("/nlg", json=body)
    assert reply.status == 200
    return await reply.json()


def test_answers_come_from_the_files_and_follow_an_edit(project: Path) -> None:
    async def scenario(client: TestClient) -> None:
        first = await render(client, "utter_faq/shipping_cost")
        assert first["text"].startswith("Standard shipping costs $4.95")
        greeting = await render(client, "utter_greet")
        assert greeting["text"].startswith("Hi! I'm Harbor Assist")

        FaqLibrary(project / "data" / "nlu" / "faq").edit(
            "shipping_cost", answer="Shipping is $5 and free over $50."
        )
        assert (await render(client, "utter_faq/shipping_cost"))["text"] == (
            "Shipping is $5 and free over $50."
        )

    with_client(project, scenario)


def test_a_removed_topic_is_still_answered_until_a_new_model_is_published(
    project: Path,
) -> None:
    async def scenario(client: TestClient) -> None:
        before = await render(client, "utter_faq/store_locations")
        FaqLibrary(project / "data" / "nlu" / "faq").remove("store_locations")
        assert await render(client, "utter_faq/store_locations") == before

    with_client(project, scenario)


def test_slots_are_filled_in_and_unknown_responses_are_empty(project: Path) -> None:
    (project / "data" / "nlu" / "extra.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_order_seen:\n  - text: "Order {order_number} found."\n'
    )

    async def scenario(client: TestClient) -> None:
        filled = await render(client, "utter_order_seen", {"order_number": "HG-10042"})
        assert filled["text"] == "Order HG-10042 found."
        assert await render(client, "utter_nobody_wrote_this") == {}
        health = await (await client.get("/health")).json()
        assert health["status"] == "ok" and health["responses"] > 40

    with_client(project, scenario)
