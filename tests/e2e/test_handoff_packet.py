"""The handoff packet from the real stack: the trained triage hands the chat in the issue over,
and the packet an agent reads is built from the whole conversation with the real Rasa's parses."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.support.clients import Agent, login
from tests.support.stack import RunningStack, chat

pytestmark = pytest.mark.e2e

COMPLAINT = (
    "my order HG-10001 still hasn't shipped and this is the third time I'm asking, "
    "I am really fed up"
)


async def handed_over_packet(stack: RunningStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """An admin online (so the chat is queued, not offered a message), then the chat."""
    ws_base = stack.url.replace("http://", "ws://")
    jar = aiohttp.CookieJar(unsafe=True)  # keep the cookie of a bare IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        session = await login(
            http, "admin", stack.admin_password(), base_url=stack.url, keep_cookie=True
        )
        agent = Agent(http, "admin", session["sid"])
        await agent.connect(ws_base)
        try:
            frames = await chat(stack, ["hello", COMPLAINT])
            cid = next(f["conversation"] for f in frames if f.get("type") == "welcome")
            async with http.get(f"{stack.url}/api/conversations/{cid}") as answer:
                assert answer.status == 200, await answer.text()
                body = dict(await answer.json())
        finally:
            await agent.send({"type": "presence", "status": "away"})
            await agent.drop()
    return body["packet"], body["fields"]


def test_the_triage_handoff_packet_quotes_the_complaint_with_rasas_details(
    stack: RunningStack,
) -> None:
    packet, fields = asyncio.run(handed_over_packet(stack))
    assert fields["state"] == "queued"
    assert packet["source"] == "triage"
    assert packet["summary"].startswith(packet["reason_text"].capitalize() + ": “my order HG-10001")
    assert "“hello”" not in packet["summary"]
    assert packet["orders"] == [{"number": "HG-10001", "verified": False}]
    # The assistant never answered the complaint, yet the real Rasa's view of it is there.
    assert [i["name"] for i in packet["intents"]][-1] == "check_order_status", packet["intents"]
    assert {"entity": "order_number", "value": "HG-10001"} in packet["entities"]
    assert packet["asked"][-1]["outcome"] == "handed over before the assistant answered"
    assert packet["mood"] == "calm, then upset", packet["sentiment"]
    # The service stored the triage's displeasure beside the labels (the mood trend reads it).
    assert 0.0 <= packet["scores"]["displeasure"] <= 1.0, packet["scores"]
