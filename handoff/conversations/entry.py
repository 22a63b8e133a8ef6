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


@dataclass(frozen=True)
class Carried:
    """An entry as its live hint carried it (lua/entry_hint.lua), with the id of the entry
    before it in the transcript."""

    previous: str
    entry: Entry

    @classmethod
    def from_hint(cls, payload: Mapping[str, Any]) -> Carried | None:
        """The entry a hint carries; None for a hint that carries none (or a malformed one)."""
        entry_id, previous, fields = payload.get("e"), payload.get("p"), payload.get("f")
        if not (isinstance(entry_id, str) and isinstance(previous, str)):
            return None
        if not isinstance(fields, dict):
            return None
        return cls(previous, Entry.from_stream(entry_id, fields))


def _stream_order(entry_id: str) -> tuple[int, int] | None:
    milliseconds, _, sequence = entry_id.partition("-")
    if not (milliseconds.isdigit() and sequence.isdigit()):
        return None
    return int(milliseconds), int(sequence)


def following(last_sent: str, carried: list[Carried]) -> list[Entry] | None:
    """The carried entries that come after `last_sent`, in transcript order; None when the
    hints leave a gap (a hint lost, or an entry whose hint carried nothing), so the caller
    must read the transcript instead.

    Hints arrive in the order their entries were written (one channel, published by the
    script that wrote the entry), so each entry follows the one before it. One the socket has
    already delivered (a read got there first) is skipped.
    """
    cursor = last_sent or "0-0"
    entries: list[Entry] = []
    for hint in carried:
        if hint.previous == cursor:
            entries.append(hint.entry)
            cursor = hint.entry.id
            continue
        sent, this = _stream_order(cursor), _stream_order(hint.entry.id)
        if sent is None or this is None or this > sent:
            return None
    return entries
