"""Serving speed of the handoff service, printed as Markdown tables.

    .venv-app/bin/python bench/serving_bench.py [--quick]
                                 [--sections bot,relay,escalation,scaling,memory]
                                                [--baseline REF | --baseline none]

Everything it needs is started here, on free ports, and stopped at the end:

* **bot** — the whole stack through bot/launcher/ (its own var folder, its own Redis, the real
  Rasa server with the trained model, the action server, triage on), plus a second handoff
  process on the same Redis and Rasa with triage off. One bot turn is measured three ways in the
  same run: straight to Rasa's REST webhook (the baseline), through the gateway's customer
  websocket with triage, and without it; closed loop at 1, 20 and 100 concurrent conversations.
  Through the gateway a turn ends when the first bot message reaches the customer's socket.
* **relay** — `python -m handoff` as a subprocess with its own redis-server and a scripted Rasa
  peer; 1,000 customer sockets, every chat `assigned` to an online agent; open-loop load at 100,
  500 and 2,000 messages/s, latency from the customer's send to the agent's socket receiving it;
  the service's RSS per open socket. The baseline is a `ping` → `pong` round trip on a customer
  socket of the same service (one websocket hop, no Redis).
* **escalation** — a customer asks for a person; latency until a logged-in agent's socket gets
  the queue update listing that chat (triage on, as customers meet it).
* **scaling** — the relay load on one replica and on two sharing one Redis (customers and agents
  spread over both, so half the chats cross replicas).
* **memory** — only the service's RSS per open socket, bare and with the chats seated as the
  relay seats them, after a warm-up; a minute or two per code (not in the default set).

Every handoff figure is measured twice in the same run: with this checkout's code, and with the
code of a baseline commit (`--baseline`, by default main before the serving work of issue 20),
exported with `git archive` into the temporary folder and run by the same Python environment
(without hiredis when the baseline's requirements do not list it, as they did not). Both run
side by side on the same machine, interleaved rate by rate, so the ratios hold on a busy machine
where the absolute times do not. The summary at the end puts the issue's figures next to its goals.

The load generator is this process; the service is another. With few cores they compete for
CPU, which the tables say next to `nproc`; the generator's own CPU time per message is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench import machine  # noqa: E402
from handoff.console.accounts import Accounts  # noqa: E402
from handoff.conversations.keys import Keys  # noqa: E402

APP_PYTHON = REPO_ROOT / ".venv-app" / "bin" / "python"
RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
AGENT_PASSWORD = "bench password, not for production"  # noqa: S105 (a throwaway Redis)
ASK_FOR_PERSON = "I want to talk to a person please"
# Routine questions the assistant answers itself (FAQ topics), asked in turn.
ROUTINE_QUESTIONS = (
    "what are your hours",
    "what payment methods do you accept",
    "do you have a physical store",
    "how long does shipping take",
    "hello",
    "can I pay with paypal",
)
Frame = dict[str, Any]
# --profile DIR: run the handoff replicas under cProfile, one stats file each.
PROFILE_DIR: Path | None = None
# The code measured against: main before hiredis, orjson, uvloop and the console's batched reads.
BASELINE_REF = "ee738c9"
# The figures, by row, as (goal, {code name: figure}); printed at the end.
SUMMARY: dict[str, tuple[str, dict[str, str]]] = {}


@dataclass(frozen=True)
class Code:
    """The code a handoff replica runs: this checkout, or a commit exported beside it."""

    name: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)


CURRENT = Code("this checkout", REPO_ROOT)


def export_baseline(ref: str, tmp: Path) -> Code:
    """The handoff code of commit `ref`, in a folder of its own (git archive: no worktree)."""
    commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = tmp / f"baseline-{commit}"
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    # Neither the built front end nor the triage model is committed (`make setup` builds them):
    # the checkout's serve both codes.
    build = REPO_ROOT / "handoff" / "static" / "build"
    shutil.copytree(build, folder / "handoff" / "static" / "build", dirs_exist_ok=True)
    env = {"TRIAGE_MODEL_DIR": str(REPO_ROOT / "models" / "triage")}
    if "hiredis" not in (folder / "requirements" / "app.in").read_text():
        # redis-py uses hiredis whenever it can import it; the baseline did not install it.
        blocker = tmp / "without-hiredis"
        (blocker / "hiredis").mkdir(parents=True, exist_ok=True)
        (blocker / "hiredis" / "__init__.py").write_text(
            'raise ImportError("the baseline parses replies with redis-py\'s own parser")\n'
        )
        env["PYTHONPATH"] = str(blocker)
    return Code(f"baseline {commit}", folder, env)


@dataclass(frozen=True)
class Scale:
    levels: tuple[int, ...]  # concurrent conversations for bot turns
    turns_at: dict[int, int]  # level -> messages per conversation
    sockets: int  # open customer sockets for the relay
    rates: tuple[int, ...]  # relay messages per second
    seconds: float  # relay run length per rate
    escalations: int
    agents_capacity: int = 100


FULL = Scale(
    levels=(1, 20, 100),
    turns_at={1: 40, 20: 6, 100: 3},
    sockets=1000,
    rates=(100, 500, 2000),
    seconds=8.0,
    escalations=100,
)
QUICK = Scale(
    levels=(1, 20),
    turns_at={1: 10, 20: 2},
    sockets=100,
    rates=(100, 500),
    seconds=2.0,
    escalations=15,
)


# --- numbers and tables ------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds
    elapsed: float = 0.0
    expected: int = 0
    failures: int = 0
    service_cpu_ms: float = math.nan  # CPU time of the service(s) per delivered message
    generator_cpu_ms: float = math.nan  # and of this load generator

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000 if self.latencies else math.nan

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000 if self.latencies else math.nan

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else math.nan


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "–"
    return f"{value / base:.2f}×"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_note() -> str:
    return (
        f"{machine.machine_note()} The load generator (this process) and the service share "
        "these cores, so the service gets less than all of them."
    )


def emit(text: str = "") -> None:
    print(text, flush=True)


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def stop(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed; run make setup")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            *("redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)),
            *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    stop(process)
    raise SystemExit("redis-server did not start")


@dataclass
class Service:
    """One `python -m handoff` replica."""

    process: subprocess.Popen[bytes]
    url: str

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


def spawn(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """Start a process whose output goes to a log file in its own folder."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)


