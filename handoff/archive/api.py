"""The console's view of the archive: agents search past conversations and open one.

Any console user who works chats (agents, admins) may search: a customer's earlier
conversations are the context an agent needs, whichever team handled them. Export and erasure
are admins' (handoff/archive/privacy.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

from handoff.archive.store import ArchiveStore
from handoff.console.access import CONSOLE_ROLES
from handoff.console.sessions import require_agent
from handoff.conversations.store import is_conversation_id
from handoff.state import app_state
from vocabulary.pii import mask

MAX_QUERY_CHARS = 200


def archive_of(request: web.Request) -> ArchiveStore:
    archive = app_state(request.app).archive
    if archive is None:
        raise web.HTTPServiceUnavailable(text="The conversation archive is not configured.")
    return archive


def _day_ms(request: web.Request, name: str, end_of_day: bool = False) -> int | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"'{name}' must be a date like 2026-12-06.") from None
    if end_of_day:
        day += dt.timedelta(days=1)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)


def _filter(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    if len(value) > MAX_QUERY_CHARS:
        raise web.HTTPBadRequest(text=f"'{name}' is longer than {MAX_QUERY_CHARS} characters.")
    return value or None


async def search_archive(request: web.Request) -> web.Response:
    await require_agent(request, roles=CONSOLE_ROLES)
    archive = archive_of(request)
    filters = {
        "text": _filter(request, "q"),
        "order_number": _filter(request, "order"),
        "email": _filter(request, "email"),
        "tag": _filter(request, "tag"),
    }
    if filters["order_number"] and not any(c.isdigit() for c in filters["order_number"]):
        raise web.HTTPBadRequest(text="An order number has digits, like HG-10042.")
    since, until = _day_ms(request, "from"), _day_ms(request, "to", end_of_day=True)
    found = await asyncio.to_thread(
        archive.search,
        text=filters["text"],
        order_number=filters["order_number"],
        email=filters["email"],
        tag=filters["tag"],
        since_ms=since,
        until_ms=until,
    )
    return web.json_response({"conversations": [_listed(c) for c in found]})


async def archived_conversation(request: web.Request) -> web.Response:
    await require_agent(request, roles=CONSOLE_ROLES)
    cid = request.match_info["cid"]
    found = (
        await asyncio.to_thread(archive_of(request).conversation, cid)
        if is_conversation_id(cid)
        else None
    )
    if found is None:
        raise web.HTTPNotFound(text="There is no such conversation in the archive.")
    found = _listed(found)
    return web.json_response({"conversation": found})


def _listed(conversation: dict[str, object]) -> dict[str, object]:
    """What the console shows: the packet's summary masked, as for a live chat."""
    packet = conversation.get("packet")
    if isinstance(packet, dict) and isinstance(packet.get("summary"), str):
        conversation = {**conversation, "packet": {**packet, "summary": mask(packet["summary"])}}
    return conversation
