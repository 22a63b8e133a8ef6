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


def stop_if_cancelled() -> None:
    """Called by a loop that goes on after a Redis error: end it if the task is being cancelled.

    redis-py can turn a task's cancellation into a ConnectionError (the cancel lands inside a
    socket read), which such a loop would take for a Redis blip and carry on, for ever: the
    service's shutdown then waits on it (stop_tasks). Python 3.11 still counts the request
    (`Task.cancelling()`), so the loop can honour it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
