"""A background loop that carries on after Redis errors still ends when the service stops, even
when redis-py turns the cancellation into a ConnectionError (handoff/background.py); what the
started service's background does to the garbage collector (web/collector.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from handoff.background import stop_if_cancelled, stop_tasks
from handoff.state import app_state
from handoff.web.collector import GC_THRESHOLDS
from tests.app.conftest import AppFactory


async def redis_call_cut_by_cancel(started: asyncio.Event) -> None:
    """What redis-py may do: a cancel landing in a socket read surfaces as a ConnectionError."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise RedisConnectionError("Connection closed by server.") from None


async def retrying_loop(
    started: asyncio.Event, honour: bool, given_up: asyncio.Event | None = None
) -> None:
    while given_up is None or not given_up.is_set():
        try:
            await redis_call_cut_by_cancel(started)
        except RedisError:
            if honour:
                stop_if_cancelled()
        await asyncio.sleep(0.01)


async def test_a_cancel_disguised_as_a_redis_error_still_ends_the_loop() -> None:
    started = asyncio.Event()
    task = asyncio.create_task(retrying_loop(started, honour=True))
    await started.wait()
    await asyncio.wait_for(stop_tasks([task]), timeout=5)
    assert task.cancelled()


async def test_without_it_the_loop_would_outlive_its_cancel() -> None:
    started, given_up = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(retrying_loop(started, honour=False, given_up=given_up))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), timeout=0.5)
    assert not task.done(), "the cancel was taken for a Redis blip"
    given_up.set()
    task.cancel()  # lands in the next attempt's call, swallowed again; the loop then ends
    await asyncio.wait_for(asyncio.shield(task), timeout=5)


async def test_shutdown_goes_on_without_a_task_that_will_not_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started, given_up = asyncio.Event(), asyncio.Event()
    stubborn = asyncio.create_task(
        retrying_loop(started, honour=False, given_up=given_up), name="stubborn"
    )
    polite = asyncio.create_task(asyncio.sleep(3600), name="polite")
    await started.wait()
    await asyncio.wait_for(stop_tasks([stubborn, polite], grace=0.3), timeout=5)
    assert polite.cancelled()
    assert "task stubborn did not stop" in caplog.text and "test_background.py" in caplog.text
    given_up.set()  # let it end, so the test leaves nothing running
    await asyncio.wait_for(asyncio.shield(stubborn), timeout=5)


class _Node:
    """A reference cycle, as an exception's traceback or a callback holding its owner makes."""

    def __init__(self) -> None:
        self.me = self


async def test_a_started_service_collects_full_generations_rarely_and_shows_its_pauses(
    make_client: AppFactory,
) -> None:
    # Full collections walk every object the open sockets hold (about 0.1 s with 1,000 of
    # them): the started service runs them a hundred times less often (GC_THRESHOLDS).
    client = await make_client()
    assert gc.get_threshold() == GC_THRESHOLDS
    # Cycles the relay makes and drops are still freed by the young collections.
    cycles = [weakref.ref(_Node()) for _ in range(2000)]
    churn = [[n] for n in range(3 * GC_THRESHOLDS[0])]  # allocations that trigger collections
    del churn
    freed = sum(ref() is None for ref in cycles)
    assert freed >= 1900, f"{freed} of 2000 dropped cycles freed without a full collection"
    # Every pause is on the replica's /metrics, by generation, for an operator to see.
    gc.collect(1)
    page = await (await client.get("/metrics")).text()
    counts = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith("harbor_gc_pause_seconds_count")
    }
    assert counts.get("0", 0) >= 1 and counts.get("1", 0) >= 1, counts
    assert app_state(client.server.app).metrics.gc_pauses is not None
