"""Fuzzing the customer and agent websockets (Hypothesis) and the HTTP API (schemathesis).

A real app on a real Redis, with a scripted Rasa peer. Whatever arrives, the service must not
answer 5xx, must not log an unhandled error, must keep each socket either serving or closed
with a clear code, and the conversation that was fuzzed must still get its answer afterwards.
Compression bombs and deeply nested or oversized inputs are rejected with a clear error.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import resource
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from redis.asyncio import Redis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.web import openapi
from tests.app.conftest import AppFactory
from tests.support.clients import PASSWORD, frames_until, is_bot_message, login
from tests.support.figures import record_figure

# Examples per Hypothesis run; FUZZ_EXAMPLES=500 for a longer hunt outside make test.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FRAME_LIMIT = 16 * 1024  # the default MAX_FRAME_BYTES
# Close codes a fuzzed socket may end with: each one says clearly why.
CLEAR_CLOSES = {1000, 1002, 1003, 1007, 1009, 4400, 4401, 4408}


def drawn(strategy: st.SearchStrategy[Any], count: int = EXAMPLES) -> list[Any]:
    """`count` examples of a strategy, reproducible (derandomized).

    Hypothesis cannot drive a coroutine that shares the event loop with the server under test,
    so it generates the inputs and the test plays them; a failure names the example it played.
    """
    examples: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        examples.append(value)

    collect()
    return examples


# --- strategies ----------------------------------------------------------------------------------

CUSTOMER_TYPES = ["hello", "message", "typing", "cancel_queue", "leave_message", "rating", "ping"]
AGENT_TYPES = [
    "presence",
    "claim",
    "message",
    "typing",
    "transfer",
    "return_to_bot",
    "close",
    "open",
    "leave",
    "ping",
]
FIELDS = [
    "type", "id", "text", "on", "email", "score", "comment", "token", "last_seen", "v",
    "conversation", "status", "to_agent", "to_team", "notes", "tags",
]  # fmt: skip

odd_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.sampled_from(
        [
            "\ud800",  # a lone surrogate: valid in JSON, not encodable as UTF-8
            "\x00",
            "\u202e<script>alert(1)</script>",
            "' OR 1=1 --",
            "{{7*7}}",
            "../../etc/passwd",
            "ha:conv:*",
            "0-0",
            "9999999999999-0",
            "-",
            "+",
            "v1." + "a" * 150,
        ]
    ),
    st.builds(lambda n: "x" * n, st.integers(0, 3000)),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def frame_objects(types: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid-ish frames: a known (or odd) type, known field names with values of any type."""
    return st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.one_of(st.sampled_from(types), json_values),
        st.dictionaries(st.sampled_from(FIELDS[1:]) | odd_text, json_values, max_size=6),
    )


def wire_frames(types: list[str]) -> st.SearchStrategy[tuple[str, Any]]:
    """What goes on the wire: JSON text, garbage text, binary, nesting, oversized frames."""
    objects = st.tuples(st.just("json"), frame_objects(types))
    # Mostly frames the handlers must look into; an oversized one ends the socket, so it comes
    # last in a sequence and rarely (see `sequences`).
    return st.one_of(
        objects,
        objects,
        objects,
        st.tuples(st.just("json"), json_values),
        st.tuples(st.just("text"), odd_text),
        st.tuples(st.just("binary"), st.binary(max_size=200)),
        st.tuples(st.just("nested"), st.integers(10, 2000)),
    )


def sequences(types: list[str]) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """What one client sends on one socket: 10-60 frames, one in eight ending oversized."""
    oversized = st.tuples(st.just("oversized"), st.integers(FRAME_LIMIT + 1, FRAME_LIMIT * 8))
    return st.builds(
        lambda frames, last: frames + last,
        st.lists(wire_frames(types), min_size=10, max_size=60),
        st.one_of(*[st.just([])] * 7, oversized.map(lambda frame: [frame])),
    )


def encode(kind: str, value: Any) -> str | bytes:
    if kind == "json":
        return json.dumps(value)
    if kind == "nested":
        # Within the frame limit either way; lists deep enough to exhaust the JSON parser.
        if value % 2:
            return "[" * value + "]" * value
        depth = value // 3
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "oversized":
        return json.dumps({"type": "message", "id": "big", "text": "y" * value})
    if kind == "binary":
        return bytes(value)
    return str(value)


# --- what every fuzz run checks ------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Collects errors the service logs (an unhandled exception in a handler is logged here)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def error_log() -> Any:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def fuzz_app(make_client: AppFactory) -> Any:
    # Limits high enough that fuzzed frames reach the handlers (the flood tests check limits).
    return make_client(
        max_frame_bytes=FRAME_LIMIT,
        socket_frames_per_second=100000.0,
        customer_rate_per_minute=100000,
        ip_connections_per_minute=100000,
        login_failures_allowed=100000,
    )


