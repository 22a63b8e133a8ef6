"""Is the customer still there (handoff/email/away.py)? An agent's message also goes by email
only to a customer who has been away a while, so "here" must hold for as long as the replica
holding their socket lives, and end soon after it dies, with one beat per replica rather than a
write per open chat."""

from __future__ import annotations

import asyncio

import pytest

from handoff.email import away
from handoff.state import AppState, app_state
from tests.app.conftest import AppFactory

STALE = 0.4  # seconds without a beat before a replica's customers count as away


async def open_conversations(state: AppState, count: int) -> list[str]:
    cids = [
        await state.store.create("support", lifetime=3600, max_entries=100) for _ in range(count)
    ]
    for cid in cids:
        await away.arrived(state, cid)
    return cids


async def test_a_customer_stays_here_while_their_replica_beats_and_goes_away_when_it_stops(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(away, "STALE_SECONDS", STALE)
    state = app_state((await make_client()).app)
    (cid,) = await open_conversations(state, 1)
    # Beats alone keep them here, long past the mark written when the socket opened.
    for _ in range(4):
        await asyncio.sleep(STALE / 2)
        await away.beat(state, renew_chats=False)
        assert await away.away_seconds(state, cid) is None
    # The replica dies (no more beats, its socket never closed): away since its last beat.
    await asyncio.sleep(STALE * 1.5)
    gone = await away.away_seconds(state, cid)
    assert gone is not None and STALE <= gone < STALE * 1.5 + 2.0


async def test_a_closed_socket_is_away_at_once_and_a_chat_never_seen_for_ever(
    make_client: AppFactory,
) -> None:
    state = app_state((await make_client()).app)
    here, never = (
        await open_conversations(state, 1),
        await state.store.create("support", lifetime=3600, max_entries=100),
    )
    assert await away.away_seconds(state, here[0]) is None
    await away.left(state, here[0])
    gone = await away.away_seconds(state, here[0])
    assert gone is not None and gone < 2.0
    assert await away.away_seconds(state, never) == float("inf")


async def test_the_marks_live_as_long_as_their_chats_and_beats_renew_them_only_now_and_then(
    make_client: AppFactory,
) -> None:
    state = app_state((await make_client(resume_token_ttl=2000)).app)
    cids = await open_conversations(state, 30)
    keys = [state.keys.customer_sockets(cid) for cid in cids]
    await asyncio.gather(*(state.redis.expire(key, 100) for key in keys))  # as if days ago
    await away.beat(state, renew_chats=False)
    assert max([await state.redis.ttl(key) for key in keys]) <= 100  # not one write per chat
    await away.beat(state, renew_chats=True)
    assert min([await state.redis.ttl(key) for key in keys]) > 1900
    # A quarter of the marks' lifetime apart, at most CHAT_MARKS_RENEWED.
    assert away.renewal_gap(state) == 500
    assert away.renewal_gap(app_state((await make_client()).app)) == away.CHAT_MARKS_RENEWED
