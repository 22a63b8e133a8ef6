"""Every frame the gateway tests send or receive is checked against the published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "handoff" / "schema" / "customer-v1.json").read_text()
)


def _validator(definition: str) -> Draft202012Validator:
    return Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})


CLIENT = _validator("clientFrame")
SERVER = _validator("serverFrame")


class CheckedSocket:
    """A client websocket that fails the test on any frame outside protocol v1."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send_json(self, frame: dict[str, Any], *, check: bool = True) -> None:
        if check:
            CLIENT.validate(frame)
        await self.ws.send_json(frame)

    async def receive_json(self, timeout: float | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = await self.ws.receive_json(timeout=timeout)
        SERVER.validate(frame)
        self.received.append(frame)
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ws, name)
