"""What every part of the live queue works on: Redis, its key names, the conversation store and
the settings. The queue is one object (`LiveQueue`) assembled from parts that each do one job
(stats, waiting, tickets, escalation); this base gives them the attributes they share."""

from __future__ import annotations

from redis.asyncio import Redis

from handoff.conversations.keys import Keys
from handoff.conversations.store import ConversationStore
from handoff.settings import Settings


class QueueParts:
    redis: Redis
    keys: Keys
    store: ConversationStore
    settings: Settings
