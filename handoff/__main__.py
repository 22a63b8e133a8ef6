"""`python -m handoff`: serve the handoff service with settings from the environment.

The service runs on uvloop's event loop (libuv): most of the relay's work per message is socket
reads and writes, which it does with less CPU than asyncio's own loop (docs/benchmarks.md,
"Serving"). Tests build the app on their own loops (pytest-aiohttp); nothing in the app depends
on which loop runs it.
"""

from __future__ import annotations

import logging
import sys

import uvloop
from aiohttp import web

from handoff.app import create_app
from handoff.settings import Settings, SettingsError


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        shutdown_timeout=5.0,
        loop=uvloop.new_event_loop(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
