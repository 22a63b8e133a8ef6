"""Read-then-write sequences, each forced into the interleaving that used to break it.

Every test runs another party's steps at one chosen point between two Redis commands of the
party under test: just before the command that writes what it decided on an earlier read (or,
once, right after a write, as a crash would). Where that decision now happens inside one Lua
script or a WATCH/MULTI transaction, the other party's steps land before it and the decision
sees them; the code these tests replaced read first and wrote after, and each test failed on it
(docs/reliability.md, "Races"). What is asserted is what a customer or an agent would notice.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from handoff.assistant.rasa import RasaClient
from handoff.assistant.turns import BotTurns
from handoff.console import chat_actions, sweeper
from handoff.console.chat_actions import ClaimResult
from handoff.console.presence import beat, set_presence
from handoff.console.sessions import SessionAgent, accounts_of
from handoff.conversations.store import ConversationStore
from handoff.state import AppState, app_state
from tests.faults.conftest import PASSWORD, ReplicaFactory
from tests.support.clients import login
from tests.support.fake_rasa import FakeRasa, Messages, echo, handoff_on

Command = tuple[Any, ...]
client_ids = (f"m-{n}" for n in itertools.count())


def before_command(
    monkeypatch: pytest.MonkeyPatch,
    redis: Redis,
    at: Callable[[Command], bool],
    other_party: Callable[[], Awaitable[None]],
) -> Callable[[], bool]:
    """Run `other_party` once, just before the first command on `redis` that `at` picks is sent
    (alone, or queued in a pipeline or a transaction). Returns: did it run?"""
    ran = False

    async def maybe_interleave(commands: Iterable[Command]) -> None:
        nonlocal ran
        if not ran and any(at(command) for command in commands):
            ran = True  # first: the other party's own commands pass straight through
            await other_party()

    execute_command = redis.execute_command
    make_pipeline = redis.pipeline

    async def hooked_command(*args: Any, **options: Any) -> Any:
        await maybe_interleave([args])
        return await execute_command(*args, **options)

    def hooked_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def hooked_execute(*execute_args: Any, **execute_kwargs: Any) -> Any:
            await maybe_interleave(queued for queued, _ in pipe.command_stack)
            return await execute(*execute_args, **execute_kwargs)

        pipe.execute = hooked_execute  # type: ignore[method-assign]
        return pipe

    monkeypatch.setattr(redis, "execute_command", hooked_command)
    monkeypatch.setattr(redis, "pipeline", hooked_pipeline)
    return lambda: ran


def dies_after(
    monkeypatch: pytest.MonkeyPatch, redis: Redis, at: Callable[[Command], bool]
) -> None:
    """The replica using `redis` dies right after the first command `at` picks is answered:
    every command after it fails, as on a killed process."""
    dead = False
    execute_command = redis.execute_command
    make_pipeline = redis.pipeline

    async def hooked_command(*args: Any, **options: Any) -> Any:
        nonlocal dead
        if dead:
            raise RedisConnectionError("the replica was killed")
        result = await execute_command(*args, **options)
        if at(args):
            dead = True
        return result

    def hooked_pipeline(*args: Any, **kwargs: Any) -> Any:
        if dead:
            raise RedisConnectionError("the replica was killed")
        return make_pipeline(*args, **kwargs)

    monkeypatch.setattr(redis, "execute_command", hooked_command)
    monkeypatch.setattr(redis, "pipeline", hooked_pipeline)


def names(*keys: str) -> Callable[[Command], bool]:
    """Picks a command naming every one of `keys`."""
    return lambda command: all(key in command for key in keys)


def script_on(*keys: str) -> Callable[[Command], bool]:
    """Picks a script (EVALSHA) run on every one of `keys`."""
    return lambda command: command[0] == "EVALSHA" and all(key in command for key in keys)


# --- the parties -------------------------------------------------------------------------------


async def chat_with_bot(state: AppState) -> str:
    """A new conversation, as the gateway opens it."""
    return await state.store.create(
        state.settings.default_team,
        lifetime=state.settings.resume_token_ttl,
        max_entries=state.settings.max_transcript_entries,
    )


async def customer_says(state: AppState, cid: str, text: str) -> str:
    """The customer's message stored as the gateway stores it (its bot turn is the test's)."""
    entry_id, _ = await state.store.append(cid, "customer", text, client_id=next(client_ids))
    return entry_id


async def agent_online(state: AppState, name: str, teams: list[str] | None = None) -> SessionAgent:
    account = await accounts_of(state).create(name, PASSWORD, teams=teams)
    await set_presence(state, name, "online")
    return SessionAgent(account=account, sid="", csrf="")


async def queued_chat(state: AppState) -> str:
    cid = await chat_with_bot(state)
    await customer_says(state, cid, "I want to talk to someone about my refund")
    assert await state.queue.escalate(cid, "human_request", 2, "bot", {})
    return cid


async def assigned_chat(state: AppState, agent: SessionAgent) -> str:
    cid = await queued_chat(state)
    assert (await chat_actions.claim(state, agent.account, cid)).ok
    return cid


def texts_for(fake_rasa: FakeRasa, cid: str) -> list[str]:
    """What the assistant was asked in the conversation, in order."""
    return [text for sender, text in fake_rasa.received if sender == cid]


async def bot_replies_to(state: AppState, cid: str, entry_id: str) -> int:
    entries = await state.store.read_all(cid)
    return sum(1 for e in entries if e.sender == "bot" and e.fields.get("reply_to") == entry_id)


# --- bot turns -----------------------------------------------------------------------------------


async def test_a_replica_whose_turn_lock_ran_out_neither_extends_the_new_lock_nor_answers_twice(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replica A's lock on a conversation ran out (its last turn outlived it) and replica B took
    it and is answering the next message. A, about to answer that message too, extends "its"
    lock: the lock must stay B's (A's extension refused) and the customer get one answer."""
    state = app_state((await make_replica(background=False)).app)
    cid = await chat_with_bot(state)
    message = await customer_says(state, cid, "where is my parcel")
    lock = state.keys.turn_lock(cid)
    b_answering, b_may_finish = asyncio.Event(), asyncio.Event()

    async def replies(sender: str, text: str) -> Messages:
        if not b_answering.is_set():  # the first turn to reach the assistant is B's
            b_answering.set()
            await b_may_finish.wait()
        return echo(sender, text)

    fake_rasa.replies = replies
    async with aiohttp.ClientSession() as http:
        rasa = RasaClient(http, (fake_rasa.url,), "", timeout=10)

        def replica(redis: Redis, lock_seconds: float) -> BotTurns:
            async def no_escalation(*_: Any) -> None:
                raise AssertionError("nothing here asks for a person")

            store = ConversationStore(redis, state.keys)
            return BotTurns(redis, state.keys, store, rasa, None, no_escalation, lock_seconds)

        redis_b = Redis.from_url(state.settings.redis_url, decode_responses=True)
        turns_a, turns_b = replica(state.redis, 30), replica(redis_b, 3)
        b_turn: list[asyncio.Task[None]] = []

        async def b_takes_over() -> None:
            await redis_b.delete(lock)  # A's lock ran out
            b_turn.append(asyncio.create_task(turns_b.pump(cid)))
            await b_answering.wait()  # B holds the lock and is asking the assistant

        taking = names(lock)
        ran = before_command(
            monkeypatch, state.redis, lambda c: c[0] != "SET" and taking(c), b_takes_over
        )
        await turns_a.pump(cid)
        assert ran()
        lock_left_ms = await redis_b.pttl(lock)
        b_may_finish.set()
        await b_turn[0]
        await redis_b.aclose()
    assert 0 < lock_left_ms <= 3000, f"B's 3 s lock was extended to {lock_left_ms} ms by A"
    assert texts_for(fake_rasa, cid) == ["where is my parcel"]
    assert await bot_replies_to(state, cid, message) == 1


