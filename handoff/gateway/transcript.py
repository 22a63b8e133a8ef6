"""The customer's transcript as a plain-text download (`GET /api/transcript`, the widget's link).

The resume token authorises it (`Authorization: Bearer <token>`, or `?token=`): whoever holds the
chat's token may read the chat, nobody else. A widget embedded on a shop's own origin (one in
ALLOWED_ORIGINS) may fetch it across origins; no credentials are allowed, the token is enough.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from aiohttp import web

from handoff.conversations.entry import Entry
from handoff.gateway import tokens
from handoff.state import app_state

FILENAME = "harbor-goods-chat.txt"


async def transcript(request: web.Request) -> web.Response:
    """The customer's own transcript as plain text, for the widget's download link."""
    state = app_state(request.app)
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    token = token or request.query.get("token", "")
    try:
        cid = tokens.verify(state.settings.secret.reveal(), token)
    except tokens.TokenRefused:
        raise web.HTTPForbidden(text="This transcript link is not valid.") from None
    return web.Response(
        text=transcript_text(await state.store.read_all(cid)),
        headers={
            "Content-Disposition": f'attachment; filename="{FILENAME}"',
            **_transcript_cors(request),
        },
    )


def transcript_text(entries: Iterable[Entry]) -> str:
    """A transcript as the customer reads it, one line per entry (the download, and the copy
    emailed at close: handoff/email/follow_up.py)."""
    lines = []
    for entry in entries:
        if entry.kind == "message":
            who = {"customer": "You", "bot": "Assistant"}.get(
                entry.sender, entry.fields.get("agent_name") or "Agent"
            )
            lines.append(f"{_clock(entry.at)}  {who}: {entry.text}")
        elif entry.text:
            lines.append(f"{_clock(entry.at)}  — {entry.text}")
    return "\n".join(lines) + "\n"


async def transcript_preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=_transcript_cors(request))


def _transcript_cors(request: web.Request) -> dict[str, str]:
    """CORS for a widget embedded on a shop's own origin (one in ALLOWED_ORIGINS).

    The bearer token, not a cookie, authorises the download, so no credentials are allowed.
    """
    origin = request.headers.get("Origin", "").rstrip("/")
    if not origin or origin not in app_state(request.app).settings.allowed_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET",
        "Access-Control-Allow-Headers": "Authorization",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _clock(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
