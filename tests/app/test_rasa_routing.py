"""With several Rasa servers configured, each conversation always talks to the same one.

Rasa Open Source's Redis lock store only serialises a conversation's messages inside one Rasa
process, so a conversation that hopped between Rasa replicas could have two turns in flight and
a tracker written by both. Two scripted Rasa servers record who talked to them; two handoff
replicas share one Redis, and every conversation's messages alternate between the replicas.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until, is_bot_message
from tests.support.fake_rasa import FakeRasa

CONVERSATIONS = 40
MESSAGES_EACH = 3


@pytest.fixture
async def two_rasas() -> AsyncIterator[list[tuple[FakeRasa, str]]]:
    started = [FakeRasa(partial(signed_by, name)) for name in ("rasa-a", "rasa-b")]
    yield [(fake, await fake.start()) for fake in started]
    for fake in started:
        await fake.close()


def signed_by(name: str, sender: str, text: str) -> list[dict[str, Any]]:
    """Each Rasa signs its answers, so the customer can tell which one answered."""
    return [{"recipient_id": sender, "text": f"{name}: {text}"}]


async def _converse(replicas: list[TestClient], index: int) -> tuple[str, set[str]]:
    """One customer whose every message reaches a different handoff replica than the last."""
    answered_by: set[str] = set()
    token: str | None = None
    last_seen: str | None = None
    cid = ""
    for turn in range(MESSAGES_EACH):
        replica = replicas[(index + turn) % len(replicas)]
        ws, welcome = await open_chat(replica, token=token, last_seen=last_seen)
        cid, token = welcome["conversation"], welcome["token"]
        text = f"question {turn}"
        await ws.send_json({"type": "message", "id": f"m{turn}", "text": text})
        frames = await frames_until(
            ws, lambda f, text=text: is_bot_message(f) and f["text"].endswith(f": {text}")
        )
        answered_by.add(frames[-1]["text"].split(":", 1)[0])
        last_seen = frames[-1]["id"]
        await ws.close()
    return cid, answered_by


async def test_each_conversation_sticks_to_one_rasa_across_replicas(
    make_client: AppFactory, two_rasas: list[tuple[FakeRasa, str]]
) -> None:
    urls = tuple(url for _, url in two_rasas)
    replicas = [await make_client(rasa_urls=urls, ip_connections_per_minute=1000) for _ in range(2)]
    results = await asyncio.gather(*[_converse(replicas, i) for i in range(CONVERSATIONS)])
    # The customer saw every answer come from one Rasa...
    for cid, answered_by in results:
        assert len(answered_by) == 1, f"conversation {cid} was answered by {answered_by}"
    # ...and each Rasa's own record agrees: every message of a conversation, only there.
    seen_by = [{sender for sender, _ in scripted.received} for scripted, _ in two_rasas]
    assert not seen_by[0] & seen_by[1]
    assert seen_by[0] | seen_by[1] == {cid for cid, _ in results}
    for scripted, _ in two_rasas:
        per_conversation: dict[str, int] = {}
        for sender, _text in scripted.received:
            per_conversation[sender] = per_conversation.get(sender, 0) + 1
        assert set(per_conversation.values()) == {MESSAGES_EACH}
    # Both Rasa servers carry a share (40 conversations all on one would be a broken hash).
    assert all(len(s) >= CONVERSATIONS // 5 for s in seen_by), [len(s) for s in seen_by]


async def test_the_choice_of_rasa_does_not_depend_on_the_replica_process() -> None:
    """Python salts str hashes per process; the route must come from a stable digest instead."""
    cids = [f"{i:032x}" for i in range(20)]
    program = (
        "import sys; from handoff.assistant.rasa import replica_for; "
        "print(' '.join(replica_for(c, ('a', 'b')) for c in sys.argv[1:]))"
    )
    runs = {
        (
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", program, *cids],
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": "."},
            )
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(runs) == 1 and {"a", "b"} <= set(runs.pop().split())
