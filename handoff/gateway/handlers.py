"""What each frame of an open customer socket does (after `hello`; docs/protocol.md).

`handle()` validates the frame with the protocol's models (`gateway/frames.py`), answers a
refusal with its error frame, and otherwise does what the frame asks. Checks that need the
conversation (is it closed? rated already?) or the rate limits come after the models' checks,
in the order the error codes are documented.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from handoff.conversations.outcomes import ChatClosed, RateLimited
from handoff.gateway.frames import (
    SESSION,
    Ack,
    CancelQueue,
    LeaveMessage,
    Message,
    Ping,
    Pong,
    Rating,
    Typing,
    error,
)
from handoff.state import AppState
from handoff.web.sockets import SocketWriter
from handoff.web.wire import Refused

# CSAT counts ratings of 4 or 5 (out of 5) as satisfied customers.
SATISFIED_SCORE = 4


async def handle(data: dict[str, Any], state: AppState, cid: str, outbox: SocketWriter) -> None:
    try:
        frame = SESSION.read(data, {"max_message_chars": state.settings.max_message_chars})
    except Refused as refused:
        outbox.send(error(refused.code, refused.message, **refused.extra))
        return
    match frame:
        case Message():
            await _on_message(frame, state, cid, outbox)
        case Typing():
            await state.store.publish({"c": cid, "typing": "customer", "on": frame.on})
        case CancelQueue():
            if not await state.queue.cancel(cid):
                outbox.send(error("not_queued", "You're not waiting in the queue."))
        case LeaveMessage():
            await state.queue.leave_message(cid, frame.email, frame.text)
        case Rating():
            await _on_rating(frame, state, cid, outbox)
        case Ping():
            outbox.send(Pong(type="pong").frame())
        case _:
            assert_never(frame)  # a new frame model without a handler fails the type check


async def _on_message(frame: Message, state: AppState, cid: str, outbox: SocketWriter) -> None:
    # The closed chat and the rate limit are checked by the append script, in the same round
    # trip as the write: this runs for every message a customer sends.
    counter = state.limits.counter("conv-msg", cid, state.settings.customer_rate_per_minute)
    try:
        stored = await state.store.append_entry(
            cid, "customer", frame.text, client_id=frame.id, counter=counter
        )
    except ChatClosed:
        outbox.send(
            error("closed", "This chat has ended. Start a new chat to continue.", id=frame.id)
        )
        return
    except RateLimited:
        state.metrics.refused("conversation_rate")
        outbox.send(
            error("rate_limited", "You're sending messages very fast; wait a moment.", id=frame.id)
        )
        return
    ack = Ack(type="ack", id=frame.id, entry=stored.entry_id, duplicate=not stored.new)
    outbox.send(ack.frame())
    if stored.new:
        state.metrics.customer_messages.inc()
    if stored.state == "bot":
        state.turns.kick(cid)


async def _on_rating(frame: Rating, state: AppState, cid: str, outbox: SocketWriter) -> None:
    conversation = await state.store.get(cid)
    if conversation is None or conversation.get("state") != "closed":
        outbox.send(error("not_closed", "You can rate a chat once it has ended."))
        return
    # HSETNX: two tabs rating at once still count one rating.
    if conversation.get("rating") or not await state.redis.hsetnx(
        state.keys.conversation(cid), "rating", frame.score
    ):
        outbox.send(error("already_rated", "Thanks, you've already rated this chat."))
        return
    await state.store.set_fields(cid, {"rating_comment": frame.comment})
    await state.queue.count("ratings")
    await state.queue.count("rating_total", frame.score)
    if frame.score >= SATISFIED_SCORE:
        await state.queue.count("ratings_satisfied")
    await state.store.append(
        cid,
        "system",
        "Thanks for your feedback!",
        kind="event",
        event="rated",
        data={"score": frame.score},
    )
