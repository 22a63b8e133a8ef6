"""Customers and agents as programs of their own, for tests whose clients live on other hosts
than the test (tests/support/hosts.py, tests/faults/test_multi_host.py).

    test process ── JSON lines on stdin ──►  python -m tests.support.parties  (inside a host)
                 ◄── JSON lines on stdout ──   widgets and consoles, each with its replicas

One program holds several parties. Each behaves like the widget or the console
(frontend/common/socket.js): it talks to one replica at a time, pings it, and abandons a socket
that has not answered a ping within `pong_within` seconds (a half-open connection: no close, no
reset, just silence); it then connects to the next replica of its list, with its resume token
and the last entry it showed (the widget), or its session and `open` + `last_seen` for each of
its chats (the console). Messages are kept until acknowledged: resent after `unavailable` and
after every reconnect, under the same client id, so the service stores each once.

Commands (stdin), each `{"do": …, "who": …}`:

- `customer` `replicas`: a widget; `agent` `replicas`, `user`, `password`: a console (logs in at
  the first replica that answers, then goes online)
- `send` `id`, `text`: the customer writes; `say` `conversation`, `id`, `text`: the agent does
- `claim` `conversation`: the agent claims a queued chat and follows it from then on
- `view`: report what the party has shown so far

Reports (stdout), each `{"who", "at" (time.monotonic(), one clock for the whole machine),
"kind", …}`: `ready`; `connected` (`replica`, `frame`: the welcome or hello); `frame`
(`replica`, `frame`: every frame received); `abandoned` (`replica`, `why`); `connect_failed`
(`replica`, `why`); `view` (`shown`: for each conversation the entry ids shown, in order, each
once; `duplicates`: entries delivered again; `pending`: messages not acknowledged yet).

`Parties` is the test's side: it starts the program in a host and waits on its reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

Frame = dict[str, Any]
Report = dict[str, Any]

PING_EVERY = 0.5
CONNECT_WITHIN = 3.0


def _report(who: str, kind: str, **fields: Any) -> None:
    line = json.dumps({"who": who, "at": time.monotonic(), "kind": kind, **fields})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _abort(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Drop the connection without a close handshake (which would wait on a silent peer)."""
    connection = ws._response.connection
    if connection is not None and connection.transport is not None:
        connection.transport.abort()


