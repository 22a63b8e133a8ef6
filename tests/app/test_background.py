"""A background loop that carries on after Redis errors still ends when the service stops, even
when redis-py turns the cancellation into a ConnectionError (handoff/background.py)."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from handoff.background import stop_if_cancelled, stop_tasks


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
