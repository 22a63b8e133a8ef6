"""Bounded memory: chats customers abandon leave nothing behind in Redis, and chats a customer is
waiting in or an agent holds are kept while they are (docs/reliability.md, "How long data
lasts").

Ten thousand chats are opened and abandoned with a lifetime of a few seconds
(RESUME_TOKEN_TTL_SECONDS): a few hundred through the real customer websocket (a greeting, the
assistant's answer, the tab closed), the rest through the gateway's own opening of a chat (an
abandoned tab: the large majority). Redis must come back to the key count and memory it had
before them, while one customer waits in the queue and another chats with an agent throughout;
once those two are back with the assistant and leave, they go too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis

from handoff.console import chat_actions
from handoff.console.presence import set_presence
from handoff.console.sessions import SessionAgent, accounts_of
from handoff.gateway import customer as gateway
from handoff.gateway.frames import HELLO
from handoff.state import AppState, app_state
from tests.faults.conftest import PASSWORD, ReplicaFactory
from tests.support.clients import Customer, is_bot_message, is_state
from tests.support.fake_rasa import FakeRasa, handoff_on
from tests.support.figures import record_figure

LIFETIME_SECONDS = 2
CHATS = 10_000
THROUGH_THE_SOCKET = 300
# Redis frees an expired key when it samples it (ten times a second, more while many are due):
# the last of ten thousand chats go well within this.
DEADLINE_SECONDS = 40
# What Redis itself holds beyond the data and does not give back at once: a larger hash table
# it shrinks in steps, and the counters of the rate limits the socket chats used (two-minute
# windows, web/limits.py). The ten thousand chats take tens of MiB.
MEMORY_SLACK_BYTES = 512 * 1024


async def keys_like(redis: Redis, pattern: str) -> int:
    return len([key async for key in redis.scan_iter(match=pattern, count=1000)])


# Work lists: a key exists only while work is due in it (a sorted set that empties is gone),
# and its worker empties it in its own time: the archiver's copies above all, seconds behind on
# a busy machine. Counting them made the baseline depend on whether the first chat's copy was
# still due at that moment.
WORK_LISTS = ("pending", "archive:due", "mail:due", "followup:due")


async def counted_keys(redis: Redis, prefix: str) -> set[str]:
    """The names of the keys in Redis, less the ones bounded by a clock of their own:
    rate-limit counters (two windows) and daily dashboard counters (one key a day, 90 days),
    and less the work lists (WORK_LISTS)."""
    bounded = (f"{prefix}:ratelimit:", f"{prefix}:stats:daily:")
    work = {f"{prefix}:{name}" for name in WORK_LISTS}
    names: set[str] = set()
    async for raw in redis.scan_iter(count=1000):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if not name.startswith(bounded) and name not in work:
            names.add(name)
    return names


async def beyond(redis: Redis, prefix: str, baseline: set[str]) -> int:
    """How many counted keys there are that were not there at the baseline. Compared by name,
    not by count: a key of the service's own that was there at the baseline and goes in its
    own time (a first chat's last trace) must not hide a chat's key left behind."""
    return len(await counted_keys(redis, prefix) - baseline)


async def used_memory(state: AppState) -> int:
    # The burst opened extra connections in the replica's pool; each costs Redis a client
    # buffer. Closing the idle ones leaves what Redis keeps for data.
    await state.redis.connection_pool.disconnect(inuse_connections=False)
    return int((await state.redis.info("memory"))["used_memory"])


class Peak:
    """The most keys and memory Redis held, sampled a few times a second while `watch` runs."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.keys = 0
        self.memory = 0

    async def sample(self) -> None:
        self.keys = max(self.keys, int(await self.redis.dbsize()))
        self.memory = max(self.memory, int((await self.redis.info("memory"))["used_memory"]))

    async def watch(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(0.2)


async def until(holds: Callable[[], Awaitable[bool]], what: str) -> None:
    started = time.monotonic()
    while not await holds():
        assert time.monotonic() - started < DEADLINE_SECONDS, f"{what}: not in {DEADLINE_SECONDS} s"
        await asyncio.sleep(0.05)


async def eventually(count: Callable[[], Awaitable[int]], target: int, what: str) -> float:
    """Seconds until `count()` is `target`; AssertionError naming `what` past the deadline."""
    started = time.monotonic()
    while (now := await count()) != target:
        late = time.monotonic() - started >= DEADLINE_SECONDS
        assert not late, f"{what}: {now} keys, not {target}, after {DEADLINE_SECONDS} s"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def in_parallel(count: int, width: int, one: Callable[[int], Awaitable[None]]) -> None:
    """`one(0) ... one(count - 1)`, at most `width` at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await one(n)

    await asyncio.gather(*(worker() for _ in range(width)))


async def test_ten_thousand_abandoned_chats_leave_redis_as_it_was(
    make_replica: ReplicaFactory, fake_rasa: FakeRasa
) -> None:
    started = time.monotonic()
    fake_rasa.replies = handoff_on("person")
    # Storage timeouts as in production: a burst of chats on a busy machine is no fault here.
    client = await make_replica(
        resume_token_ttl=LIFETIME_SECONDS, agent_grace_seconds=600, redis_timeout=2.0
    )
    state = app_state(client.app)
    prefix = state.settings.redis_prefix
    ws_url = f"ws://127.0.0.1:{client.server.port}"
    account = await accounts_of(state).create("ana", PASSWORD)
    await set_presence(state, "ana", "online")
    ana = SessionAgent(account=account, sid="", csrf="")

    async with aiohttp.ClientSession() as http:

        async def contained_chat(n: int) -> None:
            """A question the assistant answers, then the tab closes."""
            customer = Customer(http)
            await customer.connect(ws_url)
            await customer.send(f"q-{n}", "do you ship to Canada?")
            await customer.wait_for(is_bot_message)
            await customer.drop()

        # One chat first, so what every chat shares exists before the baseline (the scripts,
        # today's counters), and its own keys gone again.
        await contained_chat(-1)
        await eventually(
            lambda: keys_like(state.redis, f"{prefix}:conv:*"), 0, "the first chat's expiry"
        )
        baseline = await counted_keys(state.redis, prefix)
        baseline_keys = len(baseline)
        baseline_memory = await used_memory(state)

        # Two customers who do not leave: one waiting for a person, one with Ana.
        waiting, with_ana = Customer(http), Customer(http)
        for held in (waiting, with_ana):
            await held.connect(ws_url)
            await held.send("ask", "I want a person")
            await held.wait_for(is_state("queued"))
        assert (await chat_actions.claim(state, account, with_ana.conversation)).ok
        # Each held chat's hash, transcript and message ids, the queue and Ana's list of chats.
        held_keys = 2 * 3 + 2

        opening = time.monotonic()
        peak = Peak(state.redis)
        sampling = asyncio.create_task(peak.watch())
        await in_parallel(THROUGH_THE_SOCKET, 20, contained_chat)
        hello = HELLO.read({"type": "hello", "v": 1})

        async def abandoned_tab(_: int) -> None:
            await gateway._open_conversation(state, hello)

        await in_parallel(CHATS - THROUGH_THE_SOCKET, 50, abandoned_tab)
        opened_in = time.monotonic() - opening
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        await peak.sample()

        drained_in = await eventually(
            lambda: beyond(state.redis, prefix, baseline), held_keys, "the abandoned chats' expiry"
        )

        # Long past their lifetime, the held chats are all there, with no expiry.
        assert await state.store.fields_of(waiting.conversation, "state") == ["queued"]
        assert await state.store.queue_position(waiting.conversation, "support") == 1
        assert await state.store.fields_of(with_ana.conversation, "state", "agent") == [
            "assigned",
            "ana",
        ]
        for held in (waiting, with_ana):
            for key in (
                state.keys.conversation(held.conversation),
                state.keys.log(held.conversation),
                state.keys.seen(held.conversation),
            ):
                assert await state.redis.ttl(key) == -1, f"{key} would expire"
        conversation = await state.store.get(with_ana.conversation)
        assert conversation is not None
        sent = await chat_actions.send_message(
            state, ana, with_ana.conversation, conversation, "a-1", "Hi, I'm Ana."
        )
        await with_ana.wait_for(lambda f: f.get("id") == sent.entry)

        # Back with the assistant, then gone like the others.
        assert waiting.ws is not None
        await waiting.ws.send_json({"type": "cancel_queue"})
        await waiting.wait_for(is_state("bot"))
        assert await chat_actions.return_to_bot(state, ana, with_ana.conversation) is (
            chat_actions.ReturnResult.RETURNED
        )
        await with_ana.wait_for(is_state("bot"))
        for held in (waiting, with_ana):
            await held.drop()
        await eventually(
            lambda: beyond(state.redis, prefix, baseline), 0, "the last two chats' expiry"
        )
        final_memory = await used_memory(state)
        left_behind = await counted_keys(state.redis, prefix) - baseline
        final_keys = len(await counted_keys(state.redis, prefix))

    note = f"{CHATS} chats abandoned, lifetime {LIFETIME_SECONDS} s"
    record_figure("faults.retention.keys_baseline", baseline_keys, "keys", note)
    record_figure("faults.retention.keys_peak", peak.keys, "keys", note)
    record_figure("faults.retention.keys_after", final_keys, "keys", note)
    record_figure("faults.retention.memory_baseline", baseline_memory / 1024, "KiB", note)
    record_figure("faults.retention.memory_peak", peak.memory / 1024, "KiB", note)
    record_figure("faults.retention.memory_after", final_memory / 1024, "KiB", note)
    record_figure("faults.retention.opened_in", opened_in, "s", note)
    record_figure("faults.retention.expired_within", drained_in, "s after the last opened", note)
    record_figure("faults.retention.duration", time.monotonic() - started, "s", note)
    assert not left_behind, f"left behind: {sorted(left_behind)}"
    assert final_memory <= baseline_memory + MEMORY_SLACK_BYTES, (
        f"{final_memory - baseline_memory} bytes more than before the chats"
    )


async def test_transcripts_and_tickets_stay_within_their_bounds(
    make_replica: ReplicaFactory,
) -> None:
    """A client writing without end, and customers leaving messages without end, keep at least
    the configured number of entries and not many more (Redis trims whole blocks of ~100)."""
    bound = 100
    client = await make_replica(background=False, max_transcript_entries=bound, max_tickets=bound)
    state = app_state(client.app)
    cid, _, _, _ = await gateway._open_conversation(state, HELLO.read({"type": "hello", "v": 1}))
    for n in range(1000):
        await state.store.append(cid, "customer", f"message {n}", client_id=f"m-{n}")
    for n in range(1000):
        await state.queue.leave_message(cid, f"kit{n}@example.com", "Please call me back.")
    transcript = await state.redis.xlen(state.keys.log(cid))
    tickets = await state.redis.xlen(state.keys.tickets)
    record_figure("faults.retention.transcript_kept", transcript, "entries", f"bound {bound}")
    record_figure("faults.retention.tickets_kept", tickets, "tickets", f"bound {bound}")
    assert bound <= transcript <= 2 * bound
    assert bound <= tickets <= 2 * bound
    # The oldest went: the newest stay.
    kept = await state.store.read_all(cid)
    assert kept[-1].fields.get("event") == "ticket_created"
    assert "message 0" not in {entry.text for entry in kept}
    [(_, newest_ticket)] = await state.redis.xrevrange(state.keys.tickets, count=1)
    assert newest_ticket["email"] == "kit999@example.com"


async def test_a_customer_who_comes_back_keeps_their_chat_as_long_as_their_new_token(
    make_replica: ReplicaFactory,
) -> None:
    """Coming back (a reload, a new tab) issues a new resume token valid for the lifetime from
    now: the conversation is kept as long, though nothing was written."""
    lifetime_ms = 6000  # long enough for the first token to outlive half of it (whole seconds)
    client = await make_replica(resume_token_ttl=lifetime_ms // 1000)
    state = app_state(client.app)
    ws_url = f"ws://127.0.0.1:{client.server.port}"
    held = [state.keys.conversation, state.keys.log, state.keys.seen]
    async with aiohttp.ClientSession() as http:
        customer = Customer(http)
        await customer.connect(ws_url)
        await customer.send("q-1", "do you ship to Canada?")
        await customer.wait_for(is_bot_message)
        cid = customer.conversation

        async def least_left_ms() -> int:
            return min([int(await state.redis.pttl(key(cid))) for key in held])

        async def half_gone() -> bool:
            return await least_left_ms() <= lifetime_ms // 2

        await until(half_gone, "half the lifetime gone, without a write")
        await customer.connect(ws_url)
        assert customer.conversation == cid
        assert await least_left_ms() > lifetime_ms * 3 // 4
        await customer.drop()