class Party:
    """What a widget and a console share: a socket to one replica at a time, pings, failover
    to the next replica, messages kept until acknowledged."""

    path = ""

    def __init__(self, who: str, replicas: list[str], http: aiohttp.ClientSession) -> None:
        self.who = who
        self.replicas = replicas
        self.http = http
        self.index = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ready = False  # welcomed on the current socket
        self.pending: dict[str, Frame] = {}  # client id -> message frame, in the order written
        self.shown: dict[str, list[str]] = {}  # conversation -> entry ids shown, in order
        self.duplicates: list[Frame] = []
        self.pong_within = 2.0
        self.unanswered_since: float | None = None  # the oldest ping not answered yet
        self.resends: set[asyncio.Task[None]] = set()
        self.task = asyncio.create_task(self._run())

    @property
    def replica(self) -> str:
        return self.replicas[self.index]

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._session()
                delay = 0.1
            except Exception as error:
                _report(self.who, "connect_failed", replica=self.replica, why=repr(error))
            self.ws, self.ready = None, False
            self.index = (self.index + 1) % len(self.replicas)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        return await asyncio.wait_for(
            self.http.ws_connect(self.replica + self.path, heartbeat=None, **self._options()),
            CONNECT_WITHIN,
        )

    def _options(self) -> dict[str, Any]:
        return {}

    async def _session(self) -> None:
        ws = self.ws = await self._open()
        await self._greet(ws)
        pinger = asyncio.create_task(self._ping(ws))
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = message.json()
                _report(self.who, "frame", replica=self.replica, frame=frame)
                await self._on_frame(ws, frame)
        finally:
            pinger.cancel()

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.unanswered_since = None
        while not ws.closed:
            await asyncio.sleep(PING_EVERY)
            now = time.monotonic()
            if self.unanswered_since is not None and now - self.unanswered_since > self.pong_within:
                _report(self.who, "abandoned", replica=self.replica, why="no pong")
                _abort(ws)
                return
            if self.unanswered_since is None:
                self.unanswered_since = now
            with contextlib.suppress(Exception):
                await ws.send_json({"type": "ping"})

    def _pong(self) -> None:
        self.unanswered_since = None

    async def _greet(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        raise NotImplementedError

    async def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        raise NotImplementedError

    def last_seen(self, conversation: str = "") -> str | None:
        """The last entry shown of `conversation` (the widget's own by default), or None."""
        ids = self.shown.get(conversation or getattr(self, "conversation", ""))
        return ids[-1] if ids else None

    def _shown(self, conversation: str, frame: Frame) -> None:
        ids = self.shown.setdefault(conversation, [])
        if frame["id"] in ids:
            self.duplicates.append(frame)
        else:
            ids.append(frame["id"])

    async def _deliver(self, client_id: str) -> None:
        frame = self.pending.get(client_id)
        if frame is not None and self.ws is not None and self.ready:
            with contextlib.suppress(Exception):
                await self.ws.send_json(frame)

    def _refused(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        """`unavailable` naming a pending message: resend it shortly, on the same socket."""
        client_id = frame.get("id")
        if frame.get("code") == "unavailable" and client_id in self.pending:

            async def later() -> None:
                await asyncio.sleep(0.3)
                if self.ws is ws:
                    await self._deliver(client_id)

            task = asyncio.create_task(later())
            self.resends.add(task)
            task.add_done_callback(self.resends.discard)

    async def submit(self, frame: Frame) -> None:
        self.pending[frame["id"]] = frame
        await self._deliver(frame["id"])

    def view(self) -> None:
        _report(
            self.who,
            "view",
            shown=self.shown,
            duplicates=self.duplicates,
            pending=list(self.pending),
        )


class Widget(Party):
    """The customer's widget: one conversation, resumed on any replica by its token."""

    path = "/ws/customer"

    def __init__(self, who: str, replicas: list[str], http: aiohttp.ClientSession) -> None:
        self.token: str | None = None
        self.conversation = ""
        super().__init__(who, replicas, http)

    async def _greet(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = {"type": "hello", "v": 1, "token": self.token, "last_seen": self.last_seen()}
        await ws.send_json(hello)

    async def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "welcome":
            self.token, self.conversation = frame["token"], frame["conversation"]
            self.ready = True
            _report(self.who, "connected", replica=self.replica, frame=frame)
            for client_id in list(self.pending):
                await self._deliver(client_id)
        elif kind == "event":
            self._shown(self.conversation, frame)
        elif kind == "ack":
            self.pending.pop(frame["id"], None)
        elif kind == "pong":
            self._pong()
        elif kind == "error":
            self._refused(ws, frame)


class Console(Party):
    """An agent's console: logged in once, its chats re-opened after the last entry shown."""

    path = "/ws/agent"

    def __init__(
        self, who: str, replicas: list[str], http: aiohttp.ClientSession, user: str, password: str
    ) -> None:
        self.user, self.password = user, password
        self.sid = ""
        self.following: list[str] = []
        super().__init__(who, replicas, http)
        # A console's ping is answered after its session is checked in Redis, so a replica
        # that cannot reach Redis answers it with `unavailable` after the storage deadline:
        # wait longer than that before giving the replica up (the console waits 10 s).
        self.pong_within = 5.0

    def _options(self) -> dict[str, Any]:
        return {"headers": {"Cookie": f"ha_session={self.sid}"}}

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        if not self.sid:
            body = {"username": self.user, "password": self.password}
            async with self.http.post(
                self.replica + "/api/login",
                json=body,
                timeout=aiohttp.ClientTimeout(total=CONNECT_WITHIN),
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"login: {response.status} {await response.text()}")
                self.sid = response.cookies["ha_session"].value
            self.http.cookie_jar.clear()
        return await super()._open()

    async def _greet(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        pass  # the server speaks first

    async def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> None:
        kind = frame.get("type")
        cid = frame.get("conversation")
        if kind == "hello":
            self.ready = True
            _report(self.who, "connected", replica=self.replica, frame=frame)
            await ws.send_json({"type": "presence", "status": "online"})
            for chat in self.following:
                opening = {"type": "open", "conversation": chat, "last_seen": self.last_seen(chat)}
                await ws.send_json(opening)
            for client_id in list(self.pending):
                await self._deliver(client_id)
        elif kind == "event" and isinstance(cid, str) and cid in self.following:
            self._shown(cid, frame)
        elif kind == "claimed" and isinstance(cid, str) and cid not in self.following:
            self.following.append(cid)
        elif kind == "ack":
            self.pending.pop(frame["id"], None)
        elif kind == "pong":
            self._pong()
        elif kind == "error":
            self._refused(ws, frame)

    async def claim(self, cid: str) -> None:
        if self.ws is not None and self.ready:
            await self.ws.send_json({"type": "claim", "conversation": cid})


async def _main() -> None:
    parties: dict[str, Party] = {}
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with aiohttp.ClientSession() as http:
        _report("-", "ready")
        while line := await reader.readline():
            command = json.loads(line)
            who, do = command.get("who", ""), command["do"]
            if do == "customer":
                parties[who] = Widget(who, command["replicas"], http)
            elif do == "agent":
                parties[who] = Console(
                    who, command["replicas"], http, command["user"], command["password"]
                )
            elif do == "send":
                frame = {"type": "message", "id": command["id"], "text": command["text"]}
                await parties[who].submit(frame)
            elif do == "say":
                await parties[who].submit(
                    {
                        "type": "message",
                        "conversation": command["conversation"],
                        "id": command["id"],
                        "text": command["text"],
                    }
                )
            elif do == "claim":
                party = parties[who]
                assert isinstance(party, Console)
                await party.claim(command["conversation"])
            elif do == "view":
                parties[who].view()


# --- the test's side ---------------------------------------------------------------------------

Predicate = Callable[[Report], bool]


class Parties:
    """The program above running in a host (`host.popen`), driven from the test's loop."""

    def __init__(self, host: Any, python: Path, cwd: Path, log: Path) -> None:
        """`log` gets the program's stderr; every report is also kept beside it, in
        `<log>.reports.jsonl`, to read after a failure."""
        self.host = host
        self.reports: list[Report] = []
        self._kept = log.with_suffix(".reports.jsonl").open("a")
        self._changed = asyncio.Event()
        self.process = host.popen(
            [str(python), "-m", "tests.support.parties"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
        )
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self.process.stdout
        )
        while line := await reader.readline():
            self.reports.append(json.loads(line))
            self._kept.write(line.decode())
            self._changed.set()
        self._kept.close()
        self._changed.set()

    def do(self, do: str, who: str = "", **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"do": do, "who": who, **fields}) + "\n").encode())
        self.process.stdin.flush()

    async def wait_for(self, predicate: Predicate, timeout: float, start: int = 0) -> Report:
        """The first report at index >= start that matches; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        index = start
        while True:
            while index < len(self.reports):
                if predicate(self.reports[index]):
                    return self.reports[index]
                index += 1
            left = deadline - time.monotonic()
            if left <= 0 or self._task.done():
                # Everything since `start` but the pongs, which drown what went wrong.
                seen = [r for r in self.reports[start:] if r.get("frame", {}).get("type") != "pong"]
                last = [json.dumps(r)[:300] for r in seen[-40:]]
                raise AssertionError(
                    f"no matching report within {timeout} s on {self.host.name}; since report "
                    f"{start} (pongs left out):\n" + "\n".join(last)
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))

    async def frame(self, who: str, predicate: Predicate, timeout: float, start: int = 0) -> Report:
        """The first report of a frame `who` received that matches `predicate(frame)`."""
        return await self.wait_for(
            lambda r: r["who"] == who and r["kind"] == "frame" and predicate(r["frame"]),
            timeout,
            start,
        )

    async def view(self, who: str, timeout: float = 10.0) -> Report:
        start = len(self.reports)
        self.do("view", who)
        return await self.wait_for(
            lambda r: r["who"] == who and r["kind"] == "view", timeout, start
        )

    async def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.kill()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


if __name__ == "__main__":
    asyncio.run(_main())
