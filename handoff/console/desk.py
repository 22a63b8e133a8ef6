"""The agent's desk: what each frame of a console does, and the frames that answer it.

`handle` takes a frame already read at the socket's edge (console/frames.py), does the chat
action (console/chat_actions.py) and turns its outcome into the protocol's answer frame.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_never

from handoff.console import chat_actions
from handoff.console.access import is_assigned_to, may_view
from handoff.console.chat_actions import (
    ClaimOutcome,
    ClaimResult,
    CloseResult,
    ReturnResult,
    TransferOutcome,
    TransferResult,
)
from handoff.console.frames import (
    AgentFrame,
    ClaimFrame,
    CloseFrame,
    LeaveFrame,
    MessageFrame,
    OpenFrame,
    PingFrame,
    PresenceFrame,
    ReturnToBotFrame,
    TransferFrame,
    TypingFrame,
)
from handoff.console.outbox import ConsoleOutbox
from handoff.console.presence import is_online, set_presence, tell_teams
from handoff.console.queue_view import packet_of
from handoff.console.server_frames import ClaimFailedFrame, refuse
from handoff.console.sessions import SessionAgent
from handoff.state import AppState


async def handle(
    frame: AgentFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    match frame:
        case PingFrame():
            outbox.reply({"type": "pong"})
        case PresenceFrame():
            await set_presence(state, agent.name, frame.status)
            outbox.reply({"type": "presence", "status": frame.status})
            await tell_teams(state, agent)
        case ClaimFrame():
            await _claim(frame, state, agent, outbox)
        case OpenFrame():
            await _open(frame, state, agent, outbox)
        case LeaveFrame():
            outbox.opened.pop(frame.conversation, None)
        case MessageFrame():
            await _message(frame, state, agent, outbox)
        case TypingFrame():
            if await _assigned_to_me(state, agent, frame.conversation, outbox) is not None:
                await state.store.publish(
                    {"c": frame.conversation, "typing": "agent", "on": frame.on}
                )
        case TransferFrame():
            await _transfer(frame, state, agent, outbox)
        case ReturnToBotFrame():
            await _return_to_bot(frame, state, agent, outbox)
        case CloseFrame():
            await _close(frame, state, agent, outbox)
        case _:
            assert_never(frame)


async def _assigned_to_me(
    state: AppState, agent: SessionAgent, cid: str, outbox: ConsoleOutbox
) -> dict[str, str] | None:
    """The conversation if it is in this agent's hands; else None, and the console is told why."""
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        outbox.send(refuse("not_found", "There is no such conversation.", conversation=cid))
        return None
    if not is_assigned_to(agent, conversation):
        outbox.send(refuse("not_yours", "This chat is not assigned to you.", conversation=cid))
        return None
    return conversation


async def _claim(
    frame: ClaimFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    if not await is_online(state, agent.name):
        outbox.send(refuse("not_online", "Set yourself online to take chats.", conversation=cid))
        return
    outcome = await chat_actions.claim_for(state, agent, cid)
    if not outcome.ok:
        outbox.reply(claim_failed(cid, outcome))
        return
    fresh = await state.store.get(cid) or {}
    outbox.reply({"type": "claimed", "conversation": cid, "packet": packet_of(fresh)})
    outbox.open(cid, "0-0")


def claim_failed(cid: str, outcome: ClaimOutcome) -> ClaimFailedFrame:
    """The `claim_failed` frame: its reason is the result, with the chat's state after a
    `not_queued:` (console.js shows it as "now <state>")."""
    reason = outcome.result.value
    if outcome.result is ClaimResult.NOT_QUEUED:
        reason = f"{reason}:{outcome.state}"
    return {"type": "claim_failed", "conversation": cid, "winner": outcome.winner, "reason": reason}


async def _open(
    frame: OpenFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        outbox.send(refuse("not_found", "There is no such conversation.", conversation=cid))
        return
    if not may_view(agent, conversation):
        outbox.send(refuse("forbidden", "You may not open this chat.", conversation=cid))
        return
    outbox.open(cid, frame.last_seen)


async def _message(
    frame: MessageFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    if len(frame.text) > state.settings.max_message_chars:
        outbox.send(refuse("too_long", "That message is too long.", id=frame.id, conversation=cid))
        return
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    sent = await chat_actions.send_message(state, agent, cid, conversation, frame.id, frame.text)
    outbox.reply(
        {
            "type": "ack",
            "conversation": cid,
            "id": frame.id,
            "entry": sent.entry,
            "duplicate": sent.duplicate,
        }
    )


async def _transfer(
    frame: TransferFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    outcome = await chat_actions.transfer(
        state, agent, cid, conversation, to_agent=frame.to_agent, to_team=frame.to_team
    )
    if outcome.ok:
        outbox.reply({"type": "transferred", "conversation": cid})
    else:
        outbox.send(transfer_refused(cid, outcome))


def transfer_refused(cid: str, outcome: TransferOutcome) -> dict[str, Any]:
    """The error frame of a transfer that did not go through."""
    target = outcome.target
    match outcome.result:
        case TransferResult.NO_SUCH_AGENT:
            return refuse("bad_transfer", "There is no such other agent.", conversation=cid)
        case TransferResult.AGENT_OFFLINE:
            return refuse("agent_unavailable", f"{target} is not online.", conversation=cid)
        case TransferResult.AGENT_FULL:
            return refuse("agent_full", f"{target} has no free chat slot.", conversation=cid)
        case TransferResult.NO_SUCH_TEAM:
            return refuse("bad_transfer", f"There is no team {target[:40]!r}.", conversation=cid)
        case TransferResult.CHANGED | TransferResult.TRANSFERRED:
            return refuse(
                "transfer_failed",
                "The chat changed meanwhile; not transferred.",
                conversation=cid,
            )
        case _:
            assert_never(outcome.result)


async def _return_to_bot(
    frame: ReturnToBotFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    if await _assigned_to_me(state, agent, cid, outbox) is None:
        return
    if await chat_actions.return_to_bot(state, agent, cid) is ReturnResult.RETURNED:
        outbox.reply({"type": "returned", "conversation": cid})
    else:
        outbox.send(refuse("return_failed", "The chat changed meanwhile.", conversation=cid))


async def _close(
    frame: CloseFrame, state: AppState, agent: SessionAgent, outbox: ConsoleOutbox
) -> None:
    cid = frame.conversation
    conversation = await _assigned_to_me(state, agent, cid, outbox)
    if conversation is None:
        return
    result = await chat_actions.close(
        state,
        agent,
        cid,
        conversation,
        notes=frame.notes,
        tags=frame.tags,
        email_transcript=frame.email_transcript,
    )
    if result is CloseResult.CLOSED:
        outbox.reply({"type": "closed", "conversation": cid})
    else:
        outbox.send(refuse("close_failed", "The chat changed meanwhile.", conversation=cid))
