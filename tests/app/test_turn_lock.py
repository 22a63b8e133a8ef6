"""A conversation's turn lock is released even when Redis fails under the release for a moment
(a Sentinel failover names a new master within seconds), so the assistant does not stay silent
in that chat for the lock's whole lifetime."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from handoff.assistant import turns
from handoff.state import app_state
from tests.app.conftest import AppFactory


async def test_the_turn_lock_is_released_through_a_brief_redis_failure(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    monkeypatch.setattr(turns, "RELEASE_RETRY_PAUSE", 0.01)
    release = state.turns._release
    failures = [RedisConnectionError("master down"), RedisConnectionError("failing over")]

    async def flaky_release(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return await release(**kwargs)

    monkeypatch.setattr(state.turns, "_release", flaky_release)
    lock = state.keys.turn_lock("c" * 32)
    await state.redis.set(lock, "my-token")
    await state.turns._let_go(lock, "my-token")
    assert failures == [] and await state.redis.get(lock) is None


async def test_a_release_that_keeps_failing_gives_up_after_its_bound(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    monkeypatch.setattr(turns, "RELEASE_RETRY_SECONDS", 0.05)
    monkeypatch.setattr(turns, "RELEASE_RETRY_PAUSE", 0.01)

    async def down(**_: Any) -> Any:
        raise RedisConnectionError("down for good")

    monkeypatch.setattr(state.turns, "_release", down)
    with pytest.raises(RedisConnectionError):
        await state.turns._let_go(state.keys.turn_lock("d" * 32), "token")
