"""What the conversation store's writes answer (store.py): a move, an append, and the refusals
of a customer's message that the append script makes in the same step as the write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MoveResult:
    """How a move went. When it did not, `state`, `agent` and `team` are the conversation's now."""

    ok: bool
    entry_id: str = ""
    state: str = ""
    agent: str = ""
    team: str = ""
    full: bool = False
    missing: bool = False


@dataclass(frozen=True)
class Appended:
    """An entry stored (or found stored). For an agent's new message, the reply it was:
    `answered` "first" or "next" with the wait's start (ms) and the chat's priority (see
    lua/append.lua and handoff/queue/targets.py), else ""."""

    entry_id: str
    new: bool
    answered: str = ""
    waiting_since: int = 0
    priority: int = 5
    # The conversation's state as the entry was written; "" for an agent's new message, whose
    # script answers with the clock it stopped instead.
    state: str = ""


@dataclass(frozen=True)
class RateCounter:
    """A rate limit's counter that the append script counts the message on (web/limits.py)."""

    key: str
    limit: int
    lifetime: int


class ChatClosed(Exception):
    """A counted message to a closed (or no longer existing) conversation: not stored."""


class RateLimited(Exception):
    """A counted message over its rate limit: not stored."""
