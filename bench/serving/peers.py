"""Customer and agent websockets as the widget and the agent console open them, each with one
reader; agents' accounts; a chat escalated to the queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys

AGENT_PASSWORD = "bench password, not for production"  # noqa: S105 (a throwaway Redis)
ASK_FOR_PERSON = "I want to talk to a person please"
Frame = dict[str, Any]


class Peer:
    """A websocket with one reader task; callers wait for frames by predicate."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []
        self.on_frame: Callable[[Frame], None] | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            if self.on_frame is not None:
                self.on_frame(frame)
            if self.waiters:
                for waiter in list(self.waiters):
                    predicate, future = waiter
                    if not future.done() and predicate(frame):
                        future.set_result(frame)
                        self.waiters.remove(waiter)

    def expect(self, predicate: Callable[[Frame], bool]) -> asyncio.Future[Frame]:
        """Register before sending what causes the frame, so it cannot be missed."""
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        return future

    async def send(self, frame: Frame) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.reader


async def gather_limited(jobs: Sequence[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*[run(job) for job in jobs])


async def open_customer(session: aiohttp.ClientSession, base: str) -> tuple[Peer, str]:
    ws = await session.ws_connect(
        base.replace("http://", "ws://") + "/ws/customer", max_msg_size=1 << 20
    )
    await ws.send_str(json.dumps({"type": "hello", "v": 1, "token": None, "last_seen": None}))
    welcome = await ws.receive_json(timeout=30)
    if welcome.get("type") != "welcome":
        raise RuntimeError(f"no welcome: {welcome}")
    return Peer(ws), str(welcome["conversation"])


async def open_agent(session: aiohttp.ClientSession, base: str, name: str) -> Peer:
    response = await session.post(
        f"{base}/api/login", json={"username": name, "password": AGENT_PASSWORD}
    )
    if response.status != 200:
        raise RuntimeError(f"login of {name} failed: HTTP {response.status}")
    sid = response.cookies["ha_session"].value
    session.cookie_jar.clear()
    ws = await session.ws_connect(
        base.replace("http://", "ws://") + "/ws/agent",
        headers={"Cookie": f"ha_session={sid}"},
        max_msg_size=1 << 22,
    )
    peer = Peer(ws)
    online = peer.expect(lambda f: f.get("type") == "presence")
    await peer.send({"type": "presence", "status": "online"})
    await asyncio.wait_for(online, 30)
    return peer


async def create_agents(redis_url: str, count: int, capacity: int, prefix: str) -> list[str]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    accounts = Accounts(redis, Keys("ha"))
    names = [f"{prefix}{i}" for i in range(count)]
    for name in names:
        await accounts.create(name, AGENT_PASSWORD, display_name=name.title(), capacity=capacity)
    await redis.aclose()
    return names


async def escalate(customer: Peer, cid: str) -> None:
    queued = customer.expect(lambda f: f.get("event") == "state" and f.get("state") == "queued")
    refused = customer.expect(lambda f: f.get("event") == "offer_leave_message")
    await customer.send({"type": "message", "id": "ask", "text": ASK_FOR_PERSON})
    done, _ = await asyncio.wait({queued, refused}, timeout=60, return_when="FIRST_COMPLETED")
    if queued not in done:
        raise RuntimeError(f"conversation {cid} was not queued (no agent online?)")
    refused.cancel()
