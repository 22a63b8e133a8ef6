"""What the app shares between handlers, under one typed AppKey (no module-level singletons)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from handoff.archive.store import ArchiveStore
from handoff.assistant.rasa import RasaClient
from handoff.assistant.turns import BotTurns
from handoff.conversations.hints import LiveHub
from handoff.conversations.keys import Keys
from handoff.conversations.store import ConversationStore
from handoff.queue.escalation import LiveQueue
from handoff.settings import Settings
from handoff.web.limits import RateLimiter
from handoff.web.metrics import Metrics
from orders.store import OrderStore

# How many socket writers of one replica read Redis at once. A replica's sockets all re-read
# when its live channel comes back (conversations/hints.py), and each read in flight holds a
# connection of the shared pool: thousands at once would take the pool's every connection
# (conversations/redis_client.py) from the customers' own sends and the bot turns. A writer's
# read takes a fraction of a millisecond, so in normal traffic far fewer are ever in flight.
WRITER_READS_AT_ONCE = 200


@dataclass
class AppState:
    settings: Settings
    keys: Keys
    redis: Redis
    http: aiohttp.ClientSession
    store: ConversationStore
    live: LiveHub
    queue: LiveQueue
    rasa: RasaClient
    turns: BotTurns
    limits: RateLimiter
    metrics: Metrics
    orders: OrderStore
    triage: Any = None
    # The conversation archive (handoff/archive); None when it is not configured.
    archive: ArchiveStore | None = None
    customer_sockets: set[web.WebSocketResponse] = field(default_factory=set)
    agent_sockets: set[web.WebSocketResponse] = field(default_factory=set)
    # Customer sockets this replica holds, by conversation (handoff/email/away.py), and what
    # wakes this replica's email sender at once when it queues a mail (handoff/email/sender.py).
    customers_here: dict[str, int] = field(default_factory=dict)
    mail_wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The socket writers' turns at reading Redis (web/sockets.py SocketWriter._read).
    writer_reads: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(WRITER_READS_AT_ONCE)
    )
    # Periodic work other modules register (agent grace periods, auto-assign); run every 2 s.
    sweep_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


STATE: web.AppKey[AppState] = web.AppKey("harbor_state", AppState)
SETTINGS: web.AppKey[Settings] = web.AppKey("harbor_settings", Settings)


def app_state(app: web.Application) -> AppState:
    return app[STATE]
