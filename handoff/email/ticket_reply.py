"""Answering a ticket: an agent takes the ticket's conversation and writes in it as in any chat.

`POST /api/tickets/{ticket_id}/take` (console roles, CSRF) assigns the conversation of a message
a customer left to the agent, within their capacity, so it is in their My chats. The customer
has no socket, so the agent's messages go out by email (email/outbox.py `away_mail_id`), and
the customer's replies come back into the same conversation (email/inbound.py).

    200 {conversation, state: "assigned", agent}  taken (again: by the same agent, nothing moves)
    404 not_found    no such ticket, or its conversation is no longer kept
    403 other_team   the conversation belongs to a team the agent is not in
    409 taken        another agent has it (`winner`: their display name)
    409 capacity     the agent has no free chat slot
"""

from __future__ import annotations

import re
from typing import Any, cast

from aiohttp import web

from handoff.console.access import CONSOLE_ROLES, may_work_team
from handoff.console.chat_actions import claim, display_name
from handoff.console.sessions import require_agent
from handoff.conversations.store import now_ms
from handoff.state import AppState, app_state

TICKET_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def _conflict(error: str, message: str, **more: Any) -> web.Response:
    return web.json_response({"error": error, "message": message, **more}, status=409)


async def take_ticket(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    ticket_id = request.match_info["ticket_id"]
    found = (
        await state.redis.xrange(state.keys.tickets, ticket_id, ticket_id)
        if TICKET_ID.match(ticket_id)
        else []
    )
    if not found:
        raise web.HTTPNotFound(text="There is no such ticket.")
    cid = str(cast(dict[str, str], found[0][1] or {}).get("conversation", ""))
    conversation = await state.store.get(cid)
    if conversation is None:
        raise web.HTTPNotFound(text="This ticket's conversation is no longer kept.")
    if not may_work_team(agent, conversation.get("team", "")):
        raise web.HTTPForbidden(text="This ticket belongs to another team.")
    current, holder = conversation.get("state", ""), conversation.get("agent", "")
    if current == "assigned" and holder != agent.name:
        winner = await display_name(state, holder)
        return _conflict("taken", f"{winner} is answering this ticket.", winner=winner)
    if current != "assigned":
        if current == "queued":
            outcome = await claim(state, agent.account, cid)
            moved, full = outcome.ok, outcome.result.value == "capacity"
        else:
            result = await state.store.move(
                cid,
                allowed=[current],  # pinned: a change meanwhile makes the take fail
                new_state="assigned",
                new_agent=agent.name,
                capacity=agent.account.capacity,
                event_text=f"{agent.display_name} is answering your message.",
                fields={"assigned_at": now_ms()},
                event={"agent_name": agent.display_name},
                # What the customer wrote is for the agent now, not for the assistant.
                cursor_to_now=True,
            )
            moved, full = result.ok, result.full
        if full:
            return _conflict("capacity", "You have no free chat slot; close a chat first.")
        if not moved:
            return _conflict("taken", "The ticket's conversation changed meanwhile; try again.")
    await _mark_taken(state, ticket_id, agent.name)
    await state.store.publish({"tickets": True, "q": conversation.get("team", "")})
    return web.json_response({"conversation": cid, "state": "assigned", "agent": agent.name})


async def _mark_taken(state: AppState, ticket_id: str, agent: str) -> None:
    """Who took the ticket, for the ticket list; bounded like the tickets themselves."""
    key = state.keys.tickets_taken
    await state.redis.hset(key, ticket_id, agent)
    if await state.redis.hlen(key) > state.settings.max_tickets:
        held = [str(t) for t in await state.redis.hkeys(key)]
        ids = sorted(held, key=lambda t: tuple(map(int, t.split("-"))))
        await state.redis.hdel(key, *ids[: len(ids) - state.settings.max_tickets])
