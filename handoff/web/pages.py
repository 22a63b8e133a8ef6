"""The service's own pages (shop, widget script, console, editor) and their security headers.

Every page is served with a Content-Security-Policy that allows only the service's own scripts
and sockets, and may not be framed by another site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parents[1] / "static"
# The pages' scripts, built from frontend/ by `make setup` (esbuild); not in the repository.
BUILD = STATIC / "build"
BUILT_SCRIPTS = ("widget.js", "console.js", "editor.js")


class FrontEndNotBuilt(RuntimeError):
    """The service was started before its pages' scripts were built."""


def check_front_end_built() -> None:
    """Refuse to start a service whose pages would load no script, and say how to build them."""
    missing = [name for name in BUILT_SCRIPTS if not (BUILD / name).is_file()]
    if missing:
        raise FrontEndNotBuilt(
            f"the front end is not built ({', '.join(missing)} missing from {BUILD}); "
            "run `make setup` (or `npm ci && npm run build`)"
        )


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def static_page(name: str) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """A handler serving one file of handoff/static/ (a name like `build/widget.js` reaches the
    built scripts) with the security headers."""

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers=SECURITY_HEADERS)

    return handler
