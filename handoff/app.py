"""The handoff service's app factory: `create_app(settings) -> web.Application`.

Resources are opened in cleanup contexts, one each, in dependency order; a context's cleanup
runs only if its start-up succeeded:

    redis clients ─► HTTP session (to Rasa) ─► triage pipeline ─► live hub, sweeper ─► sockets
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.archive import api as archive_api
from handoff.archive.service import archive_context
from handoff.assistant.overload import TurnLine
from handoff.assistant.rasa import RasaClient
from handoff.assistant.triage import TriageModel
from handoff.assistant.turns import BotTurns, TurnOutcome
from handoff.background import stop_if_cancelled, stop_tasks
from handoff.console import accounts, reply_aids, sessions, sweeper
from handoff.console import api as console_api
from handoff.console import customer as customer_history
from handoff.console import orders as order_panel
from handoff.console.agent_socket import agent_socket
from handoff.conversations.hints import LiveHub
from handoff.conversations.keys import Keys
from handoff.conversations.lifetimes import run_lifetimes_pass
from handoff.conversations.redis_client import ReplicatedStore, connect
from handoff.editor import api as editor
from handoff.email import catcher_api, follow_up, follow_up_rating, ticket_reply
from handoff.email.service import email_context
from handoff.gateway import customer, transcript, widget
from handoff.queue.context import ContextSource
from handoff.queue.escalation import LiveQueue
from handoff.settings import Settings
from handoff.state import SETTINGS, STATE, AppState, app_state
from handoff.web import health, openapi
from handoff.web.collector import time_pauses, tune_collector
from handoff.web.errors import json_errors
from handoff.web.limits import RateLimiter
from handoff.web.metrics import Metrics
from handoff.web.pages import STATIC, check_front_end_built, static_page
from orders.store import OrderStore

log = logging.getLogger(__name__)


def redis_client(settings: Settings, *, for_pubsub: bool = False) -> Redis:
    """A client that fails fast and retries briefly, so a Redis restart or failover is a blip:
    REDIS_URL's server, or the master REDIS_SENTINELS name (conversations/redis_client.py)."""
    return connect(
        settings.redis_url,
        settings.redis_timeout,
        sentinels=settings.redis_sentinels,
        master=settings.redis_sentinel_master,
        for_pubsub=for_pubsub,
    )


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keys = Keys(settings.redis_prefix, closed_lifetime=settings.closed_conversation_ttl)
    redis = redis_client(settings)
    pubsub_redis = redis_client(settings, for_pubsub=True)
    http = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.bot_turn_timeout),
        connector=aiohttp.TCPConnector(limit=200),
    )
    # The shop's orders, for the console (order panel, the verified customer's name): the
    # database is reached on the first lookup, so one that is down costs no start-up.
    # Lookups get four threads of their own: a database that hangs holds those, not the
    # threads the archive and everything else share (handoff/console/orders.py).
    orders = OrderStore(settings.orders_database_url, settings.orders_timeout, workers=4)
    try:
        # An acknowledged message waits for REDIS_ACK_REPLICAS replicas (0: for none).
        store = ReplicatedStore(redis, keys, settings.redis_ack_replicas, settings.redis_timeout)
        live = LiveHub(pubsub_redis, keys.live, answer_within=settings.storage_deadline)
        metrics = Metrics()
        rasa = RasaClient(
            http, settings.rasa_urls, settings.rasa_token.reveal(), settings.bot_turn_timeout
        )
        queue = LiveQueue(redis, keys, store, settings, ContextSource(rasa, orders))
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
            identify=ContextSource(rasa, orders).customer_fields,
            line=TurnLine(
                settings.bot_turns_in_flight,
                wait_bound=settings.bot_turn_wait,
                busy_after=settings.bot_busy_notice_after,
                metrics=metrics,
            ),
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
            orders=orders,
        )
        app[STATE] = state
        await accounts.bootstrap_admin(
            accounts.Accounts(redis, keys, settings.default_team, settings.agent_capacity),
            settings.bootstrap_admin_password.reveal(),
        )
        yield
        await turns.close()
    finally:
        orders.dispose()
        await http.close()
        await redis.aclose()
        await pubsub_redis.aclose()


def load_triage(settings: Settings) -> TriageModel | None:
    """Load the trained triage pipeline once, at start-up (never at import)."""
    if not settings.triage_enabled:
        return None
    return TriageModel.load(settings.triage_model_dir)


