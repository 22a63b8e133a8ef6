"""Bot turns: each customer message in `bot` state goes through triage, then to Rasa, in order.

One bot turn is in flight per conversation, across every replica: a Redis lock with a token
guards the conversation, and whoever holds it works through the customer messages after the
conversation's `bot_cursor` one at a time. A replica that finds the lock taken leaves the
message to the holder, who re-reads the transcript after releasing the lock, so a message that
arrives mid-turn is never stranded. Messages whose turn was interrupted by a crash are picked up
by the sweeper from the `pending` set.

Each Rasa replica gets a bounded number of turns at once; the others wait in line
(handoff/assistant/overload.py). A customer whose turn waits is told the assistant is busy, and
one whose turn waits too long is offered a person instead of an answer, as when Rasa is down.

What in Rasa's reply is for the service only is sorted out by handoff/assistant/reply.py: the
handoff payload hands the chat to a person; the verified-order notice has the turn record on the
conversation who the customer is (`identify`: handoff/queue/context.py) once the answer is shown,
so a chat the assistant answers on its own knows its customer as well as one handed over does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.assistant.overload import AssistantBusy, TurnLine
from handoff.assistant.rasa import BotReply, BotUnavailable, RasaClient, replica_for
from handoff.assistant.reply import read_reply
from handoff.assistant.triage import Verdict
from handoff.assistant.triage.displeasure import DISPLEASURE
from handoff.background import stop_tasks
from handoff.conversations.entry import Entry
from handoff.conversations.keys import Keys
from handoff.conversations.store import ConversationStore, load_script, now_ms
from handoff.editor import unanswered
from vocabulary.reasons import ASSISTANT_BUSY, BOT_FALLBACK, BOT_UNAVAILABLE, CRISIS, priority_of

log = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I'm having trouble answering right now. Your message is saved. "
    "Would you like to talk to a person?"
)
# Overload: told while a turn waits in line, and offered instead of an answer past the wait.
BUSY_NOTICE = (
    "Lots of customers are asking the assistant right now. Your message is saved and in line: "
    "you'll get an answer as soon as it's free."
)
BUSY_OFFER = (
    "Sorry, the assistant is too busy to answer right now. Your message is saved. "
    "Would you like to talk to a person?"
)
TAKE_OFFER = "I want to talk to a person"
OFFER_BUTTONS = [
    {"title": "Talk to a person", "payload": TAKE_OFFER},
    {"title": "Try again later", "payload": "no thanks"},
]
# How many earlier customer messages triage sees (repetition and escalating tone).
TRIAGE_CONTEXT = 5


class Triage(Protocol):
    """What a bot turn needs of the triage: handoff.assistant.triage.TriageModel, or a stand-in."""

    def assess(self, text: str, context: Sequence[str] = ()) -> Verdict: ...


EscalateFn = Callable[[str, str, int, str, dict[str, Any]], Awaitable[None]]
# The conversation fields naming the customer who proved an order is theirs, the order looked up
# within a bound; never raises for the order store (handoff.queue.context.ContextSource).
IdentifyFn = Callable[[str], Awaitable[Mapping[str, str]]]


@dataclass
class TurnOutcome:
    replies: int = 0
    escalated: bool = False
    # The assistant did not answer: Rasa failed or timed out, or the turn waited too long in line.
    failed: bool = False


# How long, and how often, a turn lock's release is retried when Redis fails under it.
RELEASE_RETRY_SECONDS = 10.0
RELEASE_RETRY_PAUSE = 0.5


def for_the_assistant(entry: Entry) -> bool:
    """Whether the assistant answers this entry: a customer's message in the chat itself. A
    message that came by email, or was left for the team with a ticket, is for a person: its
    answer could never reach the customer in the widget (append.lua does not make it pending
    either), so the bot's cursor moves past it."""
    return (
        entry.sender == "customer"
        and entry.kind == "message"
        and entry.fields.get("channel", "widget") == "widget"
    )