async def start_service(
    redis_url: str, rasa_url: str, var_dir: Path, secret: str, code: Code = CURRENT, **env: str
) -> Service:
    port = free_port()
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HANDOFF_PORT": str(port),
        "HANDOFF_SECRET": secret,
        "RASA_URLS": rasa_url,
        "RASA_TOKEN": "bench",
        "HARBOR_VAR_DIR": str(var_dir),
        # The load comes from one address and each chat sends far faster than a person.
        "IP_CONNECTIONS_PER_MINUTE": "1000000",
        "CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
        "SOCKET_FRAMES_PER_SECOND": "1000000",
        "AGENT_GRACE_SECONDS": "600",
        "BOT_TURN_TIMEOUT_SECONDS": "60",
        **code.env,
        **env,
    }
    argv = [str(APP_PYTHON), "-m", "handoff"]
    if PROFILE_DIR is not None:
        # cProfile writes when the service exits on SIGTERM (aiohttp shuts down cleanly).
        argv[1:1] = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"handoff-{port}.prof")]
    process = spawn(argv, environment, var_dir / f"handoff-{port}.log", code.folder)
    url = f"http://127.0.0.1:{port}"
    await wait_http(f"{url}/livez", 120, process)
    return Service(process, url)


class ScriptedRasa:
    """Rasa's REST webhook for the relay and escalation runs: a handoff when asked for a
    person (should triage not catch it first), an echo otherwise."""

    def __init__(self) -> None:
        self.webhook_calls = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook_calls += 1
        sender, text = body["sender"], str(body.get("message", ""))
        if "person" in text:
            handoff = {"reason": "human_request", "summary": "Asked for a person."}
            return web.json_response([{"recipient_id": sender, "custom": {"handoff": handoff}}])
        return web.json_response([{"recipient_id": sender, "text": f"echo: {text}"}])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)

        async def empty(request: web.Request) -> web.Response:
            return web.json_response({"events": [], "slots": {}})

        app.router.add_get("/status", empty)
        app.router.add_get("/conversations/{cid}/tracker", empty)
        app.router.add_post("/model/parse", empty)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


# --- websocket peers ---------------------------------------------------------------------------


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


# --- relay -------------------------------------------------------------------------------------


@dataclass
class RelayFloor:
    """Customers whose chats are all assigned to online agents, spread over the replicas."""

    customers: list[Peer]
    agents: list[Peer]
    sessions: list[aiohttp.ClientSession]
    sent: dict[int, float] = field(default_factory=dict)
    received: list[float] = field(default_factory=list)
    expected: int = 0
    all_received: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = 0  # message numbers are never reused, so a late one is never miscounted
    last_frame_at: float = 0.0

    def on_agent_frame(self, frame: Frame) -> None:
        self.last_frame_at = time.perf_counter()
        if frame.get("type") == "event" and frame.get("from") == "customer":
            text = str(frame.get("text", ""))
            if text.startswith("relay "):
                sent = self.sent.pop(int(text[6:]), None)
                if sent is not None:
                    self.received.append(time.perf_counter() - sent)
                    if len(self.received) >= self.expected:
                        self.all_received.set()

    async def close(self) -> None:
        await asyncio.gather(*[p.close() for p in self.customers + self.agents])
        for session in self.sessions:
            await session.close()