async def _background(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    # What start-up loaded (the triage pipeline above all) lives as long as the process: frozen
    # out of the collector's reach, and full collections made rare (web/collector.py).
    tune_collector()
    stop_timing = time_pauses(state.metrics.gc_pauses)
    stopping = asyncio.Event()
    tasks = [
        asyncio.create_task(state.live.run(), name="live-hub"),
        asyncio.create_task(_sweep_forever(state), name="sweeper"),
        asyncio.create_task(
            run_lifetimes_pass(state.redis, state.keys, stopping, state.settings.resume_token_ttl),
            name="lifetimes-pass",
        ),
    ]
    yield
    stopping.set()
    stop_timing()
    await stop_tasks(tasks)


async def _sweep_forever(state: AppState) -> None:
    while True:
        await asyncio.sleep(2.0)
        # Each job on its own: one that fails (Redis away, or a defect in it) must not stop the
        # others, such as requeueing the chats of an agent who vanished, nor the next rounds.
        jobs: list[Callable[[], Awaitable[object]]] = [state.turns.sweep, *state.sweep_hooks]
        for job in jobs:
            try:
                await job()
            except RedisError as error:
                stop_if_cancelled()
                log.warning("sweeper skipped %s this round: %s", job.__qualname__, error)
            except Exception:
                stop_if_cancelled()
                log.exception("sweeper job %s failed this round", job.__qualname__)


async def _close_sockets(app: web.Application) -> None:
    state = app_state(app)
    for ws in list(state.customer_sockets) + list(state.agent_sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    check_front_end_built()
    # The one middleware list: errors become JSON first, then the CSRF guard judges the request.
    app = web.Application(middlewares=[json_errors, sessions.csrf_guard], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(_background)
    app.cleanup_ctx.append(editor.editor_context)
    app.cleanup_ctx.append(archive_context)
    app.cleanup_ctx.append(email_context)  # the outbox's sender, the inbound SMTP server
    app.on_startup.append(sweeper.start_sweeping)  # an agent gone past the grace period
    app.on_startup.append(follow_up.start_follow_ups)  # follow-up emails that are due
    app.on_shutdown.append(_close_sockets)
    # The one route table; every route is described in handoff/web/openapi.yaml (a test checks).
    app.add_routes(
        [
            # pages and operations
            web.get("/", static_page("shop.html")),
            web.get("/widget.js", static_page("build/widget.js")),
            web.get("/console", static_page("console.html")),
            web.static("/static/", STATIC, append_version=False),
            web.get("/livez", health.livez),
            web.get("/readyz", health.readyz),
            web.get("/healthz", health.healthz),
            web.get("/metrics", health.metrics_page),
            web.get("/api/openapi.json", openapi.openapi_json),
            # customers (gateway)
            web.get("/ws/customer", customer.customer_socket),
            web.get("/api/widget/config", widget.widget_config),
            web.get("/api/transcript", transcript.transcript),
            web.options("/api/transcript", transcript.transcript_preflight),
            # agents (console)
            web.post("/api/login", sessions.login),
            web.post("/api/logout", sessions.logout),
            web.post("/api/password", sessions.change_password),
            web.get("/api/me", sessions.me),
            web.get("/ws/agent", agent_socket),
            web.get("/api/queue", console_api.get_queue),
            web.get("/api/conversations/{cid}", console_api.get_conversation),
            web.get("/api/tickets", console_api.get_tickets),
            web.post("/api/tickets/{ticket_id}/take", ticket_reply.take_ticket),
            web.get("/api/stats", console_api.get_stats),
            web.get("/api/conversations/{cid}/customer", customer_history.customer_history),
            web.get("/api/archive/conversations", archive_api.search_archive),
            web.get("/api/archive/conversations/{cid}", archive_api.archived_conversation),
            web.post("/api/privacy/export", archive_api.privacy_export),
            web.post("/api/privacy/erase", archive_api.privacy_erase),
            web.get("/api/privacy/erasures", archive_api.privacy_erasures),
            web.get("/api/canned", reply_aids.get_canned),
            web.get("/api/conversations/{cid}/suggestions", reply_aids.get_suggestions),
            web.get("/api/conversations/{cid}/orders", order_panel.list_orders),
            web.get("/api/conversations/{cid}/orders/{order_number}", order_panel.get_order),
            web.get("/api/audit/order-lookups", order_panel.order_lookup_audit),
            # admins: what make run's local mail catcher caught (MAIL_CATCHER), replies to it
            web.get("/api/mail/caught", catcher_api.list_caught),
            web.post("/api/mail/caught/{id}/reply", catcher_api.reply_as_customer),
            web.get("/api/conversations/{cid}/follow-up", follow_up.get_follow_up),
            web.post("/api/conversations/{cid}/follow-up", follow_up.post_follow_up),
            web.delete("/api/conversations/{cid}/follow-up", follow_up.delete_follow_up),
            # the follow-up email's one-click rating links (public, signed)
            web.get("/rate/{token}", follow_up_rating.rate_page),
            # content editors (editor)
            web.get("/console/editor", editor.editor_page),
            web.get("/api/faq/topics", editor.list_topics),
            web.post("/api/faq/topics", editor.add_topic),
            web.get("/api/faq/topics/{key}", editor.show_topic),
            web.patch("/api/faq/topics/{key}", editor.edit_topic),
            web.delete("/api/faq/topics/{key}", editor.remove_topic),
            web.post("/api/faq/validate", editor.validate),
            web.post("/api/faq/publish", editor.start_publish),
            web.post("/api/faq/rollback", editor.start_rollback),
            web.get("/api/faq/jobs/current", editor.current_job),
            web.get("/api/faq/jobs/{job}", editor.get_job),
            web.get("/api/faq/history", editor.history),
            web.get("/api/faq/unanswered", editor.list_unanswered),
            web.post("/api/faq/unanswered/dismiss", editor.dismiss_unanswered),
            web.get("/api/faq/audit", editor.audit_log),
        ]
    )
    return app
