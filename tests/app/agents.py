"""The agent side of the service's tests: a console socket, an agent online, a chat waiting in the
queue, frames collected in any order. Fixtures (`accounts`, `handoff_bot`) are in conftest.py;
test modules import these helpers, never one another."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from tests.app.protocol import AGENT, CheckedSocket, open_chat
from tests.support.clients import PASSWORD, frames_until, login

HANDOFF = {
    "reason": "human_request",
    "summary": "Wants a person; mail me at a@b.example",
    "intents": [],
    "slots": {},
}
KEYS = Keys("ha")  # the prefix the app's default settings use


async def console(
    client: TestClient, session: dict[str, Any], online: bool = True
) -> tuple[Any, dict[str, Any]]:
    raw = await client.ws_connect("/ws/agent", headers={"Cookie": f"ha_session={session['sid']}"})
    ws = CheckedSocket(raw, AGENT)
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["v"] == 1
    if online:
        await ws.send_json({"type": "presence", "status": "online"})
        await frames_until(ws, lambda f: f["type"] == "presence")
    return ws, hello


async def agent_online(
    client: TestClient, accounts: Accounts, name: str, **account: Any
) -> tuple[Any, dict[str, Any]]:
    await accounts.create(name, PASSWORD, display_name=name.capitalize(), **account)
    session = await login(client, name)
    ws, _ = await console(client, session)
    return ws, session


async def queued_chat(client: TestClient) -> tuple[Any, dict[str, Any]]:
    """A customer who asked for a person and is now waiting in the queue."""
    ws, welcome = await open_chat(client)
    await ws.send_json({"type": "message", "id": "h1", "text": "I want a human please"})
    await frames_until(ws, lambda f: f.get("event") == "state" and f.get("state") == "queued")
    return ws, welcome


async def all_of(ws: Any, *predicates: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Collect frames until each predicate has matched one of them, in any order."""
    remaining = list(predicates)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while remaining:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; frames so far: {seen}"
        try:
            frame = await ws.receive_json(timeout=left)
        except TimeoutError:
            raise AssertionError(f"timed out; frames so far: {seen}") from None
        seen.append(frame)
        remaining = [p for p in remaining if not p(frame)]
    return seen


def is_event(text_part: str) -> Any:
    return lambda f: f.get("type") == "event" and text_part in f.get("text", "")


async def seated_chat(
    client: TestClient, accounts: Accounts, agent_name: str
) -> tuple[Any, Any, str]:
    """An agent online who has claimed a customer's chat: (agent socket, customer socket, the
    conversation), once the claim and the chat's first message reached the agent."""
    agent, _ = await agent_online(client, accounts, agent_name)
    customer, welcome = await queued_chat(client)
    cid = welcome["conversation"]
    await agent.send_json({"type": "claim", "conversation": cid})
    await all_of(agent, lambda f: f["type"] == "claimed", is_event("I want a human please"))
    return agent, customer, cid
