"""Who may do what with a conversation in the console: the access rules, in one place.

The agent socket, the console API and the reply aids all ask here, so a rule changes once.
"""

from __future__ import annotations

from aiohttp import web

from handoff.console import sessions
from handoff.console.sessions import SessionAgent
from handoff.conversations.store import is_conversation_id
from handoff.state import app_state

# Roles that work in the console's chat views (editors have the FAQ editor instead).
CONSOLE_ROLES = ("agent", "admin")


def may_view(agent: SessionAgent, conversation: dict[str, str]) -> bool:
    """Assigned chats: their agent; queued chats: the team's agents; closed: who closed it.
    Admins see every chat."""
    if agent.role == "admin":
        return True
    current = conversation.get("state")
    if current == "assigned":
        return conversation.get("agent") == agent.name
    if current == "queued":
        return conversation.get("team", "") in agent.account.teams
    if current == "closed":
        return conversation.get("closed_by") == agent.name
    return False


def may_work_team(agent: SessionAgent, team: str) -> bool:
    """Whether the agent may take a chat from this team's queue."""
    return agent.role == "admin" or team in agent.account.teams


def is_assigned_to(agent: SessionAgent, conversation: dict[str, str]) -> bool:
    """Whether the chat is in this agent's hands (only they may write to it or hand it on)."""
    return conversation.get("state") == "assigned" and conversation.get("agent") == agent.name


async def viewable_conversation(request: web.Request) -> tuple[str, dict[str, str]]:
    """The conversation named by the URL's `cid`, for a console user allowed to see it.

    404 when there is no such conversation, 403 when it is not theirs to open (`may_view`).
    """
    state = app_state(request.app)
    agent = await sessions.require_agent(request, roles=CONSOLE_ROLES)
    cid = request.match_info["cid"]
    conversation = await state.store.get(cid) if is_conversation_id(cid) else None
    if conversation is None:
        raise web.HTTPNotFound(text="There is no such conversation.")
    if not may_view(agent, conversation):
        raise web.HTTPForbidden(text="You may not open this conversation.")
    return cid, conversation
