"""Liveness, readiness, health (Redis, Rasa, triage, the hints subscription) and the Prometheus
page.

    /livez    the process is up and started: a failure means "restart me"
    /readyz   this replica can serve a customer now: Redis answers and the live subscription
              runs; a failure means "send no new connections here" (never Rasa: a Rasa replica
              down is the assistant's outage, answered with the offer of a person, not the
              site's)
    /healthz  every dependency, Rasa included: for dashboards and alerts, not for probes
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from handoff.state import AppState, app_state

# Readiness asks Redis for a PING answer within this bound: shorter than the probe's own
# timeout (2 s in deploy/kubernetes/handoff.yaml), so a stalled Redis gives a 503 with its
# reason rather than a probe timeout, and well inside what a customer's request may wait on
# Redis (the storage deadline): a replica slower than this would answer them `unavailable`.
READY_PING_SECONDS = 1.0
# /healthz is read by people and alerts, not by the load balancer: it may wait longer.
HEALTH_PING_SECONDS = 2.0


async def redis_refusal(state: AppState, within: float) -> str | None:
    """Why Redis did not answer a PING within `within` seconds (the error's name), or None."""
    try:
        await asyncio.wait_for(state.redis.ping(), timeout=within)
    except (RedisError, OSError, asyncio.TimeoutError) as error:
        return type(error).__name__
    return None


async def livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = app_state(request.app)
    refusal = await redis_refusal(state, READY_PING_SECONDS)
    reason = None
    if refusal is not None:
        reason = f"redis: no answer to PING within {READY_PING_SECONDS:g} s ({refusal})"
    elif not state.live.connected.is_set():
        # Without it this replica's sockets hear of nothing another replica stored (an agent's
        # reply, a queue move) until their periodic resync.
        reason = "live: the subscription to Redis pub/sub is not running"
    if reason is not None:
        return web.json_response({"status": "not ready", "reason": reason}, status=503)
    return web.json_response({"status": "ready"})


async def healthz(request: web.Request) -> web.Response:
    state = app_state(request.app)
    checks: dict[str, dict[str, Any]] = {}
    refusal = await redis_refusal(state, HEALTH_PING_SECONDS)
    checks["redis"] = {"ok": True} if refusal is None else {"ok": False, "error": refusal}
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
