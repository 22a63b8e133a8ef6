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
from redis.exceptions import ConnectionError as RedisConnectionError

from handoff.console.accounts import Accounts
from handoff.conversations.entry import Carried, Entry, following
from handoff.state import AppState, app_state
from handoff.web import sockets
from handoff.web.sockets import Wake
from tests.app.agents import is_event, seated_chat
from tests.app.conftest import AppFactory, FakeRasa
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


# --- entries carried by their hints (lua/entry_hint.lua) -------------------------------------


def lose_first_hint(state: AppState, cid: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """From now on the live channel drops the next hint of `cid` (as a failover may); the
    list it returns gets the hint lost."""
    dispatch = state.live.dispatch
    lost: list[dict[str, Any]] = []

    def lose_the_first(payload: dict[str, Any]) -> None:
        if payload.get("c") == cid and not lost:
            lost.append(payload)
            return
        dispatch(payload)

    monkeypatch.setattr(state.live, "dispatch", lose_the_first)
    return lost


def fail_first_read(state: AppState, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next transcript read fails as with Redis restarting; the list it returns gets the
    conversation whose read failed."""
    read = state.store.read
    failed: list[str] = []

    async def fail_once(conversation: str, after: str | None = None, count: int = 500) -> Any:
        if not failed:
            failed.append(conversation)
            raise RedisConnectionError("Redis is restarting")
        return await read(conversation, after, count)

    monkeypatch.setattr(state.store, "read", fail_once)
    return failed


def _carried(previous: str, entry_id: str) -> Carried:
    return Carried(previous, Entry(entry_id, "message", "customer", entry_id, 0))


def test_carried_entries_are_delivered_only_in_an_unbroken_line_from_the_last_one_sent() -> None:
    line = [_carried("1-0", "2-0"), _carried("2-0", "3-0")]
    assert [e.id for e in following("1-0", line) or []] == ["2-0", "3-0"]
    # The first entry of a conversation follows "0-0", as a new socket starts.
    assert [e.id for e in following("", [_carried("0-0", "5-0")]) or []] == ["5-0"]
    # A read already delivered the first: it is skipped, not sent twice.
    assert [e.id for e in following("2-0", line) or []] == ["3-0"]
    assert following("3-0", line) == []
    # A hint missing in between (or a resume point that is no entry id): read instead.
    assert following("1-0", [_carried("2-0", "3-0")]) is None
    assert following("1-0", [line[0], _carried("2-5", "3-0")]) is None
    assert following("not-an-id", line) is None


async def test_entries_reach_the_customer_and_the_agent_from_their_hints_without_a_read(
    make_client: AppFactory,
    accounts: Accounts,
    handoff_bot: FakeRasa,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    agent, customer, cid = await seated_chat(client, accounts, "ida")
    await frames_until(customer, is_event("Ida joined"))
    reads: list[str] = []
    read = state.store.read

    async def counted(conversation: str, after: str | None = None, count: int = 500) -> Any:
        reads.append(conversation)
        return await read(conversation, after, count)

    monkeypatch.setattr(state.store, "read", counted)
    seen_by_customer: list[dict[str, Any]] = []
    for n in range(5):
        await customer.send_json({"type": "message", "id": f"m{n}", "text": f"question {n}"})
        seen_by_customer += await frames_until(
            customer, lambda f, n=n: f.get("type") == "ack" and f["id"] == f"m{n}"
        )
        await state.store.append(cid, "agent", f"answer {n}")
    seen_by_customer += await frames_until(customer, is_event("answer 4"))
    texts = [f"{who} {n}" for n in range(5) for who in ("question", "answer")]
    for frames in (seen_by_customer, await frames_until(agent, is_event("answer 4"))):
        got = [f["text"] for f in frames if f.get("type") == "event" and f["kind"] == "message"]
        assert got == texts  # every entry once, in order
    assert reads == []


async def two_entries_arrive_in_order(state: AppState, cid: str, sender: str, ws: Any) -> None:
    await state.store.append(cid, sender, "first")
    await state.store.append(cid, sender, "second")
    # Well before the periodic re-read (20 s), with a second's pause after a failed read.
    frames = await frames_until(ws, is_event("second"), 5.0)
    assert [f["text"] for f in frames if f.get("type") == "event"][-2:] == ["first", "second"]


@pytest.mark.parametrize("read_fails", [False, True], ids=["read", "read-fails-once"])
async def test_an_entry_whose_hint_was_lost_arrives_in_order_with_the_next_one(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, read_fails: bool
) -> None:
    # Its hint is lost, so the next entry's hint does not follow the last one sent: the socket
    # reads the gap back at once, and again once Redis answers if that read fails.
    client = await make_client()
    state = app_state(client.server.app)
    ws, welcome = await open_chat(client)
    cid = welcome["conversation"]
    lost = lose_first_hint(state, cid, monkeypatch)
    failed = fail_first_read(state, monkeypatch) if read_fails else []
    await two_entries_arrive_in_order(state, cid, "agent", ws)
    assert lost and lost[0]["f"]["text"] == "first"
    assert failed == ([cid] if read_fails else [])
    await ws.close()


async def test_an_agents_gap_whose_read_fails_is_read_again_once_redis_answers(
    make_client: AppFactory,
    accounts: Accounts,
    handoff_bot: FakeRasa,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await make_client()
    state = app_state(client.server.app)
    agent, customer, cid = await seated_chat(client, accounts, "una")
    await customer.close()  # only the console reads the transcript from now on
    lose_first_hint(state, cid, monkeypatch)
    failed = fail_first_read(state, monkeypatch)
    await two_entries_arrive_in_order(state, cid, "customer", agent)
    assert failed == [cid]
