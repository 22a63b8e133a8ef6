"""Customers and agents as programs: websocket clients of protocol v1 (docs/protocol.md), and
the helpers every suite shares to talk to the service: `login`, `frames_until`, frame predicates.

They behave like the widget and the console: one reader per socket collecting every frame,
messages resent until acknowledged (the gateway de-duplicates by message id), and on reconnect
a `hello` with the resume token and the last entry id shown (or `open` with `last_seen`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

Frame = dict[str, Any]
Predicate = Callable[[Frame], bool]


class FrameLog:
    """Every frame one socket received, with a way to wait for the next matching one."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.arrived_at: list[float] = []
        self._changed = asyncio.Event()
        self.closed = False

    def add(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.arrived_at.append(time.monotonic())
        self._changed.set()

    async def wait_for(self, predicate: Predicate, timeout: float, start: int = 0) -> Frame:
        """The first frame at index >= start that matches; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.frames):
                if predicate(self.frames[index]):
                    return self.frames[index]
                index += 1
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise AssertionError(
                    f"no matching frame within {timeout} s; last frames: {self.frames[-8:]}"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))


async def frames_until(ws: Any, predicate: Predicate, timeout: float = 5.0) -> list[Frame]:
    """Read frames off a socket (anything with `receive_json(timeout=)`) until one satisfies the
    predicate; returns every frame read, that one last. AssertionError after `timeout`."""
    seen: list[Frame] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out; frames so far: {seen}"
        frame = await ws.receive_json(timeout=remaining)
        seen.append(frame)
        if predicate(frame):
            return seen


async def _read_into(ws: aiohttp.ClientWebSocketResponse, log: FrameLog) -> None:
    try:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                log.add(message.json())
    except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError):
        pass
    finally:
        log.closed = True
        log._changed.set()


def is_event_from(sender: str) -> Predicate:
    return lambda f: f.get("type") == "event" and f.get("from") == sender


is_bot_message = is_event_from("bot")


def is_state(state: str) -> Predicate:
    return lambda f: (
        f.get("type") == "event" and f.get("event") == "state" and f.get("state") == state
    )


class Customer:
    """A customer's widget: one conversation, surviving reconnects to any replica."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.log = FrameLog()
        self.reader: asyncio.Task[None] | None = None
        self.token: str | None = None
        self.conversation = ""
        self.state = ""
        self.seen: dict[str, Frame] = {}  # transcript entries shown, by id (each once)
        self.order: list[str] = []

    @property
    def last_seen(self) -> str | None:
        return self.order[-1] if self.order else None

    async def connect(self, base_ws_url: str, timeout: float = 10.0) -> Frame:
        """Open (or resume) the chat on a replica; returns the welcome frame."""
        await self.drop()
        self.log = FrameLog()
        self.ws = await self.session.ws_connect(base_ws_url + "/ws/customer", heartbeat=None)
        self.reader = asyncio.create_task(_read_into(self.ws, self.log))
        await self.ws.send_json(
            {"type": "hello", "v": 1, "token": self.token, "last_seen": self.last_seen}
        )
        welcome = await self.log.wait_for(
            lambda f: f["type"] in {"welcome", "error"}, timeout=timeout
        )
        assert welcome["type"] == "welcome", welcome
        self.token = welcome["token"]
        self.conversation = welcome["conversation"]
        self.state = welcome["state"]
        return welcome

    def absorb(self) -> list[Frame]:
        """Record newly arrived transcript entries; a second copy of one is a duplicate."""
        duplicates = []
        for frame in self.log.frames:
            if frame.get("type") != "event":
                continue
            if frame["id"] in self.seen:
                if frame is not self.seen[frame["id"]]:
                    duplicates.append(frame)
                continue
            self.seen[frame["id"]] = frame
            self.order.append(frame["id"])
        return duplicates

    async def send(self, client_id: str, text: str, timeout: float = 20.0) -> Frame:
        """Send and resend (as the widget does) until acknowledged; returns the ack."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.ws is not None
            start = len(self.log.frames)
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await self.ws.send_json({"type": "message", "id": client_id, "text": text})
            try:
                frame = await self.log.wait_for(
                    lambda f: f.get("id") == client_id and f["type"] in {"ack", "error"},
                    timeout=max(0.1, min(10.0, deadline - time.monotonic())),
                    start=start,
                )
            except AssertionError:
                if self.log.closed:
                    raise
                continue
            if frame["type"] == "ack":
                return frame
            assert frame["code"] == "unavailable", frame
            await asyncio.sleep(0.2)
        raise AssertionError(f"message {client_id} was never accepted")

    async def wait_for(self, predicate: Predicate, timeout: float = 10.0) -> Frame:
        return await self.log.wait_for(predicate, timeout)

    async def drop(self) -> None:
        """Close the socket (a reload); the conversation itself continues."""
        if self.ws is not None:
            self.absorb()
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader
        self.ws = None
        self.reader = None


# The password of the accounts tests create, unless a test chooses another.
PASSWORD = "correct horse battery"


async def login(
    http: aiohttp.ClientSession | TestClient,
    name: str,
    password: str = PASSWORD,
    *,
    base_url: str = "",
    keep_cookie: bool = False,
) -> dict[str, Any]:
    """POST /api/login (to a TestClient's app, or to `base_url` with a ClientSession); fails the
    test unless it succeeds. Returns the body plus the session id under `sid`, its cookie header
    under `cookie`, and cookie + CSRF token under `headers`. The client's cookie jar is emptied
    afterwards (several users can share one client by sending their headers explicitly) unless
    `keep_cookie`."""
    if isinstance(http, TestClient):
        session, url = http.session, str(http.make_url("/api/login"))
    else:
        session, url = http, base_url + "/api/login"
    async with session.post(url, json={"username": name, "password": password}) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        body["sid"] = response.cookies["ha_session"].value
    body["cookie"] = {"Cookie": f"ha_session={body['sid']}"}
    body["headers"] = {**body["cookie"], "X-CSRF-Token": body["csrf"]}
    if not keep_cookie:
        session.cookie_jar.clear()
    return body


class Agent:
    """An agent's console: logged in once, its socket may move between replicas."""

    def __init__(self, session: aiohttp.ClientSession, name: str, sid: str) -> None:
        self.session = session
        self.name = name
        self.sid = sid
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.log = FrameLog()
        self.reader: asyncio.Task[None] | None = None
        self.hello: Frame = {}

    async def connect(self, base_ws_url: str, online: bool = True) -> Frame:
        await self.drop()
        self.log = FrameLog()
        self.ws = await self.session.ws_connect(
            base_ws_url + "/ws/agent", headers={"Cookie": f"ha_session={self.sid}"}, heartbeat=None
        )
        self.reader = asyncio.create_task(_read_into(self.ws, self.log))
        self.hello = await self.log.wait_for(lambda f: f["type"] == "hello", timeout=10)
        if online:
            await self.send({"type": "presence", "status": "online"})
            await self.log.wait_for(lambda f: f["type"] == "presence", timeout=10)
        return self.hello

    async def send(self, frame: Frame) -> int:
        """Send a frame; returns the index in the log from which its answer will appear."""
        assert self.ws is not None
        start = len(self.log.frames)
        await self.ws.send_json(frame)
        return start

    async def claim(self, cid: str, timeout: float = 10.0) -> Frame:
        start = await self.send({"type": "claim", "conversation": cid})
        return await self.log.wait_for(
            lambda f: (
                f.get("conversation") == cid and f["type"] in {"claimed", "claim_failed", "error"}
            ),
            timeout=timeout,
            start=start,
        )

    async def say(self, cid: str, client_id: str, text: str, timeout: float = 10.0) -> Frame:
        start = await self.send(
            {"type": "message", "conversation": cid, "id": client_id, "text": text}
        )
        return await self.log.wait_for(
            lambda f: f.get("id") == client_id and f["type"] in {"ack", "error"},
            timeout=timeout,
            start=start,
        )

    async def drop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader
        self.ws = None
        self.reader = None

    def vanish(self) -> None:
        """The browser disappears: the TCP connection is cut with no websocket close frame."""
        assert self.ws is not None
        connection = self.ws._response.connection
        assert connection is not None and connection.transport is not None
        connection.transport.abort()
