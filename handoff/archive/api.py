"""The console's view of the archive: agents search past conversations and open one.

Any console user who works chats (agents, admins) may search: a customer's earlier
conversations are the context an agent needs, whichever team handled them. Export and erasure
are admins' (handoff/archive/privacy.py): POST /api/privacy/export and /api/privacy/erase.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

from handoff.archive.privacy import ArchiveUnavailable, Privacy
from handoff.archive.store import ArchiveStore, SearchCursor, Subject
from handoff.console.access import CONSOLE_ROLES
from handoff.console.api import masked_packet
from handoff.console.sessions import require_agent
from handoff.conversations.store import is_conversation_id
from handoff.state import app_state

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


def _cursor(request: web.Request) -> SearchCursor | None:
    raw = request.query.get("before", "").strip()
    if not raw:
        return None
    try:
        return SearchCursor.decode(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text="'before' is not the 'next' of an earlier answer: search again from the first "
            "page."
        ) from None


async def search_archive(request: web.Request) -> web.Response:
    """A page of past conversations, newest activity first; `next` (or null) is the `before` of
    the following page, with the same filters."""
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
    before = _cursor(request)
    page = await asyncio.to_thread(
        archive.search_page,
        text=filters["text"],
        order_number=filters["order_number"],
        email=filters["email"],
        tag=filters["tag"],
        since_ms=since,
        until_ms=until,
        before=before,
    )
    return web.json_response(
        {
            "conversations": [listed(c) for c in page.conversations],
            "next": page.next.encode() if page.next else None,
        }
    )


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
    found = listed(found)
    return web.json_response({"conversation": found})


def listed(conversation: dict[str, object]) -> dict[str, object]:
    """What the console shows: the packet's summary masked, as for a live chat."""
    packet = conversation.get("packet")
    if isinstance(packet, dict):
        return {**conversation, "packet": masked_packet(packet)}
    return conversation


# -- privacy (admins) ---------------------------------------------------------------------------


def privacy_of(request: web.Request) -> Privacy:
    return Privacy.of_service(app_state(request.app))


async def _subject(request: web.Request) -> Subject:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="Send a JSON object.") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Send a JSON object.")
    email, order = body.get("email"), body.get("order_number")
    if not all(v is None or (isinstance(v, str) and len(v) <= 254) for v in (email, order)):
        raise web.HTTPBadRequest(text="The email and order number are text.")
    try:
        return Subject.of(email=email or None, order_number=order or None)
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


async def privacy_export(request: web.Request) -> web.Response:
    """Everything held about one customer, as one JSON file to download."""
    await require_agent(request, roles=("admin",))
    subject = await _subject(request)
    try:
        document = await privacy_of(request).export(subject)
    except ArchiveUnavailable as error:
        raise web.HTTPServiceUnavailable(text=str(error)) from None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return web.json_response(
        document,
        headers={"Content-Disposition": f'attachment; filename="harbor-export-{stamp}.json"'},
    )


async def privacy_erase(request: web.Request) -> web.Response:
    """Erase everything held about one customer, everywhere; the erasure is recorded."""
    admin = await require_agent(request, roles=("admin",))
    subject = await _subject(request)
    try:
        erased = await privacy_of(request).erase(subject, actor=admin.name)
    except ArchiveUnavailable as error:
        raise web.HTTPServiceUnavailable(text=str(error)) from None
    return web.json_response({"erased": erased})


async def privacy_erasures(request: web.Request) -> web.Response:
    await require_agent(request, roles=("admin",))
    return web.json_response({"erasures": await asyncio.to_thread(archive_of(request).erasure_log)})