async def build_floor(
    replicas: list[Service], redis_url: str, sockets: int, capacity: int, prefix: str
) -> RelayFloor:
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) for _ in replicas]
    agent_count = max(len(replicas), math.ceil(sockets / capacity))
    names = await create_agents(redis_url, agent_count, capacity, prefix)
    agents = [
        await open_agent(sessions[i % len(replicas)], replicas[i % len(replicas)].url, name)
        for i, name in enumerate(names)
    ]
    floor = RelayFloor([], agents, sessions)
    for agent in agents:
        agent.on_frame = floor.on_agent_frame

    async def seat(i: int) -> None:
        """One customer: open a chat, ask for a person, and have an agent claim it."""
        replica = i % len(replicas)
        customer, cid = await open_customer(sessions[replica], replicas[replica].url)
        await escalate(customer, cid)
        agent = agents[i % len(agents)]
        claimed = agent.expect(
            lambda f: f.get("type") in {"claimed", "claim_failed"} and f.get("conversation") == cid
        )
        await agent.send({"type": "claim", "conversation": cid})
        result = await asyncio.wait_for(claimed, 120)
        if result["type"] != "claimed":
            raise RuntimeError(f"claim failed: {result}")
        floor.customers.append(customer)

    # A few at a time, as customers arrive in life: the queue stays short while seating.
    await gather_limited([lambda i=i: seat(i) for i in range(sockets)], 20)
    return floor


async def relay_run(
    floor: RelayFloor,
    services: list[Service],
    rate: int,
    seconds: float,
    tag: str,
    floors: Sequence[RelayFloor] = (),
) -> Sample:
    """Open loop: messages due by the clock are sent every tick, round robin over customers."""
    # An overloaded run leaves a backlog: wait until the agents (of every floor open, as the
    # other code's backlog takes CPU too) have been quiet for a second.
    for _ in range(300):  # at most a minute
        now = time.perf_counter()
        if all(now - f.last_frame_at >= 1.0 for f in (floor, *floors)):
            break
        await asyncio.sleep(0.2)
    cpu_before = sum(s.cpu_seconds() for s in services)
    own_before = time.process_time()
    floor.sent.clear()
    floor.received.clear()
    total = int(rate * seconds)
    floor.expected = total
    floor.all_received.clear()
    sent = 0
    start = time.perf_counter()
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            customer = floor.customers[sent % len(floor.customers)]
            seq = floor.next_seq
            floor.next_seq += 1
            floor.sent[seq] = time.perf_counter()
            await customer.send({"type": "message", "id": f"{tag}-{seq}", "text": f"relay {seq}"})
            sent += 1
        await asyncio.sleep(0.002)
    send_elapsed = time.perf_counter() - start
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(floor.all_received.wait(), 15)
    sample = Sample(list(floor.received), send_elapsed, total, total - len(floor.received))
    if floor.received:
        cpu = sum(s.cpu_seconds() for s in services) - cpu_before
        sample.service_cpu_ms = cpu * 1000 / len(floor.received)
        sample.generator_cpu_ms = (time.process_time() - own_before) * 1000 / len(floor.received)
    await asyncio.sleep(0.5)  # let stragglers drain before the next run
    return sample


async def ping_baseline(floor: RelayFloor, count: int) -> Sample:
    sample = Sample()
    start = time.perf_counter()
    for i in range(count):
        customer = floor.customers[i % len(floor.customers)]
        pong = customer.expect(lambda f: f.get("type") == "pong")
        t0 = time.perf_counter()
        await customer.send({"type": "ping"})
        await asyncio.wait_for(pong, 10)
        sample.latencies.append(time.perf_counter() - t0)
    sample.elapsed = time.perf_counter() - start
    return sample


# --- escalation --------------------------------------------------------------------------------