async def send_all(
    ws: Any, frames: list[tuple[str, Any]], sent: list[int] | None = None
) -> int | None:
    """Send the frames; the close code if the server closed the socket on the way, else None.

    `sent` (when given) gets the number of frames that went out before any close."""
    count = 0
    for kind, value in frames:
        if ws.closed:
            break
        data = encode(kind, value)
        try:
            if isinstance(data, bytes):
                await ws.send_bytes(data)
            else:
                # A lone surrogate goes out as the invalid UTF-8 a hostile client would send.
                await ws.send_frame(data.encode("utf-8", "surrogatepass"), WSMsgType.TEXT)
        except ConnectionResetError:
            break
        count += 1
    if sent is not None:
        sent.append(count)
    if not ws.closed:
        await ws.send_str(json.dumps({"type": "ping"}))
    while True:
        try:
            msg = await ws.receive(timeout=5)
        except TimeoutError:
            raise AssertionError("the socket neither answered a ping nor closed") from None
        if msg.type == WSMsgType.TEXT:
            frame = json.loads(msg.data)
            assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
            if frame["type"] == "pong":
                return None
            continue
        assert msg.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING}, msg
        return ws.close_code


async def still_answered(client: TestClient, token: str, n: int) -> str:
    """The fuzzed conversation, resumed, still gets a bot answer; returns the fresh token."""
    ws = await client.ws_connect("/ws/customer")
    await ws.send_json({"type": "hello", "v": 1, "token": token})
    welcome = await ws.receive_json(timeout=5)
    assert welcome["type"] == "welcome", welcome
    text = f"is my order on its way {n}"
    await ws.send_json({"type": "message", "id": f"after-fuzz-{n}", "text": text})
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not any(is_bot_message(f) and f["text"] == f"echo: {text}" for f in seen):
        try:
            seen.append(await ws.receive_json(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            raise AssertionError(f"no answer after the fuzz; frames: {seen}") from None
    await ws.close()
    return str(welcome["token"])


# --- the customer websocket ----------------------------------------------------------------------


async def test_fuzzed_customer_frames_never_break_the_gateway(
    make_client: AppFactory, error_log: ErrorLog
) -> None:
    # Drawn before the app starts: generating blocks the event loop the app would run on.
    examples = drawn(
        st.tuples(
            st.one_of(
                st.just(("json", {"type": "hello", "v": 1, "token": None})),
                wire_frames(["hello"]),
            ),
            sequences(CUSTOMER_TYPES),
        )
    )
    client = await fuzz_app(make_client)
    counts = {"frames": 0, "answered_after": 0}
    closes: dict[int, int] = {}

    async def run(hello: tuple[str, Any], frames: list[tuple[str, Any]]) -> None:
        ws = await client.ws_connect("/ws/customer")
        # A real hello first (so there is a conversation to check), then the fuzzed one.
        await ws.send_json({"type": "hello", "v": 1, "token": None})
        welcome = await ws.receive_json(timeout=5)
        sent: list[int] = []
        code = await send_all(ws, [hello, *frames], sent)
        counts["frames"] += sent[0]
        await ws.close()
        assert code is None or code in CLEAR_CLOSES, code
        if code is not None:
            closes[code] = closes.get(code, 0) + 1
        await still_answered(client, welcome["token"], counts["frames"])
        counts["answered_after"] += 1
        # A fuzzed hello as the first frame: refused clearly or a chat of its own, never a crash.
        first = await client.ws_connect("/ws/customer")
        assert await send_all(first, [hello]) in {None, *CLEAR_CLOSES}
        await first.close()

    for number, (hello, frames) in enumerate(examples):
        try:
            await run(hello, frames)
        except Exception as error:
            raise AssertionError(f"example {number}: hello={hello!r} frames={frames!r}") from error
    assert not error_log.records, [r.getMessage() for r in error_log.records][:5]
    assert counts["answered_after"] == len(examples)
    record_figure(
        "fuzz.customer_ws.frames",
        counts["frames"],
        "frames; 0 crashes, 0 server errors, 0 stuck conversations",
        f"{len(examples)} Hypothesis examples; sockets closed with a clear code "
        f"{dict(sorted(closes.items()))} (1007 invalid UTF-8, 1009 too big); "
        "every fuzzed conversation answered afterwards",
    )


# --- the agent websocket -------------------------------------------------------------------------


async def test_fuzzed_agent_frames_never_break_the_console(
    make_client: AppFactory, error_log: ErrorLog, redis_url: str
) -> None:
    examples = drawn(sequences(AGENT_TYPES))
    client = await fuzz_app(make_client)
    redis = Redis.from_url(redis_url, decode_responses=True)
    await Accounts(redis, Keys("ha")).create("fuzzy", PASSWORD, role="admin")
    await redis.aclose()
    cookie = (await login(client, "fuzzy", PASSWORD))["cookie"]
    # A customer's chat the fuzzer may try to claim, close, transfer (the ids are guessable here).
    customer = await client.ws_connect("/ws/customer")
    await customer.send_json({"type": "hello", "v": 1, "token": None})
    welcome = await customer.receive_json(timeout=5)
    await customer.close()
    counts = {"frames": 0}

    async def run(frames: list[tuple[str, Any]]) -> None:
        ws = await client.ws_connect("/ws/agent", headers=cookie)
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        frames = [
            (k, {**v, "conversation": welcome["conversation"]})
            if k == "json" and isinstance(v, dict) and "conversation" in v
            else (k, v)
            for k, v in frames
        ]
        sent: list[int] = []
        code = await send_all(ws, frames, sent)
        counts["frames"] += sent[0]
        assert code is None or code in CLEAR_CLOSES, code
        await ws.close()

    for number, frames in enumerate(examples):
        try:
            await run(frames)
        except Exception as error:
            raise AssertionError(f"example {number}: frames={frames!r}") from error
    assert not error_log.records, [r.getMessage() for r in error_log.records][:5]
    # The console still works, and so does the customer's chat.
    ws = await client.ws_connect("/ws/agent", headers=cookie)
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    assert await send_all(ws, []) is None
    await ws.close()
    conversation = await client.get(f"/api/conversations/{welcome['conversation']}", headers=cookie)
    assert conversation.status == 200
    state = (await conversation.json())["fields"]["state"]
    if state == "bot":
        await still_answered(client, welcome["token"], 0)
    record_figure(
        "fuzz.agent_ws.frames",
        counts["frames"],
        "frames; 0 crashes, 0 server errors",
        f"{EXAMPLES} Hypothesis examples on an admin console socket, aimed at a real chat",
    )


# --- the HTTP API against its OpenAPI document ---------------------------------------------------


def _schemathesis_run(base_url: str, headers: dict[str, str], skip: set[str]) -> dict[str, int]:
    """Every documented operation, fuzzed from its schema; runs in a thread (blocking calls)."""
    schema = schemathesis.openapi.from_dict(openapi.document())
    session = requests.Session()
    tally = {"operations": 0, "requests": 0, "server_errors": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/ws/") or operation.path in skip:
            continue  # websockets are fuzzed above; `skip` would end the session mid-run
        tally["operations"] += 1
        # Without a session most answers are 401/403: fewer examples find what there is to find.
        examples = max(10, EXAMPLES // 5) if headers else max(5, EXAMPLES // 10)
        if headers and operation.path.startswith("/api/faq/"):
            examples = 5  # each runs the FAQ tool, a new process (~50 ms)

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(base_url=base_url, headers=headers, session=session, timeout=10)
            tally["requests"] += 1
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            for conformance in (
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ):
                case.validate_response(response, checks=(conformance,))

        check()
    return tally


async def test_the_http_api_conforms_to_its_document_under_fuzzing(
    make_client: AppFactory, error_log: ErrorLog, redis_url: str, tmp_path: Path
) -> None:
    # The FAQ tool is the suite's scripted stand-in (same command line and answers), working on
    # a scratch project: the editor routes answer as they would, and nothing is trained.
    client = await make_client(
        ip_connections_per_minute=100000,
        login_failures_allowed=100000,
        faq_cli=(sys.executable, str(Path(__file__).with_name("scripted_faq_tool.py"))),
        faq_project_dir=tmp_path,
    )
    base_url = str(client.make_url("")).rstrip("/")
    anonymous = await asyncio.to_thread(_schemathesis_run, base_url, {}, set())
    redis = Redis.from_url(redis_url, decode_responses=True)
    await Accounts(redis, Keys("ha")).create("schema", PASSWORD, role="admin")
    await redis.aclose()
    headers = (await login(client, "schema", PASSWORD))["headers"]
    # Logging out or changing the password would end the session the run uses.
    skip = {"/api/logout", "/api/password"}
    logged_in = await asyncio.to_thread(_schemathesis_run, base_url, headers, skip)
    assert not error_log.records, [r.getMessage() for r in error_log.records][:5]
    total = anonymous["requests"] + logged_in["requests"]
    record_figure(
        "fuzz.http.requests",
        total,
        "requests; 0 server errors, 0 responses outside the document",
        f"schemathesis over {anonymous['operations']} operations, anonymous and as an admin",
    )


# --- bombs, nesting, oversized -------------------------------------------------------------------


def deflated(head: bytes, tail: bytes, wbits: int, mib: int = 64) -> bytes:
    """head + `mib` MiB of "A" + tail, compressed piece by piece (never whole in memory here,
    so the peak memory measured is the service's). wbits -15: raw deflate, 31: gzip."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [compressor.compress(head)]
    chunk = b"A" * (1 << 20)
    parts += [compressor.compress(chunk) for _ in range(mib)]
    parts.append(compressor.compress(tail))
    parts.append(compressor.flush(zlib.Z_SYNC_FLUSH if wbits < 0 else zlib.Z_FINISH))
    return b"".join(parts)


async def _raw_websocket(client: TestClient) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket opened by hand, offering permessage-deflate, so any frame can be sent."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws/customer HTTP/1.1\r\n"
            f"Host: {client.host}:{client.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    # The service never agrees to compression: a compressed frame can only be a protocol error.
    assert b"permessage-deflate" not in head.lower()
    return reader, writer


def _masked_frame(payload: bytes, opcode: int = 0x1, rsv1: bool = False) -> bytes:
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


async def _close_code(reader: asyncio.StreamReader) -> int:
    """Read server frames until its close frame; its status code."""
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), timeout=5)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await reader.readexactly(8))[0]
        payload = await reader.readexactly(length)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


async def test_a_compressed_websocket_bomb_is_refused_without_inflating(
    make_client: AppFactory,
) -> None:
    client = await fuzz_app(make_client)
    # 64 MiB of one JSON string, deflated to about 64 KiB.
    bomb = deflated(b'{"type":"message","id":"bomb","text":"', b'"}', wbits=-15)
    bomb = bomb[:-4]  # permessage-deflate drops the sync flush's empty block
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reader, writer = await _raw_websocket(client)
    started = time.monotonic()
    writer.write(_masked_frame(bomb, rsv1=True))
    await writer.drain()
    code = await _close_code(reader)
    seconds = time.monotonic() - started
    writer.close()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert code in {1002, 1009}, code  # protocol error: compression was never agreed
    assert grown_mib < 32, grown_mib
    record_figure(
        "bombs.ws_deflate.close_code",
        code,
        f"close code, in {seconds * 1000:.0f} ms; peak memory +{grown_mib:.0f} MiB",
        f"a {len(bomb) >> 10} KiB permessage-deflate frame inflating to 64 MiB",
    )


async def test_a_gzip_request_body_bomb_is_refused(make_client: AppFactory) -> None:
    client = await fuzz_app(make_client)
    bomb = deflated(b'{"username": "ada", "password": "', b'"}', wbits=31)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    response = await client.post(
        "/api/login",
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    seconds = time.monotonic() - started
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert response.status == 413, response.status
    assert grown_mib < 32, grown_mib
    assert (await client.get("/livez")).status == 200
    record_figure(
        "bombs.http_gzip.status",
        response.status,
        f"HTTP status, in {seconds * 1000:.0f} ms; peak memory +{grown_mib:.0f} MiB",
        f"a {len(bomb) >> 10} KiB gzip request body inflating to 64 MiB",
    )


async def test_deeply_nested_and_oversized_inputs_get_clear_errors(
    make_client: AppFactory,
) -> None:
    client = await fuzz_app(make_client)
    ws = await client.ws_connect("/ws/customer")
    await ws.send_json({"type": "hello", "v": 1, "token": None})
    welcome = await ws.receive_json(timeout=5)
    await ws.send_str("[" * 2000 + "]" * 2000)
    error = (await frames_until(ws, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "bad_frame" and "nested" in error["message"]
    await ws.send_str(json.dumps({"type": "message", "id": "s1", "text": "\ud800 hi"}))
    error = (await frames_until(ws, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "bad_frame" and "Unicode" in error["message"]
    await ws.close()
    await still_answered(client, welcome["token"], 1)
    surrogate = await client.post(
        "/api/login",
        data=json.dumps({"username": "\ud800", "password": "x"}),
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status == 400 and (await surrogate.json())["error"] == "bad_text"
    nested = await client.post(
        "/api/login", data="[" * 30000 + "]" * 30000, headers={"Content-Type": "application/json"}
    )
    assert nested.status == 400 and (await nested.json())["error"] == "bad_json"
    oversized = await client.post(
        "/api/login",
        data=b"{" + b" " * (65 << 10) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert oversized.status == 413
