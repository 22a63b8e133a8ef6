"""The console's HTTP JSON API: queues, one conversation, left messages, the dashboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any, cast

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from handoff.archive.dashboard import DAILY_COUNTS, archived_period
from handoff.console.access import CONSOLE_ROLES, viewable_conversation
from handoff.console.queue_view import chat_title, queue_items
from handoff.console.sessions import require_agent
from handoff.email.outbox import email_fields
from handoff.gateway.handlers import SATISFIED_SCORE
from handoff.queue.stats import SAMPLE_SERIES, median_of_histogram, within_target_shares
from handoff.state import AppState, app_state
from vocabulary.pii import mask

# Conversation fields an agent never needs to see.
log = logging.getLogger(__name__)

HIDDEN_FIELDS = {"bot_cursor"}


def _query_int(request: web.Request, name: str, default: int, lowest: int, highest: int) -> int:
    """A whole-number query parameter clamped to [lowest, highest]; 400 when it is not one."""
    raw = request.query.get(name, "") or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"'{name}' must be a whole number.") from None
    return min(max(value, lowest), highest)


async def get_queue(request: web.Request) -> web.Response:
    state = app_state(request.app)
    agent = await require_agent(request, roles=CONSOLE_ROLES)
    teams = state.settings.teams if agent.role == "admin" else agent.account.teams
    return web.json_response(
        {"teams": [{"team": t, "items": await queue_items(state, t)} for t in teams]}
    )


async def get_conversation(request: web.Request) -> web.Response:
    state = app_state(request.app)
    cid, conversation = await viewable_conversation(request)
    try:
        packet: dict[str, Any] = masked_packet(json.loads(conversation.get("packet") or "{}"))
    except ValueError:
        packet = {}
    fields = {
        k: v
        for k, v in conversation.items()
        if k not in HIDDEN_FIELDS and k != "packet" and not k.startswith("triage:")
    }
    # As the socket's event frames show them: with an agent message's email delivery status.
    entries = [
        {**e.to_frame(), **await email_fields(state, e.fields)}
        for e in await state.store.read_all(cid)
    ]
    return web.json_response(
        {
            "conversation": cid,
            "title": chat_title(cid, conversation),
            "fields": fields,
            "packet": packet,
            "entries": entries,
        }
    )


def masked_packet(packet: dict[str, Any]) -> dict[str, Any]:
    """A handoff packet as agents see it: its summary masked for personal data."""
    if isinstance(packet.get("summary"), str):
        return {**packet, "summary": mask(packet["summary"])}
    return packet


async def get_tickets(request: web.Request) -> web.Response:
    state = app_state(request.app)
    await require_agent(request, roles=CONSOLE_ROLES)
    limit = _query_int(request, "limit", 100, 1, 500)
    raw = await state.redis.xrevrange(state.keys.tickets, count=limit) or []
    tickets = [{"id": str(tid), **cast(dict[str, str], values or {})} for tid, values in raw]
    # A ticket an agent took to answer (POST /api/tickets/{id}/take, handoff/email/).
    ids = [t["id"] for t in tickets]
    taken = await state.redis.hmget(state.keys.tickets_taken, ids) if ids else []
    for ticket, agent in zip(tickets, taken or [], strict=False):
        if agent:
            ticket.update(status="taken", taken_by=str(agent))
    return web.json_response({"tickets": tickets})


async def get_stats(request: web.Request) -> web.Response:
    state = app_state(request.app)
    await require_agent(request, roles=CONSOLE_ROLES)
    # Redis keeps a day's counters for STATS_TTL (90 days); longer periods come from the
    # archive, which keeps conversations for ARCHIVE_RETENTION_DAYS.
    days = _query_int(request, "days", 1, 1, 365)
    live_days = min(days, 90)
    today = dt.datetime.now(dt.timezone.utc).date()
    totals: dict[str, int] = {}
    samples: dict[str, dict[int, int]] = {}
    daily: list[dict[str, Any]] = []
    for back in range(live_days):
        day = (today - dt.timedelta(days=back)).isoformat()
        counts: dict[str, int] = {}
        for field, raw in (await state.redis.hgetall(state.keys.daily_stats(day))).items():
            series, _, seconds = str(field).partition(":")
            if series in SAMPLE_SERIES:
                bucket = samples.setdefault(series, {})
                bucket[int(seconds)] = bucket.get(int(seconds), 0) + int(raw)
            else:
                counts[str(field)] = int(raw)
        daily.append({"day": day, **counts})
        for name, value in counts.items():
            totals[name] = totals.get(name, 0) + value
    return web.json_response(
        {
            "days": days,
            "counters": totals,
            "daily": daily[::-1],  # oldest first, one object of counters per day
            **dashboard(totals, samples),
            "waiting_now": sum([await state.store.queue_length(t) for t in state.settings.teams]),
            "archive": await archived_figures(state, days),
        }
    )


async def archived_figures(state: AppState, days: int) -> dict[str, Any] | None:
    """The period's figures from the archive, which covers it whole, per day and in total (None
    while it is unavailable): by the live figures' definitions (`dashboard`) as far as the
    archive keeps what they need (handoff/archive/dashboard.py says how it counts, and
    docs/archive.md where it differs). Next responses within target are not archived."""
    if state.archive is None:
        return None
    try:
        period = await asyncio.to_thread(
            archived_period, state.archive.engine, days, satisfied_from=SATISFIED_SCORE
        )
    except SQLAlchemyError as error:
        # The console then says the archive is not available; the log says why (a slow query
        # over a long period on PostgreSQL meets the connection's statement timeout).
        log.warning("dashboard: the archive's figures failed (%s)", error.__class__.__name__)
        return None
    totals = {name: sum(d[name] for d in period.daily) for name in DAILY_COUNTS}
    return {
        "daily": period.daily,
        **totals,
        "containment_rate": _containment(totals["conversations"], totals["person_needed"]),
        **_satisfaction(totals["rated"], totals["rating_sum"], totals["satisfied"]),
        **_medians(period.samples),
        "first_response_within_target": within_target_shares(totals)[
            "first_response_within_target"
        ],
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _containment(conversations: int, person_needed: int) -> float | None:
    """The share of conversations that never needed a person (queue or a message left)."""
    # min(): a conversation opened in the last millisecond of a day may be counted on the next.
    return _share(conversations - min(person_needed, conversations), conversations)


def _satisfaction(ratings: int, rating_total: int, satisfied: int) -> dict[str, float | None]:
    """CSAT: the share of ratings that are SATISFIED_SCORE or more, and their mean."""
    return {
        "csat": _share(satisfied, ratings),
        "csat_average": round(rating_total / ratings, 2) if ratings else None,
    }


def _medians(samples: dict[str, dict[int, int]]) -> dict[str, float | None]:
    """The median wait, first response and handling time from a period's samples (whole
    seconds -> how many, per SAMPLE_SERIES), in seconds."""
    wait, first_response, handling = (
        median_of_histogram(samples.get(series, {})) for series in SAMPLE_SERIES
    )
    return {
        "median_wait_seconds": wait,
        "median_first_response_seconds": first_response,
        "median_handling_seconds": handling,
    }


def dashboard(totals: dict[str, int], samples: dict[str, dict[int, int]]) -> dict[str, Any]:
    """The dashboard's figures from a period's counters (definitions in docs/protocol.md).

    Rates are over the conversations that started in the period, each counted at most once,
    so they stay between 0 and 1; a figure with nothing to measure is None, not 0.
    """
    conversations = totals.get("conversations", 0)
    # min(): a conversation opened in the last millisecond of a day may be counted on the next.
    handoffs = min(totals.get("handoffs", 0), conversations)
    ratings = totals.get("ratings", 0)

    return {
        "conversations": conversations,
        "handoffs": handoffs,
        "tickets": totals.get("tickets", 0),
        "handoff_rate": _share(handoffs, conversations),
        "containment_rate": _containment(conversations, totals.get("person_needed", 0)),
        "escalation_attempts": totals.get("escalation_attempts", 0),
        "unstaffed_attempts": totals.get("unstaffed", 0),
        "ratings": ratings,
        **_satisfaction(ratings, totals.get("rating_total", 0), totals.get("ratings_satisfied", 0)),
        **_medians(samples),
        **within_target_shares(totals),
    }
