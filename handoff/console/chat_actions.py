"""What an agent does with a chat: claim it, write in it, hand it on (to another agent, to a team's
queue, back to the assistant) and close it.

Every state change is one atomic `store.move()`. Each operation tells how it went in a typed
outcome; the agent socket (console/desk.py) turns outcomes into frames. The result enums are
`str` enums (Python 3.10 has no StrEnum); their values are what the wire says where it says one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from handoff.console.access import may_work_team
from handoff.console.accounts import Account
from handoff.console.presence import is_online
from handoff.console.sessions import SessionAgent, accounts_of
from handoff.conversations.outcomes import Appended, MoveResult
from handoff.conversations.store import now_ms
from handoff.email import follow_up
from handoff.email.outbox import away_mail_id, queue_agent_message
from handoff.queue.targets import answered_clock
from handoff.state import AppState

CLOSE_TEXT = "This chat has ended. How did we do? Please rate this chat from 1 to 5."
RETURN_TEXT = "You're back with the assistant."
TRANSFER_TEXT = "You're being transferred. The next available person will see this whole chat."


class ClaimResult(str, Enum):
    CLAIMED = "claimed"
    TAKEN = "taken"  # another agent has it (`winner`)
    CAPACITY = "capacity"  # the agent has no free chat slot
    NOT_FOUND = "not_found"
    OTHER_TEAM = "other_team"  # queued for a team the agent is not in
    NOT_QUEUED = "not_queued"  # no longer waiting, and nobody has it (`state`)


@dataclass(frozen=True)
class ClaimOutcome:
    result: ClaimResult
    winner: str = ""  # display name of the agent who has the chat now, or ""
    state: str = ""  # NOT_QUEUED: the state the chat is in

    @property
    def ok(self) -> bool:
        return self.result is ClaimResult.CLAIMED


class TransferResult(str, Enum):
    TRANSFERRED = "transferred"
    NO_SUCH_AGENT = "no_such_agent"  # unknown, or the agent themselves
    AGENT_OFFLINE = "agent_offline"
    AGENT_FULL = "agent_full"
    NO_SUCH_TEAM = "no_such_team"
    CHANGED = "changed"  # the chat changed meanwhile; nothing moved


@dataclass(frozen=True)
class TransferOutcome:
    result: TransferResult
    target: str = ""  # the other agent's display name, or the team

    @property
    def ok(self) -> bool:
        return self.result is TransferResult.TRANSFERRED


class ReturnResult(str, Enum):
    RETURNED = "returned"
    CHANGED = "changed"


class CloseResult(str, Enum):
    CLOSED = "closed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Sent:
    """A message of the agent's stored in the transcript (once per client id)."""

    entry: str
    duplicate: bool


async def display_name(state: AppState, name: str) -> str:
    if not name:
        return ""
    return str(await state.redis.hget(state.keys.agent(name), "display_name") or name)


async def assign(
    state: AppState,
    cid: str,
    account: Account,
    *,
    allowed: str,
    event_text: str,
    expected_agent: str = "",
) -> MoveResult:
    """Put a chat in the account's hands, within its capacity (a claim or a transfer to it)."""
    return await state.store.move(
        cid,
        allowed=[allowed],
        new_state="assigned",
        expected_agent=expected_agent,
        new_agent=account.name,
        capacity=account.capacity,
        event_text=event_text,
        fields={"assigned_at": now_ms()},
        event={"agent_name": account.display_name},
    )


async def claim(state: AppState, account: Account, cid: str) -> ClaimOutcome:
    """Assign a queued chat to the agent (of the console, or picked by auto-assign)."""
    conversation = await state.store.get(cid)
    if conversation is None:
        return ClaimOutcome(ClaimResult.NOT_FOUND)
    result = await assign(
        state, cid, account, allowed="queued", event_text=f"{account.display_name} joined the chat."
    )
    if result.ok:
        await state.store.publish({"q": conversation.get("team", state.settings.default_team)})
        # The customer's wait: from entering the queue (this time) to a person taking the chat.
        queued_at = int(conversation.get("queued_at") or now_ms())
        await state.queue.record_sample("wait_s", (now_ms() - queued_at) / 1000)
        return ClaimOutcome(ClaimResult.CLAIMED, winner=account.display_name)
    if result.full:
        return ClaimOutcome(ClaimResult.CAPACITY)
    if result.missing:
        return ClaimOutcome(ClaimResult.NOT_FOUND)
    winner = await display_name(state, result.agent)
    if result.agent:
        return ClaimOutcome(ClaimResult.TAKEN, winner=winner)
    if result.team != conversation.get("team", ""):
        # Transferred to another team's queue since it was read: that team's to claim.
        return ClaimOutcome(ClaimResult.OTHER_TEAM)
    return ClaimOutcome(ClaimResult.NOT_QUEUED, winner=winner, state=result.state)


async def claim_for(state: AppState, agent: SessionAgent, cid: str) -> ClaimOutcome:
    """A console's claim: only of a chat queued for one of the agent's teams."""
    conversation = await state.store.get(cid) if cid else None
    if conversation is None:
        return ClaimOutcome(ClaimResult.NOT_FOUND)
    if not may_work_team(agent, conversation.get("team", "")):
        return ClaimOutcome(ClaimResult.OTHER_TEAM)
    return await claim(state, agent.account, cid)


