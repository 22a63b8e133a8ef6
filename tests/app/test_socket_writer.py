"""A socket's writer sleeps on one small wake flag (handoff/web/sockets.py `Wake`) rather than
an asyncio.Event and a wait_for task per socket (issue 20: memory per open socket). What the
customer relies on stays: a message whose hint was lost still arrives at the periodic re-read,
and a closed socket's writer ends at once, not at its next re-read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from handoff.state import app_state
from handoff.web import sockets
from handoff.web.sockets import Wake
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import frames_until


async def test_a_wake_returns_when_set_or_when_the_time_is_up() -> None:
    wake = Wake()
    started = time.monotonic()
    assert await wake.wait(0.05) is False
    assert time.monotonic() - started >= 0.04
    waiting = asyncio.create_task(wake.wait(30.0))
    await asyncio.sleep(0)
    wake.set()
    assert await asyncio.wait_for(waiting, 1.0) is True
    # Set before the wait: no waiting at all; cleared: waits again.
    assert await asyncio.wait_for(wake.wait(30.0), 0.1) is True
    wake.clear()
    assert await wake.wait(0.01) is False


async def test_a_message_whose_hint_was_lost_reaches_an_idle_socket_at_the_re_read(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sockets, "RESYNC_SECONDS", 0.5)
    client = await make_client()
    state = app_state(client.server.app)
    ws, welcome = await open_chat(client)
    cid = welcome["conversation"]
    # The live channel drops every hint from now on, as in a Redis failover.
    lost: list[dict[str, Any]] = []
    monkeypatch.setattr(state.live, "dispatch", lost.append)
    await asyncio.sleep(0.1)
    await state.store.append(cid, "agent", "Are you still there?")
    frames = await frames_until(
        ws, lambda f: f.get("type") == "event" and f.get("text") == "Are you still there?", 3.0
    )
    messages = [f["text"] for f in frames if f.get("type") == "event" and f["kind"] == "message"]
    assert messages == ["Are you still there?"]
    assert any(hint.get("c") == cid for hint in lost), "the entry's hint was not lost after all"
    await ws.close()


async def test_closing_a_socket_ends_its_writer_at_once(make_client: AppFactory) -> None:
    client = await make_client()
    ws, _ = await open_chat(client)
    writers = {task for task in asyncio.all_tasks() if "SocketWriter.run" in repr(task.get_coro())}
    assert writers, "no writer task found for the open socket"
    started = time.monotonic()
    await ws.close()
    await asyncio.wait_for(asyncio.gather(*writers), 2.0)
    # Well before the 20 s re-read the writer would otherwise sleep until.
    assert time.monotonic() - started < 2.0


async def test_sockets_re_reading_all_at_once_take_a_bounded_share_of_redis_connections(
    make_client: AppFactory, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After the live channel comes back, every socket of a replica re-reads at once; each read
    # in flight holds a connection of the shared pool, which must stay free for customers'
    # sends and bot turns (state.py WRITER_READS_AT_ONCE, here 3).
    client = await make_client()
    state = app_state(client.server.app)
    monkeypatch.setattr(state, "writer_reads", asyncio.Semaphore(3))
    chats = [await open_chat(client) for _ in range(30)]
    monkeypatch.setattr(state.live, "dispatch", lambda payload: None)  # hints lost meanwhile
    for _, welcome in chats:
        await state.store.append(welcome["conversation"], "agent", "Still with us?")
    watcher = Redis.from_url(redis_url, decode_responses=True)
    try:
        before = len(await watcher.client_list())
        state.live.resync_all()
        for ws, _ in chats:  # every socket got the message its lost hint was about
            await frames_until(
                ws, lambda f: f.get("type") == "event" and f.get("text") == "Still with us?", 5.0
            )
        # The pool keeps what it opened: its size now is its peak during the re-reads.
        opened = len(await watcher.client_list()) - before
        assert opened <= 3 + 3, opened  # the writers' 3, and a few for the app's other work
    finally:
        await watcher.aclose()
        for ws, _ in chats:
            await ws.close()
