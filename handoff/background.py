"""Background tasks of the service, stopped together at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

# How long a cancelled background task has to end before shutdown goes on without it.
STOP_GRACE_SECONDS = 10.0


async def stop_tasks(
    tasks: Iterable[asyncio.Task[object]], grace: float = STOP_GRACE_SECONDS
) -> None:
    """Cancel every task, then wait for them to end; a task that failed or was cancelled is
    already logged or deliberately stopped, and must not stop the others from ending.

    A task still running `grace` seconds after its cancel (one that swallowed it) is named in
    the log with where it stands, cancelled once more and left behind: a shutdown must not hang
    on it, and the log says which task to fix."""
    stopping = list(tasks)
    for task in stopping:
        task.cancel()
    if not stopping:
        return
    done, pending = await asyncio.wait(stopping, timeout=grace)
    for task in pending:
        where = "".join(
            f"\n  {frame.f_code.co_filename}:{frame.f_lineno}" for frame in task.get_stack()
        )
        log.error("task %s did not stop %.0f s after its cancel:%s", task.get_name(), grace, where)
        task.cancel()
    for task in done:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()  # retrieved, so asyncio does not warn of an exception never read


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