async def test_a_turn_that_escalated_does_not_undo_a_return_to_the_bot(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The assistant hands the chat to a person; before its turn records the message as
    handled, an agent claims the chat, the customer tells the agent something, and the agent
    hands the chat back. The assistant must not then answer what was said to the agent."""
    fake_rasa.replies = handoff_on("person")
    state = app_state((await make_replica(background=False)).app)
    agent = await agent_online(state, "ana")
    cid = await chat_with_bot(state)
    await customer_says(state, cid, "I want a person")

    async def agent_takes_it_and_hands_back() -> None:
        assert (await chat_actions.claim(state, agent.account, cid)).ok
        await customer_says(state, cid, "my order number is 4711, the box was crushed")
        assert (
            await chat_actions.return_to_bot(state, agent, cid)
            is chat_actions.ReturnResult.RETURNED
        )

    ran = before_command(
        monkeypatch, state.redis, names("bot_cursor"), agent_takes_it_and_hands_back
    )
    await state.turns.pump(cid)
    assert ran()
    await state.turns.pump(cid)  # the customer's next message would start one
    assert texts_for(fake_rasa, cid) == ["I want a person"]
    assert await state.store.state_of(cid) == "bot"


async def test_what_a_late_turn_read_stays_unanswered_when_the_customer_leaves_the_queue(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn (started late, by the sweeper) finds the chat queued and moves the cursor past what
    it read; meanwhile the customer writes once more for the person and leaves the queue. Both
    messages were for a person: the assistant answers neither."""
    state = app_state((await make_replica(background=False)).app)
    await agent_online(state, "ana")
    cid = await queued_chat(state)
    await customer_says(state, cid, "hello? anyone?")

    async def customer_writes_and_leaves() -> None:
        await customer_says(state, cid, "fine, I'll ask the bot then")
        assert await state.queue.cancel(cid)

    ran = before_command(monkeypatch, state.redis, names("bot_cursor"), customer_writes_and_leaves)
    await state.turns.pump(cid)
    assert ran()
    await state.turns.pump(cid)
    assert texts_for(fake_rasa, cid) == []
    assert await state.store.state_of(cid) == "bot"


# --- leaving a person for the assistant ----------------------------------------------------------


async def test_what_the_customer_writes_as_the_agent_hands_back_is_not_answered_by_the_bot(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app_state((await make_replica(background=False)).app)
    agent = await agent_online(state, "ana")
    cid = await assigned_chat(state, agent)

    async def customer_writes_to_the_agent() -> None:
        await customer_says(state, cid, "one more thing: can you also change the address?")

    conversation = state.keys.conversation(cid)
    ran = before_command(
        monkeypatch, state.redis, script_on(conversation), customer_writes_to_the_agent
    )
    assert await chat_actions.return_to_bot(state, agent, cid) is chat_actions.ReturnResult.RETURNED
    assert ran()
    await state.turns.pump(cid)
    assert texts_for(fake_rasa, cid) == []


async def test_what_the_customer_writes_as_they_leave_the_queue_is_not_answered_by_the_bot(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app_state((await make_replica(background=False)).app)
    await agent_online(state, "ana")
    cid = await queued_chat(state)

    async def customer_writes_for_the_person() -> None:
        await customer_says(state, cid, "please call me back instead")

    conversation = state.keys.conversation(cid)
    ran = before_command(
        monkeypatch, state.redis, script_on(conversation), customer_writes_for_the_person
    )
    assert await state.queue.cancel(cid)
    assert ran()
    await state.turns.pump(cid)
    assert texts_for(fake_rasa, cid) == []


# --- agents --------------------------------------------------------------------------------------


async def test_a_login_while_every_session_is_being_ended_is_ended_too(
    make_replica: ReplicaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent logs out everywhere (or changes a password); a browser logs in just as the
    sessions are ended, after they were listed. That session must not survive."""
    client = await make_replica(background=False)
    state = app_state(client.app)
    await accounts_of(state).create("ana", PASSWORD)
    first = await login(client, "ana", PASSWORD)
    second: dict[str, Any] = {}

    async def another_browser_logs_in() -> None:
        second.update(await login(client, "ana", PASSWORD))

    sessions = state.keys.agent_sessions("ana")
    ran = before_command(
        monkeypatch, state.redis, lambda c: c[0] == "DEL" and sessions in c, another_browser_logs_in
    )
    response = await client.post("/api/logout", headers=first["headers"])
    assert response.status == 200 and ran()
    for browser in (first, second):
        me = await client.get("/api/me", headers=browser["cookie"])
        assert me.status == 401, f"a session of {browser['sid'][:6]}... survived the logout"


async def test_a_login_that_checked_the_old_password_gets_no_session_after_the_change(
    make_replica: ReplicaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone logs in with the agent's password (an old colleague, a leaked note); while it is
    checked, the agent changes it. The login must not end with a session the change was meant
    to rule out: it is refused like a wrong password, and the new password logs in."""
    client = await make_replica(background=False)
    state = app_state(client.app)
    await accounts_of(state).create("ana", PASSWORD)
    new_password = "a brand new passphrase"

    async def the_agent_changes_the_password() -> None:
        assert await accounts_of(state).set_password("ana", new_password) == 0

    ran = before_command(
        monkeypatch,
        state.redis,
        names(state.keys.agent_sessions("ana")),  # the write of the session, after the check
        the_agent_changes_the_password,
    )
    response = await client.post("/api/login", json={"username": "ana", "password": PASSWORD})
    assert ran()
    assert response.status == 401 and (await response.json())["error"] == "bad_credentials"
    assert "ha_session" not in response.cookies
    left = [key async for key in state.redis.scan_iter(state.keys.session("*"))]
    assert left == [], "a session was opened with the old password"
    await login(client, "ana", new_password)


async def test_a_heartbeat_just_after_the_sweeper_looked_keeps_the_agent_and_their_chats(
    make_replica: ReplicaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeper lists the agents whose console has not beaten for the grace period; one of
    them beats right then. That agent stays online and keeps their chat."""
    state = app_state((await make_replica(background=False, agent_grace_seconds=60)).app)
    agent = await agent_online(state, "ana")
    cid = await assigned_chat(state, agent)
    long_ago = await state.redis.zscore(state.keys.heartbeat, "ana")
    assert long_ago is not None
    await state.redis.zadd(state.keys.heartbeat, {"ana": long_ago - 61_000})

    async def console_beats() -> None:
        await beat(state, "ana")

    presence = state.keys.presence
    ran = before_command(
        monkeypatch,
        state.redis,
        lambda c: c[0] in ("HSET", "EVALSHA") and presence in c,
        console_beats,
    )
    await sweeper.sweep_agents(state)
    assert ran()
    assert await state.redis.hget(presence, "ana") == "online"
    assert await state.store.fields_of(cid, "state", "agent") == ["assigned", "ana"]
    events = [e.fields.get("reason") for e in await state.store.read_all(cid)]
    assert "agent_disconnected" not in events


async def test_a_claim_read_before_a_transfer_to_another_team_does_not_take_that_teams_chat(
    make_replica: ReplicaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sam (support) claims a chat queued for support; just before his claim lands, Ana claims
    it and transfers it to billing's queue. The chat must stay with billing, in billing's queue,
    not in Sam's hands while billing's queue shows it."""
    state = app_state((await make_replica(background=False, teams=("support", "billing"))).app)
    sam = await agent_online(state, "sam", teams=["support"])
    ana = await agent_online(state, "ana", teams=["support", "billing"])
    cid = await queued_chat(state)

    async def ana_claims_and_transfers_to_billing() -> None:
        assert (await chat_actions.claim(state, ana.account, cid)).ok
        conversation = await state.store.get(cid)
        assert conversation is not None
        moved = await chat_actions.transfer(state, ana, cid, conversation, to_team="billing")
        assert moved.ok

    ran = before_command(
        monkeypatch,
        state.redis,
        script_on(state.keys.conversation(cid)),
        ana_claims_and_transfers_to_billing,
    )
    outcome = await chat_actions.claim_for(state, sam, cid)
    assert ran()
    assert outcome.result is ClaimResult.OTHER_TEAM
    assert await state.store.fields_of(cid, "state", "team", "agent") == ["queued", "billing", None]
    assert [c for c, _ in await state.store.waiting("billing")] == [cid]
    assert await state.store.waiting("support") == []
    assert await state.redis.scard(state.keys.agent_chats("sam")) == 0


async def test_a_replica_killed_right_after_a_close_leaves_the_chat_expiring(
    make_replica: ReplicaFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed chat is kept for its retention, then goes. The replica that closed it dies
    right after the close: the chat must still expire, not stay in Redis for ever."""
    state = app_state((await make_replica(background=False)).app)
    agent = await agent_online(state, "ana")
    cid = await assigned_chat(state, agent)
    conversation = await state.store.get(cid)
    assert conversation is not None
    dies_after(
        monkeypatch,
        state.redis,
        lambda c: script_on(state.keys.conversation(cid))(c) and "closed" in c,
    )
    with pytest.raises(RedisConnectionError):
        await chat_actions.close(state, agent, cid, conversation, notes="", tags=[])
    survivor = Redis.from_url(state.settings.redis_url, decode_responses=True)
    try:
        assert await survivor.hget(state.keys.conversation(cid), "state") == "closed"
        for key in (state.keys.conversation(cid), state.keys.log(cid), state.keys.seen(cid)):
            assert await survivor.ttl(key) > 0, f"{key} never expires"
    finally:
        await survivor.aclose()
