"""Privacy on the real stack: an admin exports everything held about a customer as one JSON
document, then erases it everywhere (Redis, Rasa's tracker, the archive, tickets); the erasure
is recorded without the customer's data. (Retention purging: tests/app/test_archive_service.py.)
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import aiohttp
import pytest
from redis import Redis

from tests.support import polling
from tests.support.clients import login
from tests.support.stack import RunningStack
from vocabulary.rasa_keys import rasa_tracker_key

pytestmark = pytest.mark.e2e

EMAIL = "pat.lee@example.com"
ORDER_TEXT = "my order HG-10042 arrived with a cracked lamp"


async def customer_leaves_a_message(stack: RunningStack) -> str:
    """A customer names an order, asks for a person, and (nobody online) leaves a message."""
    async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url) as ws:
        await ws.send_json({"type": "hello", "v": 1})
        welcome = await ws.receive_json(timeout=10)
        for i, text in enumerate((ORDER_TEXT, "I want to talk to a human")):
            await ws.send_json({"type": "message", "id": f"p{i}", "text": text})
        while True:
            frame = await ws.receive_json(timeout=30)
            if frame.get("event") == "offer_leave_message":
                break
        await ws.send_json(
            {"type": "leave_message", "email": EMAIL, "text": "Please replace the lamp."}
        )
        while (await ws.receive_json(timeout=30)).get("event") != "ticket_created":
            pass
    return str(welcome["conversation"])


until = partial(polling.until, seconds=30.0, every=0.5)


def test_an_admin_exports_then_erases_a_customer_everywhere(stack: RunningStack) -> None:
    redis = Redis(port=stack.ports["PRIVATE_REDIS_PORT"], decode_responses=True)

    async def run() -> None:
        cid = await customer_leaves_a_message(stack)
        # unsafe=True: the stack is addressed by IP, where aiohttp would otherwise drop cookies.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            body = await login(
                http, "admin", stack.admin_password(), base_url=stack.url, keep_cookie=True
            )
            headers = {"X-CSRF-Token": body["csrf"]}

            async def archived() -> list[dict[str, Any]]:
                async with http.get(
                    f"{stack.url}/api/archive/conversations", params={"email": EMAIL}
                ) as response:
                    return list((await response.json())["conversations"])

            assert [c["id"] for c in await until(archived)] == [cid]
            async with http.post(
                f"{stack.url}/api/privacy/export", json={"email": EMAIL}, headers=headers
            ) as response:
                assert response.status == 200
                assert "attachment" in response.headers["Content-Disposition"]
                document = await response.json()
            assert list(document["live_conversations"]) == [cid]
            said = [e["text"] for _, e in document["live_conversations"][cid]["transcript"]]
            assert ORDER_TEXT in said
            assert cid in document["assistant_trackers"]  # Rasa's own record of the chat
            assert [c["id"] for c in document["archived_conversations"]] == [cid]
            assert [t["email"] for t in document["tickets"]] == [EMAIL]
            # The order number finds the same conversation (it is in the transcript).
            async with http.post(
                f"{stack.url}/api/privacy/export", json={"order_number": "10042"}, headers=headers
            ) as response:
                assert cid in (await response.json())["live_conversations"]

            async with http.post(
                f"{stack.url}/api/privacy/erase", json={"email": EMAIL}, headers=headers
            ) as response:
                assert response.status == 200
                erased = (await response.json())["erased"]
            assert erased["live_conversations"] == 1 and erased["archived_conversations"] == 1
            assert erased["tickets"] == 1 and erased["assistant_trackers"] == 1
            # The questions the assistant could not answer in the chat, as exported.
            assert erased["unanswered_questions"] == len(document["unanswered_questions"])

            async with http.post(
                f"{stack.url}/api/privacy/export", json={"email": EMAIL}, headers=headers
            ) as response:
                after = await response.json()
            assert not after["live_conversations"] and not after["archived_conversations"]
            assert not after["tickets"]
            assert await archived() == []
            async with http.get(f"{stack.url}/api/privacy/erasures") as response:
                log = (await response.json())["erasures"]
            assert [(e["actor"], e["subject_kind"]) for e in log] == [("admin", "email")]
            assert "pat.lee" not in str(log) and "10042" not in str(log)

        # Nothing of the conversation is left in Redis, Rasa's tracker included.
        assert [k for k in redis.scan_iter(match=f"*{cid}*")] == []
        assert redis.exists(rasa_tracker_key("ha", cid)) == 0
        # A refusal for a request that names no one, or the wrong role.
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.post(f"{stack.url}/api/privacy/export", json={"email": EMAIL}) as response,
        ):
            assert response.status in {401, 403}

    asyncio.run(run())
    redis.close()
