"""How large a serving benchmark run is: the full run, and --quick's."""

from __future__ import annotations

from dataclasses import dataclass


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
