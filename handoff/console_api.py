"""The console's HTTP JSON API: queues, one conversation, left messages, the dashboard."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from typing import Any, cast

from aiohttp import web

from handoff.agents import may_view, queue_items
from handoff.privacy import mask
from handoff.sessions import require_agent
from handoff.state import app_state
from handoff.store import is_conversation_id

CONSOLE_ROLES = ("agent", "admin")
# Conversation fields an agent never needs to see.
HIDDEN_FIELDS = {"bot_cursor"}


async def get_queue(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    teams = state.settings.teams if agent.role == "admin" else agent.account.teams
    return web.json_response(
        {"teams": [{"team": t, "items": await queue_items(state, t)} for t in teams]}
    )


async def get_conversation(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    cid = request.match_info["cid"]
    conversation = await state.store.get(cid) if is_conversation_id(cid) else None
    if conversation is None:
        raise web.HTTPNotFound(text="There is no such conversation.")
    if not may_view(agent, conversation):
        raise web.HTTPForbidden(text="You may not open this conversation.")
    try:
        packet: dict[str, Any] = json.loads(conversation.get("packet") or "{}")
    except ValueError:
        packet = {}
    if isinstance(packet.get("summary"), str):
        packet["summary"] = mask(packet["summary"])
    fields = {
        k: v
        for k, v in conversation.items()
        if k not in HIDDEN_FIELDS and k != "packet" and not k.startswith("triage:")
    }
    entries = [e.to_frame() for e in await state.store.read_all(cid)]
    return web.json_response(
        {"conversation": cid, "fields": fields, "packet": packet, "entries": entries}
    )


async def get_tickets(request: web.Request) -> web.Response:
    state = app_state(request.app)
    await require_agent(request, roles=CONSOLE_ROLES)
    limit = min(max(int(request.query.get("limit", "100") or 100), 1), 500)
    raw = await state.redis.xrevrange(state.keys.tickets, count=limit) or []
    tickets = [{"id": str(tid), **cast(dict[str, str], values or {})} for tid, values in raw]
    return web.json_response({"tickets": tickets})


async def get_stats(request: web.Request) -> web.Response:
    state = app_state(request.app)
    await require_agent(request, roles=CONSOLE_ROLES)
    days = min(max(int(request.query.get("days", "1") or 1), 1), 90)
    today = dt.datetime.now(dt.timezone.utc).date()
    totals: dict[str, int] = {}
    for back in range(days):
        day = (today - dt.timedelta(days=back)).isoformat()
        for name, value in (await state.redis.hgetall(state.keys.daily_stats(day))).items():
            totals[str(name)] = totals.get(str(name), 0) + int(value)
    conversations = totals.get("conversations", 0)
    handoffs = totals.get("handoffs", 0)
    ratings = totals.get("ratings", 0)
    handling = [float(x) for x in await state.redis.lrange(state.keys.handling_times, 0, -1)]
    return web.json_response(
        {
            "days": days,
            "counters": totals,
            "conversations": conversations,
            "handoffs": handoffs,
            "tickets": totals.get("tickets", 0),
            "containment_rate": round(1 - handoffs / conversations, 4) if conversations else None,
            "csat_average": round(totals.get("rating_total", 0) / ratings, 2) if ratings else None,
            "median_handling_seconds": statistics.median(handling) if handling else None,
            "waiting_now": sum([await state.store.queue_length(t) for t in state.settings.teams]),
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/queue", get_queue)
    app.router.add_get("/api/conversations/{cid}", get_conversation)
    app.router.add_get("/api/tickets", get_tickets)
    app.router.add_get("/api/stats", get_stats)
