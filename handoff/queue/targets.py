"""Response-time targets: how soon an agent should answer a chat, by its queue priority.

Two targets, each a setting of "priority=seconds" pairs (docs/configuration.md):
FIRST_RESPONSE_TARGETS counts from the escalation to the agent's first reply, and
NEXT_RESPONSE_TARGETS from a customer's message to the agent's next reply. A priority not listed
takes the target of the nearest more urgent one that is, so "0=30,4=120" gives priorities 0..3
thirty seconds and 4 and 5 two minutes.
"""

from __future__ import annotations

from typing import Annotated, Any

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
