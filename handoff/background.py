"""Background tasks of the service, stopped together at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def stop_tasks(tasks: Iterable[asyncio.Task[object]]) -> None:
    """Cancel every task, then wait for each to end; a task that failed or was cancelled is
    already logged or deliberately stopped, and must not stop the others from ending."""
    stopping = list(tasks)
    for task in stopping:
        task.cancel()
    for task in stopping:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
