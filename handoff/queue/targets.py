"""Response-time targets: how soon an agent should answer a chat, by its queue priority.

Two targets, each a setting of "priority=seconds" pairs (docs/configuration.md):
FIRST_RESPONSE_TARGETS counts from the escalation to the agent's first reply, and
NEXT_RESPONSE_TARGETS from a customer's message to the agent's next reply. A priority not listed
takes the target of the nearest more urgent one that is, so "0=30,4=120" gives priorities 0..3
thirty seconds and 4 and 5 two minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator


def parse_targets(value: Any) -> Any:
    """ "0=30,4=120" as ((0, 30.0), (4, 120.0)); values given in code pass through."""
    if not isinstance(value, str):
        return value
    pairs: dict[int, float] = {}
    for item in (part.strip() for part in value.split(",") if part.strip()):
        priority, _, seconds = item.partition("=")
        try:
            at, limit = int(priority), float(seconds)
        except ValueError:
            raise ValueError(
                f"needs priority=seconds pairs like 0=30,4=120, not {item!r}"
            ) from None
        if at < 0 or not limit > 0:
            raise ValueError(f"needs priorities from 0 and seconds above 0, not {item!r}")
        pairs[at] = limit
    if 0 not in pairs:
        raise ValueError("must give priority 0 a target")
    return tuple(sorted(pairs.items()))


Targets = Annotated[tuple[tuple[int, float], ...], BeforeValidator(parse_targets)]


def target_for(targets: tuple[tuple[int, float], ...], priority: int) -> float:
    """Seconds allowed for a reply to a chat of this priority."""
    return next(seconds for at, seconds in reversed(targets) if at <= max(priority, 0))


# The two clocks a chat with a person can have running. Which one runs, and from when, is read
# from the conversation hash (handoff/conversations/lua/append.lua keeps the fields):
#   first  from `queued_at` (this time in the queue: an escalation, a transfer to a team's queue,
#          or the agent gone past the grace period) until a person's first message after it;
#          `answered_queued_at` == `queued_at` once that message is stored. Each time in the
#          queue starts a new first response: the customer is waiting for a new person. A
#          transfer straight to another agent does not: the clock that runs keeps running.
#   next   from `awaiting_since` (the customer's oldest message not yet answered, written while
#          the chat was assigned) until the agent's next message. A stale mark from before the
#          chat's last time in the queue does not count: the first response answers it.
# A reply answers one clock only: the first response, when it is due, else the next one.
ResponseKind = Literal["first", "next"]
RESPONSE_KINDS: tuple[ResponseKind, ...] = ("first", "next")
CLOCK_FIELDS = ("state", "priority", "queued_at", "answered_queued_at", "awaiting_since")


@dataclass(frozen=True)
class ResponseClock:
    """A reply the customer is waiting for: since when (ms) and how long it may take."""

    kind: ResponseKind
    started_at: int
    target_seconds: float
    priority: int

    @property
    def due_at(self) -> int:
        return self.started_at + int(self.target_seconds * 1000)

    def overdue(self, now: int) -> bool:
        """True once the target has passed: the one rule by which the sweeper marks a breach
        and a reply counts as late, so a wait is never both within and breached."""
        return now >= self.due_at

    def left_seconds(self, now: int) -> int:
        """Whole seconds until the target (negative once overdue), rounded towards overdue."""
        return (self.due_at - now) // 1000

    def breach_marker(self) -> str:
        """The conversation field that remembers this clock's breach was counted (its value is
        the wait's start, so a later wait of the same kind is a new clock)."""
        return f"breached_{self.kind}"


def _ms(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def chat_priority(conversation: Mapping[str, str]) -> int:
    """The chat's queue priority (0 = most urgent); unknown counts as the least urgent."""
    try:
        return max(0, int(conversation.get("priority") or 5))
    except ValueError:
        return 5


def response_clock(
    conversation: Mapping[str, str],
    first_targets: tuple[tuple[int, float], ...],
    next_targets: tuple[tuple[int, float], ...],
) -> ResponseClock | None:
    """The reply the customer is waiting for now, or None (with the assistant, closed, or
    every message answered)."""
    state = conversation.get("state")
    if state not in ("queued", "assigned"):
        return None
    priority = chat_priority(conversation)
    queued_at = _ms(conversation.get("queued_at"))
    if queued_at and conversation.get("answered_queued_at") != conversation.get("queued_at"):
        return ResponseClock("first", queued_at, target_for(first_targets, priority), priority)
    awaiting = _ms(conversation.get("awaiting_since"))
    if state == "assigned" and awaiting > queued_at:
        return ResponseClock("next", awaiting, target_for(next_targets, priority), priority)
    return None


def answered_clock(
    kind: str,
    started_at: int,
    priority: int,
    first_targets: tuple[tuple[int, float], ...],
    next_targets: tuple[tuple[int, float], ...],
) -> ResponseClock | None:
    """The clock a stored reply stopped (as append.lua reports it), or None."""
    if kind == "first":
        return ResponseClock("first", started_at, target_for(first_targets, priority), priority)
    if kind == "next":
        return ResponseClock("next", started_at, target_for(next_targets, priority), priority)
    return None
