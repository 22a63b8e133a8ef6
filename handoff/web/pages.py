"""The service's own pages (shop, widget script, console, editor) and their security headers.

Every page is served with a Content-Security-Policy that allows only the service's own scripts
and sockets, and may not be framed by another site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parents[1] / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def static_page(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """A handler serving one file of handoff/static/ with the security headers."""

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers=SECURITY_HEADERS)

    return handler