async def send_message(
    state: AppState,
    agent: SessionAgent,
    cid: str,
    conversation: dict[str, str],
    client_id: str,
    text: str,
) -> Sent:
    """Write the agent's message to the customer (`conversation` is assigned to the agent).
    A customer who left and gave an address gets it by email too (handoff/email/outbox.py):
    the entry names the mail, so the console shows whether it was delivered."""
    mail = await away_mail_id(state, cid, conversation)
    stored = await state.store.append_entry(
        cid,
        "agent",
        text.strip(),
        client_id=f"agent-{client_id}",
        agent_name=agent.display_name,
        mail=mail or None,
    )
    if stored.new and mail:
        await queue_agent_message(state, cid, mail, stored.entry_id, text, agent.display_name)
    if stored.new and stored.answered:
        await _record_response(state, cid, stored)
    return Sent(entry=stored.entry_id, duplicate=not stored.new)


async def _record_response(state: AppState, cid: str, stored: Appended) -> None:
    """The reply stopped a response clock (the store decided which, with the message): in
    time, a wait within its target for the dashboard; late, a breach, counted (in the share and
    the metric) only if the sweeper has not already counted it. The first response time (from
    entering the queue to the first message of a person, once per time in the queue) also goes
    into the day's median."""
    settings = state.settings
    clock = answered_clock(
        stored.answered,
        stored.waiting_since,
        stored.priority,
        settings.first_response_targets,
        settings.next_response_targets,
    )
    if clock is None:
        return
    now = now_ms()
    if clock.kind == "first":
        await state.queue.record_sample("first_response_s", (now - clock.started_at) / 1000)
    if await state.queue.record_response(cid, clock, now):
        state.metrics.response_breached(clock.kind, clock.priority)


async def transfer(
    state: AppState,
    agent: SessionAgent,
    cid: str,
    conversation: dict[str, str],
    *,
    to_agent: str = "",
    to_team: str = "",
) -> TransferOutcome:
    """Hand the agent's chat to another online agent with a free slot, or else back to a team's
    queue (by default its own team's)."""
    if to_agent:
        return await _transfer_to_agent(state, agent, cid, to_agent)
    team = to_team or conversation.get("team") or state.settings.default_team
    if team not in state.settings.teams:
        return TransferOutcome(TransferResult.NO_SUCH_TEAM, target=team)
    result = await state.store.move(
        cid,
        allowed=["assigned"],
        new_state="queued",
        expected_agent=agent.name,
        team=team,
        priority=int(conversation.get("priority") or 5),
        fields={"queued_at": now_ms()},
        event_text=TRANSFER_TEXT,
        event={"reason": "transfer"},
    )
    if not result.ok:
        return TransferOutcome(TransferResult.CHANGED, target=team)
    await state.store.publish({"q": team})
    return TransferOutcome(TransferResult.TRANSFERRED, target=team)


async def _transfer_to_agent(
    state: AppState, agent: SessionAgent, cid: str, to_agent: str
) -> TransferOutcome:
    target = await accounts_of(state).get(to_agent)
    if target is None or target.name == agent.name:
        return TransferOutcome(TransferResult.NO_SUCH_AGENT)
    if not await is_online(state, target.name):
        return TransferOutcome(TransferResult.AGENT_OFFLINE, target=target.display_name)
    result = await assign(
        state,
        cid,
        target,
        allowed="assigned",
        expected_agent=agent.name,
        event_text=f"{target.display_name} has taken over the chat.",
    )
    if result.full:
        return TransferOutcome(TransferResult.AGENT_FULL, target=target.display_name)
    if not result.ok:
        return TransferOutcome(TransferResult.CHANGED, target=target.display_name)
    return TransferOutcome(TransferResult.TRANSFERRED, target=target.display_name)


async def return_to_bot(state: AppState, agent: SessionAgent, cid: str) -> ReturnResult:
    """The assistant takes the agent's chat over again."""
    result = await state.store.move(
        cid,
        allowed=["assigned"],
        new_state="bot",
        expected_agent=agent.name,
        event_text=RETURN_TEXT,
        # The bot must not answer what the customer said to the agent, up to the very move.
        cursor_to_now=True,
        event={"reason": "returned"},
    )
    return ReturnResult.RETURNED if result.ok else ReturnResult.CHANGED


async def close(
    state: AppState,
    agent: SessionAgent,
    cid: str,
    conversation: dict[str, str],
    *,
    notes: str,
    tags: list[str],
    email_transcript: bool = False,
) -> CloseResult:
    """End the agent's chat, keeping notes and tags; the customer is asked for a rating. Then
    the transcript is emailed if the agent asked, and a chat handed over for a delayed order
    gets its follow-up scheduled (email/follow_up.py)."""
    now = now_ms()
    result = await state.store.move(
        cid,
        allowed=["assigned"],
        new_state="closed",
        expected_agent=agent.name,
        event_text=CLOSE_TEXT,
        fields={
            "notes": notes,
            "tags": json.dumps(tags),
            "closed_at": now,
            "closed_by": agent.name,
        },
        event={"data": json.dumps({"ask_rating": True})},
    )
    if not result.ok:
        return CloseResult.CHANGED
    assigned_at = int(conversation.get("assigned_at") or now)
    await state.queue.record_handling(max(0.0, (now - assigned_at) / 1000))
    await follow_up.after_close(state, cid, conversation, email_transcript=email_transcript)
    return CloseResult.CLOSED
