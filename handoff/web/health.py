"""Liveness, health (Redis, Rasa, triage, the hints subscription) and the Prometheus page."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.state import app_state


async def livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def healthz(request: web.Request) -> web.Response:
    state = app_state(request.app)
    checks: dict[str, dict[str, Any]] = {}
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=2)
        checks["redis"] = {"ok": True}
    except (RedisError, OSError, asyncio.TimeoutError) as error:
        checks["redis"] = {"ok": False, "error": type(error).__name__}
    rasa_ok = await state.rasa.healthy()
    checks["rasa"] = {"ok": rasa_ok, "replicas": len(state.settings.rasa_urls)}
    checks["triage"] = {
        "ok": state.triage is not None or not state.settings.triage_enabled,
        "enabled": state.settings.triage_enabled,
    }
    checks["live"] = {"ok": state.live.connected.is_set()}
    healthy = all(c["ok"] for c in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )


async def metrics_page(request: web.Request) -> web.Response:
    body = app_state(request.app).metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})
