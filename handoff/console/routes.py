"""The console's routes: sign-in and sessions, the agent socket, the console API, reply aids.

Only routes: the CSRF middleware (sessions.csrf_guard) and the sweeper's round
(sweeper.start_sweeping) are installed by the app factory.
"""

from __future__ import annotations

from aiohttp import web

from handoff.console import api, sessions
from handoff.console.agent_socket import agent_socket


def setup_routes(app: web.Application) -> None:
    sessions.setup(app)
    app.router.add_get("/ws/agent", agent_socket)
    api.setup(app)
