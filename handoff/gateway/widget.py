"""What the widget asks before it opens a chat (`GET /api/widget/config`)."""

from __future__ import annotations

from aiohttp import web

from handoff.state import app_state


async def widget_config(request: web.Request) -> web.Response:
    settings = app_state(request.app).settings
    return web.json_response(
        {
            "title": settings.widget_title,
            "greeting": settings.widget_greeting,
            "max_message_chars": settings.max_message_chars,
        }
    )