async def escalation_run(service: Service, redis_url: str, count: int) -> Sample:
    await create_agents(redis_url, 1, 3, "watcher")
    async with aiohttp.ClientSession() as session:
        agent = await open_agent(session, service.url, "watcher0")
        await asyncio.sleep(0.3)  # the first queue frames after connecting
        sample = Sample(expected=count)
        start = time.perf_counter()
        for _ in range(count):
            customer, cid = await open_customer(session, service.url)
            seen = agent.expect(
                lambda f, cid=cid: (
                    f.get("type") == "queue"
                    and any(item["conversation"] == cid for item in f["items"])
                )
            )
            t0 = time.perf_counter()
            await customer.send({"type": "message", "id": "ask", "text": ASK_FOR_PERSON})
            try:
                await asyncio.wait_for(seen, 10)
                sample.latencies.append(time.perf_counter() - t0)
            except asyncio.TimeoutError:
                sample.failures += 1
            back = customer.expect(lambda f: f.get("event") == "state" and f.get("state") == "bot")
            await customer.send({"type": "cancel_queue"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(back, 10)
            await customer.close()
            # Arrivals at random moments, not in step with the console's refresh.
            await asyncio.sleep(0.05 + secrets.randbelow(100) / 1000)
        sample.elapsed = time.perf_counter() - start
        await agent.close()
    return sample


# --- bot turns with the real stack -------------------------------------------------------------


@dataclass
class Stack:
    launcher: subprocess.Popen[bytes]
    url: str
    rasa_url: str
    redis_url: str
    var_dir: Path


async def start_stack(var_dir: Path) -> Stack:
    ports = {
        name: free_port()
        for name in ("HANDOFF_PORT", "RASA_PORT", "ACTIONS_PORT", "PRIVATE_REDIS_PORT")
    }
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(
        {
            "HARBOR_VAR_DIR": str(var_dir),
            "ORDERS_DATABASE_URL": f"sqlite:///{var_dir / 'orders.sqlite3'}",
            "IP_CONNECTIONS_PER_MINUTE": "1000000",
            "CUSTOMER_MESSAGES_PER_MINUTE": "1000000",
            "SOCKET_FRAMES_PER_SECOND": "1000000",
            "BOT_TURN_TIMEOUT_SECONDS": "60",
        }
    )
    output = var_dir / "launcher.out"
    launcher = spawn([str(RASA_PYTHON), "-m", "bot.launcher"], env, output)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise RuntimeError(f"the launcher exited: {output.read_text()[-2000:]}")
        if "Harbor Assist is running." in output.read_text():
            return Stack(
                launcher,
                f"http://127.0.0.1:{ports['HANDOFF_PORT']}",
                f"http://127.0.0.1:{ports['RASA_PORT']}",
                f"redis://127.0.0.1:{ports['PRIVATE_REDIS_PORT']}/0",
                var_dir,
            )
        await asyncio.sleep(0.5)
    stop(launcher, signal.SIGINT)
    raise RuntimeError("the stack did not start in time")


def is_answer(frame: Frame) -> bool:
    # The bot answered, or the turn ended in an escalation instead of an answer.
    return frame.get("type") == "event" and (
        frame.get("from") == "bot"
        or frame.get("event") in {"offer_leave_message"}
        or (frame.get("event") == "state" and frame.get("state") == "queued")
    )


async def direct_conversation(
    session: aiohttp.ClientSession, rasa_url: str, turns: int, sample: Sample
) -> None:
    sender = secrets.token_hex(16)
    for turn in range(turns):
        text = ROUTINE_QUESTIONS[turn % len(ROUTINE_QUESTIONS)]
        t0 = time.perf_counter()
        try:
            async with session.post(
                f"{rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                timeout=aiohttp.ClientTimeout(total=120),
            ) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        if ok:
            sample.latencies.append(time.perf_counter() - t0)
        else:
            sample.failures += 1


async def gateway_conversation(
    session: aiohttp.ClientSession, base: str, turns: int, sample: Sample
) -> None:
    customer, _ = await open_customer(session, base)
    try:
        for turn in range(turns):
            text = ROUTINE_QUESTIONS[turn % len(ROUTINE_QUESTIONS)]
            answered = customer.expect(is_answer)
            t0 = time.perf_counter()
            await customer.send({"type": "message", "id": f"t{turn}", "text": text})
            try:
                frame = await asyncio.wait_for(answered, 120)
            except asyncio.TimeoutError:
                sample.failures += 1
                continue
            if frame.get("from") == "bot" and "trouble answering" not in frame.get("text", ""):
                sample.latencies.append(time.perf_counter() - t0)
            else:
                sample.failures += 1  # escalated or apologised: not a bot turn
                return
    finally:
        await customer.close()


async def gateway_at(url: str, session: aiohttp.ClientSession, turns: int, sample: Sample) -> None:
    await gateway_conversation(session, url, turns, sample)


async def bot_turns(scale: Scale, tmp: Path, codes: Sequence[Code]) -> None:
    emit("### Bot turn: gateway websocket vs Rasa's REST webhook (real Rasa, trained model)")
    emit()
    started = time.monotonic()
    stack = await start_stack(tmp / "stack")
    services: list[Service] = []
    try:
        emit(f"_stack started by bot/launcher in {time.monotonic() - started:.0f} s_")
        secret = (stack.var_dir / "handoff-secret").read_text().strip()
        token = (stack.var_dir / "rasa-token").read_text().strip()
        no_triage = await start_service(
            stack.redis_url,
            stack.rasa_url,
            tmp / "no-triage",
            secret,
            RASA_TOKEN=token,
            TRIAGE_ENABLED="0",
        )
        services.append(no_triage)
        paths: dict[str, Callable[[aiohttp.ClientSession, int, Sample], Awaitable[None]]] = {
            "Rasa REST webhook (baseline)": lambda s, n, out: direct_conversation(
                s, stack.rasa_url, n, out
            ),
            "gateway websocket, triage on": lambda s, n, out: gateway_conversation(
                s, stack.url, n, out
            ),
            "gateway websocket, triage off": lambda s, n, out: gateway_conversation(
                s, no_triage.url, n, out
            ),
        }
        # The other codes' gateways, triage on, beside the stack's on the same Rasa and Redis.
        for code in codes:
            if code is CURRENT:
                continue
            other = await start_service(
                stack.redis_url,
                stack.rasa_url,
                tmp / code.name.replace(" ", "-"),
                secret,
                code,
                RASA_TOKEN=token,
            )
            services.append(other)
            paths[f"gateway websocket, triage on, {code.name}"] = functools.partial(
                gateway_at, other.url
            )
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for run in paths.values():  # warm up Rasa's graph and each path
                await run(session, 4, Sample())
            rows = []
            by_level: dict[int, dict[str, tuple[Sample, Sample]]] = {}
            for level in scale.levels:
                turns = scale.turns_at[level]
                results: dict[str, Sample] = {}
                for name, run in paths.items():
                    sample = Sample(expected=level * turns)
                    t0 = time.perf_counter()
                    await asyncio.gather(*[run(session, turns, sample) for _ in range(level)])
                    sample.elapsed = time.perf_counter() - t0
                    results[name] = sample
                base = next(iter(results.values()))
                by_level[level] = {name: (sample, base) for name, sample in results.items()}
                for name, sample in results.items():
                    rows.append(
                        [
                            str(level),
                            name,
                            f"{len(sample.latencies)}/{sample.expected}",
                            ms(sample.p50_ms),
                            ms(sample.p99_ms),
                            f"{sample.rate:.1f}",
                            ratio(sample.p50_ms, base.p50_ms),
                            ratio(sample.p99_ms, base.p99_ms),
                            ratio(base.rate, sample.rate),
                        ]
                    )
        emit()
        emit(
            table(
                [
                    "concurrent conversations",
                    "path",
                    "turns ok",
                    "p50 ms",
                    "p99 ms",
                    "messages/s",
                    "p50 ÷ baseline",
                    "p99 ÷ baseline",
                    "time per message ÷ baseline",
                ],
                rows,
            )
        )
        emit()
        emit(
            "Closed loop: each conversation sends its next question when the answer arrived. "
            "Through the gateway a turn is the customer's send until the first bot message on "
            "the socket (stored in the transcript first); the baseline is the webhook's whole "
            "HTTP answer. Aim: gateway ÷ baseline ≤ 1.1×. "
            + machine_note()
            + " Rasa, the action server and Redis share them too."
        )
        emit()
        summarise_bot_turns(by_level, codes)
    finally:
        for service in services:
            stop(service.process)
        stop(stack.launcher, signal.SIGINT)


def summarise_bot_turns(
    by_level: dict[int, dict[str, tuple[Sample, Sample]]], codes: Sequence[Code]
) -> None:
    """The issue's bot-turn rows: the gateway (triage on) of each code ÷ the webhook."""

    def path_of(code: Code) -> str:
        suffix = "" if code is CURRENT else f", {code.name}"
        return f"gateway websocket, triage on{suffix}"

    def figure(level: int, code: Code, what: str) -> str:
        found = by_level.get(level, {}).get(path_of(code))
        if found is None:
            return "–"
        sample, base = found
        if what == "p50":
            return ratio(sample.p50_ms, base.p50_ms)
        if what == "p99":
            return ratio(sample.p99_ms, base.p99_ms)
        return ratio(base.rate, sample.rate)

    levels = sorted(by_level)
    for what, label, goal in (
        ("p50", "p50", "≤ 1.1×"),
        ("rate", "time per message", "≤ 1.1×"),
        ("p99", "p99", "≤ 1.2×"),
    ):
        summarise(
            f"bot turn, gateway ÷ Rasa webhook, {label}, {' / '.join(map(str, levels))} "
            "conversations",
            goal,
            {code.name: " / ".join(figure(n, code, what) for n in levels) for code in codes},
        )


# --- relay, escalation and scaling with a scripted Rasa ----------------------------------------


async def with_replicas(
    count: int, tmp: Path, name: str, rasa: ScriptedRasa, code: Code
) -> tuple[list[Service], subprocess.Popen[bytes], str]:
    redis_process, redis_url = start_redis(tmp / f"{name}-redis")
    secret = secrets.token_hex(32)
    replicas = [
        await start_service(redis_url, rasa.url, tmp / f"{name}-{i}", secret, code)
        for i in range(count)
    ]
    return replicas, redis_process, redis_url


@dataclass
class Deployment:
    """One code's replicas on their own Redis, with the relay floor built on them."""

    code: Code
    replicas: list[Service]
    redis_process: subprocess.Popen[bytes]
    redis_url: str
    floor: RelayFloor | None = None
    runs: dict[int, Sample] = field(default_factory=dict)
    ping: Sample = field(default_factory=Sample)
    per_socket: float = math.nan
    rss: int = 0

    async def stop(self) -> None:
        if self.floor is not None:
            await self.floor.close()
        for replica in self.replicas:
            stop(replica.process)
        stop(self.redis_process)


async def deploy(
    codes: Sequence[Code], count: int, tmp: Path, prefix: str, rasa: ScriptedRasa
) -> list[Deployment]:
    deployments = []
    for i, code in enumerate(codes):
        replicas, redis_process, redis_url = await with_replicas(
            count, tmp, f"{prefix}{i}", rasa, code
        )
        deployments.append(Deployment(code, replicas, redis_process, redis_url))
    return deployments


async def relay_rates(scale: Scale, deployments: list[Deployment], tag: str) -> None:
    """Every rate on every deployment, interleaved: a busy spell on a shared machine hits
    both codes, and the order alternates from one rate to the next."""
    floors = [d.floor for d in deployments if d.floor is not None]
    services = [replica for d in deployments for replica in d.replicas]
    for n, rate in enumerate(scale.rates):
        order = deployments if n % 2 == 0 else deployments[::-1]
        for d in order:
            assert d.floor is not None
            await cpu_quiet(services)
            d.runs[rate] = await relay_run(
                d.floor, d.replicas, rate, scale.seconds, f"{tag}{rate}", floors
            )


async def cpu_quiet(services: Sequence[Service], most: float = 0.1, within: float = 30.0) -> None:
    """Wait until the services together use at most `most` of a core (at most `within` s).

    Seating a thousand chats, or an overloaded run, leaves work behind (the archive copies every
    chat written, the backlog drains): measured meanwhile, it would be charged to the next run,
    which may be another code's."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in services)
        await asyncio.sleep(1.0)
        if sum(s.cpu_seconds() for s in services) - before <= most:
            return


async def relay_and_escalation(
    scale: Scale, tmp: Path, sections: set[str], codes: Sequence[Code]
) -> None:
    rasa = ScriptedRasa()
    await rasa.start()
    one: list[Deployment] = []
    try:
        one = await deploy(codes, 1, tmp, "one", rasa)
        if "escalation" in sections:
            print_escalation(scale, [(d, await escalation(d, rasa, scale)) for d in one])
        if sections & {"relay", "scaling"}:
            for d in one:
                service = d.replicas[0]
                rss_before = service.rss_bytes()
                d.floor = await build_floor(
                    d.replicas, d.redis_url, scale.sockets, scale.agents_capacity, "one"
                )
                await asyncio.sleep(1.0)
                d.rss = service.rss_bytes()
                d.per_socket = (d.rss - rss_before) / (scale.sockets + len(d.floor.agents))
                d.ping = await ping_baseline(d.floor, 200)
            await relay_rates(scale, one, "a")
            if "relay" in sections:
                print_relay(scale, one)
    finally:
        for d in one:
            await d.stop()
    try:
        if "scaling" in sections:
            two = await deploy(codes, 2, tmp, "two", rasa)
            try:
                for d in two:
                    d.floor = await build_floor(
                        d.replicas, d.redis_url, scale.sockets, scale.agents_capacity, "two"
                    )
                await relay_rates(scale, two, "b")
            finally:
                for d in two:
                    await d.stop()
            print_scaling(scale, one, two)
    finally:
        await rasa.stop()


async def escalation(d: Deployment, rasa: ScriptedRasa, scale: Scale) -> tuple[Sample, int, Sample]:
    """(escalation latencies, how many Rasa escalated rather than triage, an idle ping)."""
    calls_before = rasa.webhook_calls
    sample = await escalation_run(d.replicas[0], d.redis_url, scale.escalations)
    return sample, rasa.webhook_calls - calls_before, await idle_ping(d.replicas[0])


# --- memory per open socket, alone -------------------------------------------------------------


@dataclass
class Memory:
    """RSS growth per socket of one replica: bare customer sockets (after `welcome`), and chats
    seated as the relay seats them (escalated, claimed; the agents' sockets counted too)."""

    bare: float = math.nan
    seated: float = math.nan


async def memory_section(scale: Scale, tmp: Path, codes: Sequence[Code]) -> None:
    """Memory only, without the relay's load runs: a minute per code rather than many.

    Each replica first opens and closes a few sockets and seats a few chats, so what the first
    of them pays once (the triage model, pools, caches) is not charged to every socket."""
    rasa = ScriptedRasa()
    await rasa.start()
    results: list[tuple[Code, Memory]] = []
    sockets = max(scale.sockets, 500)  # fewer, and the page-sized steps of RSS show
    try:
        for i, code in enumerate(codes):
            replicas, redis_process, redis_url = await with_replicas(1, tmp, f"mem{i}", rasa, code)
            service = replicas[0]
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            peers: list[Peer] = []
            floors: list[RelayFloor] = []
            memory = Memory()
            try:
                warm = await build_floor(replicas, redis_url, 20, scale.agents_capacity, "warm")
                await warm.close()
                await cpu_quiet(replicas, 0.05, 15)
                before = service.rss_bytes()
                one = functools.partial(open_customer, session, service.url)
                opened = await gather_limited([one] * sockets, 20)
                peers = [peer for peer, _ in opened]
                await cpu_quiet(replicas, 0.05, 15)
                memory.bare = (service.rss_bytes() - before) / sockets
                before = service.rss_bytes()
                floors.append(
                    await build_floor(replicas, redis_url, sockets, scale.agents_capacity, "m")
                )
                await cpu_quiet(replicas, 0.05, 15)
                seated = len(floors[0].customers) + len(floors[0].agents)
                memory.seated = (service.rss_bytes() - before) / seated
            finally:
                await asyncio.gather(*[peer.close() for peer in peers])
                for floor in floors:
                    await floor.close()
                await session.close()
                stop(service.process)
                stop(redis_process)
            results.append((code, memory))
    finally:
        await rasa.stop()
    emit("### Memory per open socket")
    emit()
    rows = [[c.name, f"{m.bare / 1024:.1f}", f"{m.seated / 1024:.1f}"] for c, m in results]
    emit(table(["code", "bare customer socket KiB", "seated chat KiB"], rows))
    emit()
    emit(
        f"RSS growth of one replica over {sockets} customer sockets opened after a warm-up: "
        "bare (after `welcome`, idle), then as many more chats seated as the relay seats them "
        "(escalated and claimed, over customer and agent sockets). The relay section's figure "
        "is the seated one, measured without a warm-up."
    )
    emit()
    summarise(
        "memory per open socket (memory section, seated)",
        "≤ 16 KiB",
        {c.name: f"{m.seated / 1024:.1f} KiB" for c, m in results},
    )


def print_escalation(
    scale: Scale, results: list[tuple[Deployment, tuple[Sample, int, Sample]]]
) -> None:
    emit("### Escalation → the agent's console sees it")
    emit()
    rows = [
        [
            d.code.name,
            f"{len(sample.latencies)}/{scale.escalations}",
            ms(sample.p50_ms),
            ms(sample.p99_ms),
            ratio(sample.p50_ms, ping.p50_ms),
            ratio(sample.p99_ms, ping.p99_ms),
            f"{scale.escalations - by_rasa}",
            f"{ms(ping.p50_ms)} / {ms(ping.p99_ms)}",
        ]
        for d, (sample, by_rasa, ping) in results
    ]
    emit(
        table(
            [
                "code",
                "escalations",
                "p50 ms",
                "p99 ms",
                "p50 ÷ ping",
                "p99 ÷ ping",
                "by triage",
                "idle ping p50 / p99 ms",
            ],
            rows,
        )
    )
    emit()
    emit(
        "From the customer's `message` asking for a person to a logged-in agent's socket "
        "receiving the `queue` frame that lists the chat (triage on; `by triage`: escalated "
        "before Rasa). Baseline: a customer `ping` → `pong` round trip on the idle service. "
        "Aim: p99 ≤ 100 ms. " + machine_note()
    )
    emit()
    summarise(
        "escalation → agent's console, p99",
        "≤ 100 ms",
        {d.code.name: f"{ms(sample.p99_ms)} ms" for d, (sample, _, _) in results},
    )


async def idle_ping(service: Service) -> Sample:
    async with aiohttp.ClientSession() as session:
        customer, _ = await open_customer(session, service.url)
        floor = RelayFloor([customer], [], [])
        sample = await ping_baseline(floor, 200)
        await customer.close()
    return sample


def summarise(row: str, goal: str, figures: dict[str, str]) -> None:
    SUMMARY[row] = (goal, figures)


def cpu_range(runs: dict[int, Sample]) -> str:
    values = [s.service_cpu_ms for s in runs.values() if not math.isnan(s.service_cpu_ms)]
    return f"{min(values):.2f}–{max(values):.2f} ms" if values else "–"


def print_relay(scale: Scale, deployments: list[Deployment]) -> None:
    emit(f"### Relay customer → agent, {scale.sockets} open customer sockets, all assigned")
    emit()
    rows = []
    for rate in scale.rates:
        base = deployments[0].runs.get(rate)
        for d in deployments:
            sample = d.runs.get(rate)
            if sample is None:
                continue
            rows.append(
                [
                    str(rate),
                    d.code.name,
                    f"{sample.expected / sample.elapsed:.0f}",
                    f"{len(sample.latencies)}/{sample.expected}",
                    ms(sample.p50_ms),
                    ms(sample.p99_ms),
                    ratio(sample.p99_ms, d.ping.p99_ms),
                    ratio(sample.p99_ms, base.p99_ms) if base else "–",
                    f"{sample.service_cpu_ms:.2f}",
                    ratio(sample.service_cpu_ms, base.service_cpu_ms) if base else "–",
                    f"{sample.generator_cpu_ms:.2f}",
                ]
            )
    emit(
        table(
            [
                "target messages/s",
                "code",
                "sent messages/s",
                "delivered",
                "p50 ms",
                "p99 ms",
                "p99 ÷ ping",
                "p99 ÷ first code",
                "service CPU ms/message",
                "CPU ÷ first code",
                "generator CPU ms/message",
            ],
            rows,
        )
    )
    emit()
    sockets = "; ".join(
        f"{d.code.name}: RSS {d.rss / 2**20:.0f} MiB with the sockets open, "
        f"**{d.per_socket / 1024:.1f} KiB per open socket**, idle `ping` → `pong` p50 "
        f"{ms(d.ping.p50_ms)} ms, p99 {ms(d.ping.p99_ms)} ms"
        for d in deployments
    )
    emit(
        f"Each rate runs {scale.seconds:.0f} s, open loop, round robin over the customers, on "
        "each code in turn (the order alternates by rate); latency is the customer's send until "
        "the agent's socket receives the `event`; `delivered` counts what arrived within 15 s "
        f"of the last send. Aim: p99 ≤ 20 ms at 500 messages/s. {sockets} (RSS growth from "
        "opening the sockets and their chats, over customer and agent sockets). " + machine_note()
    )
    emit()
    names = {d.code.name: d for d in deployments}
    if 500 in scale.rates:
        summarise(
            "relay at 500 msg/s, one replica, p99",
            "≤ 20 ms",
            {n: f"{ms(d.runs[500].p99_ms)} ms" for n, d in names.items() if 500 in d.runs},
        )
    summarise(
        "service CPU per relayed message (one replica, each rate)",
        "≤ 0.4 ms",
        {n: cpu_range(d.runs) for n, d in names.items()},
    )
    summarise(
        "memory per open socket",
        "≤ 16 KiB",
        {n: f"{d.per_socket / 1024:.1f} KiB" for n, d in names.items()},
    )


def print_scaling(scale: Scale, one: list[Deployment], two: list[Deployment]) -> None:
    emit("### Scaling: the relay load on one replica and on two sharing one Redis")
    emit()
    rows = []
    for rate in scale.rates:
        for a, b in zip(one, two, strict=True):
            x, y = a.runs.get(rate), b.runs.get(rate)
            if x is None or y is None:
                continue
            rows.append(
                [
                    str(rate),
                    a.code.name,
                    f"{ms(x.p50_ms)} / {ms(x.p99_ms)}",
                    f"{ms(y.p50_ms)} / {ms(y.p99_ms)}",
                    f"{len(x.latencies)}/{x.expected} · {len(y.latencies)}/{y.expected}",
                    ratio(y.p99_ms, x.p99_ms),
                    f"{x.service_cpu_ms:.2f} / {y.service_cpu_ms:.2f}",
                ]
            )
    emit(
        table(
            [
                "target messages/s",
                "code",
                "1 replica p50 / p99 ms",
                "2 replicas p50 / p99 ms",
                "delivered (1 · 2)",
                "p99 2÷1",
                "service CPU ms/message (1 / 2)",
            ],
            rows,
        )
    )
    emit()
    emit(
        f"{scale.sockets} customer sockets and their agents spread evenly over the replicas; "
        "half of the chats have the customer on one replica and the agent on the other. "
        + machine_note()
        + " Two replicas on the same two cores add processes, not cores: this shows that "
        "sharing one Redis works and what it costs, not the gain of a second machine."
    )
    emit()
    top = max(scale.rates)
    summarise(
        f"relay at {top} msg/s, two replicas, p99",
        "≤ 50 ms",
        {d.code.name: f"{ms(d.runs[top].p99_ms)} ms" for d in two if top in d.runs},
    )


def print_summary(codes: Sequence[Code]) -> None:
    if not SUMMARY:
        return
    emit("### Summary: issue 20's figures, each code in this run")
    emit()
    rows = [
        [row, goal, *[figures.get(code.name, "–") for code in codes]]
        for row, (goal, figures) in SUMMARY.items()
    ]
    emit(table(["figure", "goal", *[code.name for code in codes]], rows))
    emit()


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument(
        "--sections",
        default="",
        help="comma-separated: bot, relay, escalation, scaling, memory (default: all but "
        "memory, which relay covers; with --quick, also not bot, which needs Rasa's start-up)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the handoff replicas under cProfile and write their stats into DIR",
    )
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        metavar="REF",
        help=f"the commit whose code every figure is compared with (default {BASELINE_REF}, "
        "main before the serving work); 'none' measures this checkout only",
    )
    args = parser.parse_args(argv)
    if args.profile is not None:
        global PROFILE_DIR
        PROFILE_DIR = args.profile.resolve()
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    scale = QUICK if args.quick else FULL
    default = "relay,escalation,scaling" if args.quick else "bot,relay,escalation,scaling"
    sections = {s.strip() for s in (args.sections or default).split(",") if s.strip()}
    unknown = sections - {"bot", "relay", "escalation", "scaling", "memory"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    emit(f"Serving benchmark{' (quick)' if args.quick else ''}; `nproc` = {machine.cores()}.")
    emit()
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as folder:
        tmp = Path(folder)
        codes = [CURRENT]
        if args.baseline != "none":
            codes.insert(0, export_baseline(args.baseline, tmp))
        emit(
            "Code measured: "
            + "; ".join(f"**{code.name}** ({code.folder})" for code in codes)
            + f"; this checkout is at commit {git_head()}."
        )
        emit()
        if "bot" in sections:
            await bot_turns(scale, tmp, codes)
        if sections & {"relay", "escalation", "scaling"}:
            await relay_and_escalation(scale, tmp, sections, codes)
        if "memory" in sections:
            await memory_section(scale, tmp, codes)
        print_summary(codes)
    return 0


def git_head() -> str:
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head + (" with uncommitted changes" if dirty else "")


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