class BotTurns:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        store: ConversationStore,
        rasa: RasaClient,
        triage: Triage | None,
        escalate: EscalateFn,
        lock_seconds: float,
        on_turn: Callable[[float, TurnOutcome], None] | None = None,
        crisis_help_text: str = "",
        line: TurnLine | None = None,
        identify: IdentifyFn | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.store = store
        self.rasa = rasa
        self.triage = triage
        self.escalate = escalate
        # None: the verified-order notice is hidden from the customer and nothing is recorded.
        self.identify = identify
        self.line = line or TurnLine.unbounded()
        # The turn holds its conversation while it waits in line, too.
        lock_seconds += self.line.wait_bound
        self.lock_ms = int(lock_seconds * 1000)
        self.lock_seconds = math.ceil(lock_seconds)  # what extend_lock.lua takes
        self.on_turn = on_turn
        self.crisis_help_text = crisis_help_text
        # Triage encodes the message with a neural sentence encoder (~10-20 ms of CPU); it runs
        # on its own thread so sockets keep flowing meanwhile (numpy releases the GIL while it
        # multiplies), one message at a time (the pipeline is not shared between threads).
        self._triage_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage")
        self._release = redis.register_script(load_script("release_lock.lua"))
        self._extend = redis.register_script(load_script("extend_lock.lua"))
        self._tasks: set[asyncio.Task[None]] = set()

    def kick(self, cid: str) -> None:
        """Make sure someone works through the conversation's pending messages (fire and forget)."""
        task = asyncio.create_task(self.pump(cid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        await stop_tasks(self._tasks)

    async def pump(self, cid: str) -> None:
        try:
            while await self._pump_once(cid):
                pass
        except RedisError as error:
            # The message is in the transcript and in the pending set; the sweeper retries.
            log.warning("bot turn for a conversation postponed: Redis error %s", error)

    async def _pump_once(self, cid: str) -> bool:
        """Process what is pending if we can take the lock; True if work may remain."""
        lock = self.keys.turn_lock(cid)
        token = secrets.token_hex(8)
        if not await self.redis.set(lock, token, nx=True, px=self.lock_ms):
            return False
        try:
            while await self._next_turn(cid, lock, token):
                pass
        finally:
            await self._let_go(lock, token)
        # A message may have landed between our last read and the release: look once more.
        return await self._has_pending(cid)

    async def _let_go(self, lock: str, token: str) -> None:
        """Release the turn lock. Through a Redis failover (a new master within a few seconds:
        docs/reliability.md) keep trying for a while, or the conversation would stay locked,
        its assistant silent, for the lock's whole lifetime."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RELEASE_RETRY_SECONDS
        while True:
            try:
                await self._release(keys=[lock], args=[token])
                return
            except RedisError:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(RELEASE_RETRY_PAUSE)

    async def _has_pending(self, cid: str) -> bool:
        conversation = await self.store.get(cid)
        if conversation is None or conversation.get("state") != "bot":
            return False
        cursor = conversation.get("bot_cursor", "0-0")
        return any(for_the_assistant(e) for e in await self.store.read(cid, cursor, count=50))

    async def _next_turn(self, cid: str, lock: str, token: str) -> bool:
        conversation = await self.store.get(cid)
        if conversation is None:
            await self.redis.zrem(self.keys.pending, cid)
            return False
        # The cursor moves on from the value read here or not at all: a return to the bot or a
        # cancelled wait meanwhile has put it past what the customer wrote for a person, and
        # writing ours over it would make the bot answer those messages.
        read_cursor = conversation.get("bot_cursor", "")
        unless_moved = ("bot_cursor", read_cursor)
        entries = await self.store.read(cid, read_cursor or "0-0", count=50)
        customer = [e for e in entries if for_the_assistant(e)]
        if conversation.get("state") != "bot" or not customer:
            # Outside `bot` state messages are for the agent; the bot must never answer them
            # later, so the cursor moves past them.
            if entries and not await self.store.set_fields(
                cid, {"bot_cursor": entries[-1].id}, unless_changed=unless_moved
            ):
                return True  # the chat moved meanwhile: look again
            await self.redis.zrem(self.keys.pending, cid)
            return False
        entry = customer[0]
        if not await self._extend(keys=[lock], args=[token, self.lock_seconds]):
            # Our lock expired (a turn outlived it) and another replica holds the conversation
            # now: it answers this message; extending its lock would let two turns run at once.
            return False
        started = asyncio.get_running_loop().time()
        outcome = await self._turn(cid, entry)
        await self.store.set_fields(cid, {"bot_cursor": entry.id}, unless_changed=unless_moved)
        if self.on_turn is not None:
            self.on_turn(asyncio.get_running_loop().time() - started, outcome)
        return True

    async def _context(self, cid: str, before: Entry) -> list[str]:
        earlier: Any = await self.redis.xrevrange(
            self.keys.log(cid), max=f"({before.id}", min="-", count=TRIAGE_CONTEXT * 3
        )
        texts = [v.get("text", "") for _, v in earlier if v.get("from") == "customer"]
        return list(reversed(texts[:TRIAGE_CONTEXT]))

    async def _turn(self, cid: str, entry: Entry) -> TurnOutcome:
        if self.triage is not None and await self._triage_escalated(self.triage, cid, entry):
            return TurnOutcome(escalated=True)
        try:
            replies = await self._ask(cid, entry)
        except AssistantBusy:
            return await self._offer_a_person(cid, entry, ASSISTANT_BUSY, BUSY_OFFER)
        except BotUnavailable as error:
            log.warning("Rasa unavailable for a bot turn: %s", error)
            return await self._offer_a_person(cid, entry, BOT_UNAVAILABLE, APOLOGY)
        return await self._answer(cid, entry, replies)

    async def _triage_escalated(self, triage: Triage, cid: str, entry: Entry) -> bool:
        """Run the triage on the message; True if it handed the conversation to a person."""
        context = await self._context(cid, entry)
        verdict = await asyncio.get_running_loop().run_in_executor(
            self._triage_thread, triage.assess, entry.text, context
        )
        scores = {label: round(score, 3) for label, score in verdict.scores.items()}
        # Kept beside the labels for the agent's mood trend (handoff.queue.packet), not a label.
        scores[DISPLEASURE] = round(verdict.displeasure, 3)
        await self.redis.hset(self.keys.conversation(cid), f"triage:{entry.id}", json.dumps(scores))
        # An escalating verdict always names its reason and priority.
        reason, priority = verdict.reason, verdict.priority
        if not (verdict.escalate and reason is not None and priority is not None):
            return False
        if reason == CRISIS and self.crisis_help_text:
            # Before anything else, and whether or not an agent is free right now.
            await self.store.append(cid, "bot", self.crisis_help_text, reply_to=entry.id)
        if reason in unanswered.RECORDED_ESCALATIONS:
            await unanswered.record(self.redis, self.keys, cid, entry.text, "escalation", reason)
        await self.escalate(
            cid, reason, priority, "triage", {"scores": scores, "message": entry.id}
        )
        return True

    async def _ask(self, cid: str, entry: Entry) -> list[BotReply]:
        """Rasa's replies to the message, once a place at the conversation's Rasa replica is
        free; AssistantBusy if none came free within the wait bound (nothing was sent)."""

        async def tell_busy() -> None:
            try:
                await self.store.append(
                    cid,
                    "system",
                    BUSY_NOTICE,
                    kind="event",
                    event=ASSISTANT_BUSY,
                    reply_to=entry.id,
                )
            except RedisError as error:
                # Only a notice: the turn keeps its place in line without it.
                log.warning("busy notice not written: Redis error %s", error)

        # The customer accepted an offer of a person: with the assistant busy, waiting in line
        # only to be handed to a person anyway would waste their time.
        wait_bound = 0.0 if entry.text.strip() == TAKE_OFFER else None
        replica = replica_for(cid, self.rasa.urls)
        async with self.line.place(replica, tell_busy, wait_bound):
            await self.store.publish({"c": cid, "typing": "bot", "on": True})
            try:
                return await self.rasa.send(cid, entry.text)
            finally:
                await self.store.publish({"c": cid, "typing": "bot", "on": False})

    async def _offer_a_person(self, cid: str, entry: Entry, reason: str, text: str) -> TurnOutcome:
        """The assistant cannot answer (`reason`): the customer is offered a person, or handed to
        one if this message is their acceptance of that offer."""
        if entry.text.strip() == TAKE_OFFER:
            # With the assistant out of reach, only the gateway can act on it (else the button
            # would get the same offer for ever).
            await self.escalate(cid, reason, priority_of(reason), "gateway", {"message": entry.id})
            return TurnOutcome(escalated=True, failed=True)
        await self.store.append(
            cid, "bot", text, buttons=OFFER_BUTTONS, reply_to=entry.id, error=reason
        )
        return TurnOutcome(failed=True)

    async def _answer(self, cid: str, entry: Entry, replies: list[BotReply]) -> TurnOutcome:
        """Show the assistant's replies, record a missed question and a verified customer, and act
        on a handoff (handoff/assistant/reply.py says which reply is which)."""
        outcome = TurnOutcome()
        read = read_reply(replies)
        for reply in read.shown:
            await self.store.append(
                cid,
                "bot",
                reply.text,
                buttons=reply.buttons or None,
                reply_to=entry.id,
                missed="1" if read.missed else None,
            )
            outcome.replies += 1
        if read.missed:
            await unanswered.record(self.redis, self.keys, cid, entry.text, "fallback")
        if read.verified_order is not None:
            # After the answer is shown (a slow order store delays nothing the customer waits
            # for), before a handoff in the same reply (escalation then finds the customer named).
            await self._recognise(cid, read.verified_order)
        if read.handoff is not None:
            reason = str(read.handoff.get("reason") or BOT_FALLBACK)
            await self.escalate(cid, reason, priority_of(reason), "bot", read.handoff)
            outcome.escalated = True
        return outcome

    async def _recognise(self, cid: str, order_number: str) -> None:
        """Record on the conversation who the customer is, as escalation does (verified_order, and
        the order's customer_name and customer_email when the order store answers in time). The
        customer already has the answer: a Redis error costs the record, not the turn (which
        would otherwise be asked again)."""
        if self.identify is None:
            return
        fields = await self.identify(order_number)
        try:
            await self.store.set_fields(cid, fields)
        except RedisError as error:
            log.warning("verified customer not recorded: Redis error %s", error)

    async def sweep(self, older_than_ms: int = 3000) -> int:
        """Kick conversations whose pending messages have waited too long (crashed replica)."""
        cutoff = now_ms() - older_than_ms
        stale = await self.redis.zrangebyscore(self.keys.pending, "-inf", cutoff, start=0, num=100)
        for cid in stale:
            self.kick(str(cid))
        return len(stale)
