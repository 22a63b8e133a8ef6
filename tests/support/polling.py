"""Waiting for the system to reach a state the test can only ask about (Redis, the archive, a
mail catcher): ask again until it holds or the time is up, then fail the test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(
    check: Callable[[], Awaitable[Any]], seconds: float = 10.0, every: float = 0.05
) -> Any:
    """The first truthy answer of `check()`, asked every `every` seconds for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not so within {seconds:.0f} s"
        await asyncio.sleep(every)
