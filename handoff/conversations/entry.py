"""One transcript entry, as read from a conversation's stream and as both protocols send it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def as_text(value: Any) -> str:
    """A value read from Redis as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


def json_or_none(raw: str | None) -> Any:
    """A stored JSON field's value; None when it is absent, empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class Entry:
    """One transcript entry: a message from someone, or a system event."""

    id: str
    kind: str  # "message" or "event"
    sender: str  # "customer", "bot", "agent" or "system"
    text: str
    at: int
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_stream(cls, entry_id: str, raw: Any) -> Entry:
        return cls(
            id=entry_id,
            kind=raw.get("kind", "message"),
            sender=raw.get("from", "system"),
            text=raw.get("text", ""),
            at=int(raw.get("at", "0") or 0),
            fields=dict(raw),
        )

    def json_field(self, name: str) -> Any:
        return json_or_none(self.fields.get(name))

    def to_frame(self) -> dict[str, Any]:
        """The entry as the `event` frame both protocols send (docs/protocol.md)."""
        frame: dict[str, Any] = {
            "type": "event",
            "id": self.id,
            "kind": self.kind,
            "from": self.sender,
            "text": self.text,
            "at": self.at,
        }
        for name in ("client_id", "agent_name", "event", "state", "reason"):
            if self.fields.get(name):
                frame[name] = self.fields[name]
        for name in ("buttons", "data"):
            value = self.json_field(name)
            if value is not None:
                frame[name] = value
        return frame
