"""Every frame the gateway and console tests send or receive is checked against the published
schemas (handoff/schema/customer-v1.json and agent-v1.json). They are generated from the frame
models the server validates with (`python -m handoff.web.schemas --write`), and
tests/app/test_protocol_drift.py fails when they are stale: checking against the files checks
what clients are promised."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "handoff" / "schema"


@dataclass(frozen=True)
class Protocol:
    """The two directions of one websocket protocol, as schema validators."""

    client: Draft202012Validator
    server: Draft202012Validator

    @classmethod
    def load(cls, name: str) -> Protocol:
        schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        Draft202012Validator.check_schema(schema)

        def validator(definition: str) -> Draft202012Validator:
            return Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"})

        return cls(validator("clientFrame"), validator("serverFrame"))


CUSTOMER = Protocol.load("customer-v1")
AGENT = Protocol.load("agent-v1")
CLIENT = CUSTOMER.client
SERVER = CUSTOMER.server


class CheckedSocket:
    """A client websocket that fails the test on any frame outside its protocol (v1)."""

    def __init__(self, ws: Any, protocol: Protocol = CUSTOMER) -> None:
        self.ws = ws
        self.protocol = protocol
        self.received: list[dict[str, Any]] = []

    async def send_json(self, frame: dict[str, Any], *, check: bool = True) -> None:
        if check:
            self.protocol.client.validate(frame)
        await self.ws.send_json(frame)

    async def receive_json(self, timeout: float | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = await self.ws.receive_json(timeout=timeout)
        self.protocol.server.validate(frame)
        self.received.append(frame)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ws, name)


async def open_chat(
    client: TestClient, token: str | None = None, last_seen: str | None = None, **headers: str
) -> tuple[Any, dict[str, Any]]:
    """A customer's socket on the app under test, after `hello`; returns it and the welcome."""
    ws = CheckedSocket(await client.ws_connect("/ws/customer", headers=headers))
    await ws.send_json({"type": "hello", "v": 1, "token": token, "last_seen": last_seen})
    welcome = await ws.receive_json(timeout=5)
    return ws, welcome
