"""The handoff service's app factory: `create_app(settings) -> web.Application`.

Resources are opened in cleanup contexts, one each, in dependency order; a context's cleanup
runs only if its start-up succeeded:

    redis clients ─► HTTP session (to Rasa) ─► triage pipeline ─► live hub, sweeper ─► sockets
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from handoff.assistant.rasa import RasaClient
from handoff.assistant.turns import BotTurns, TurnOutcome
from handoff.console import accounts, sessions, sweeper
from handoff.console import routes as console
from handoff.conversations.hints import LiveHub
from handoff.conversations.keys import Keys
from handoff.conversations.store import ConversationStore
from handoff.editor import api as editor
from handoff.gateway import customer, transcript, widget
from handoff.queue.escalation import LiveQueue
from handoff.settings import Settings
from handoff.state import SETTINGS, STATE, AppState, app_state
from handoff.triage import TriageModel
from handoff.web import openapi
from handoff.web.limits import RateLimiter
from handoff.web.metrics import Metrics
from handoff.web.pages import STATIC, static_page

log = logging.getLogger(__name__)


def redis_client(settings: Settings, *, for_pubsub: bool = False) -> Redis:
    """A client that fails fast and retries briefly, so a Redis restart is a blip, not a hang."""
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=settings.redis_timeout,
        # A subscriber waits for messages indefinitely; its liveness comes from health checks.
        socket_timeout=None if for_pubsub else settings.redis_timeout,
        socket_keepalive=True,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
        max_connections=2000,
    )


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keys = Keys(settings.redis_prefix)
    redis = redis_client(settings)
    pubsub_redis = redis_client(settings, for_pubsub=True)
    http = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.bot_turn_timeout),
        connector=aiohttp.TCPConnector(limit=200),
    )
    try:
        store = ConversationStore(redis, keys)
        live = LiveHub(pubsub_redis, keys.live)
        metrics = Metrics()
        queue = LiveQueue(redis, keys, store, settings)
        rasa = RasaClient(
            http, settings.rasa_urls, settings.rasa_token.reveal(), settings.bot_turn_timeout
        )
        triage = load_triage(settings)

        async def escalate(
            cid: str, reason: str, priority: int, source: str, details: dict[str, Any]
        ) -> None:
            metrics.escalations.labels(reason=reason).inc()
            await queue.escalate(cid, reason, priority, source, details)

        def on_turn(seconds: float, outcome: TurnOutcome) -> None:
            label = "failed" if outcome.failed else "escalated" if outcome.escalated else "answered"
            metrics.bot_turns.labels(outcome=label).observe(seconds)

        turns = BotTurns(
            redis,
            keys,
            store,
            rasa,
            triage,
            escalate,
            lock_seconds=settings.bot_turn_timeout + 5,
            on_turn=on_turn,
            crisis_help_text=settings.crisis_help_text,
        )
        state = AppState(
            settings=settings,
            keys=keys,
            redis=redis,
            http=http,
            store=store,
            live=live,
            queue=queue,
            rasa=rasa,
            turns=turns,
            limits=RateLimiter(redis, keys),
            metrics=metrics,
            triage=triage,
        )
        app[STATE] = state
        await accounts.bootstrap_admin(
            accounts.Accounts(redis, keys, settings.default_team, settings.agent_capacity),
            settings.bootstrap_admin_password.reveal(),
        )
        yield
        await turns.close()
    finally:
        await http.close()
        await redis.aclose()
        await pubsub_redis.aclose()


def load_triage(settings: Settings) -> Any:
    """Load the trained triage pipeline once, at start-up (never at import)."""
    if not settings.triage_enabled:
        return None
    return TriageModel.load(settings.triage_model_dir)


async def _background(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    # What start-up loaded (the triage pipeline above all) lives as long as the process. Out of
    # the collector's reach, it no longer makes every full collection long: this cut the relay's
    # latency tail (bench/serving_bench.py). Collect first so no garbage is frozen with it.
    gc.collect()
    gc.freeze()
    tasks = [
        asyncio.create_task(state.live.run(), name="live-hub"),
        asyncio.create_task(_sweep_forever(state), name="sweeper"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _sweep_forever(state: AppState) -> None:
    while True:
        await asyncio.sleep(2.0)
        try:
            await state.turns.sweep()
            for hook in state.sweep_hooks:
                await hook()
        except RedisError as error:
            log.warning("sweeper skipped a round: %s", error)


async def _close_sockets(app: web.Application) -> None:
    state = app_state(app)
    for ws in list(state.customer_sockets) + list(state.agent_sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


# --- plain HTTP handlers ---------------------------------------------------------------------


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


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """API errors as JSON with a clear message; Redis trouble is a 503, never a 500 page."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if (
            request.path.startswith("/api/")
            and error.status >= 400
            and not (error.text or "").startswith("{")
        ):
            return web.json_response(
                {"error": error.reason, "message": error.text}, status=error.status
            )
        raise
    except RedisError:
        return web.json_response(
            {"error": "unavailable", "message": "Storage is unavailable; try again shortly."},
            status=503,
        )
    except json.JSONDecodeError:
        return web.json_response(
            {"error": "bad_json", "message": "The request body is not valid JSON."}, status=400
        )
    except RecursionError:
        # json.loads of "[[[[..." a few thousand deep, well within the body size limit.
        return web.json_response(
            {"error": "bad_json", "message": "The request body is nested too deeply."}, status=400
        )
    except UnicodeEncodeError:
        # JSON can carry an escaped lone surrogate ("\ud800") that cannot be stored as UTF-8.
        return web.json_response(
            {"error": "bad_text", "message": "The request contains invalid Unicode text."},
            status=400,
        )


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[json_errors, sessions.csrf_guard], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(_background)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", static_page("shop.html"))
    app.router.add_get("/livez", livez)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/ws/customer", customer.customer_socket)
    app.router.add_get("/api/widget/config", widget.widget_config)
    app.router.add_get("/api/transcript", transcript.transcript)
    app.router.add_route("OPTIONS", "/api/transcript", transcript.transcript_preflight)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/widget.js", static_page("widget.js"))
    app.router.add_get("/console", static_page("console.html"))
    console.setup_routes(app)  # console: login/sessions, /ws/agent, /api/queue etc.
    app.on_startup.append(sweeper.start_sweeping)  # grace period and auto-assign
    editor.setup(app)  # FAQ editor page and /api/faq/... (editors and admins)
    openapi.setup(app)  # /api/openapi.json: every route above is described there
    return app
