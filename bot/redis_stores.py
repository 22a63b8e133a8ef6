"""Rasa's tracker and lock stores in the stack's Redis: the server REDIS_URL names, or the
master Sentinel names when REDIS_SENTINELS is set (endpoints.yml names these classes).

Rasa 3.6's own RedisTrackerStore and RedisLockStore connect to one host and port only: they have
no Sentinel setting, and after a failover they would keep writing to the old master (refused
while it is down, READONLY once it is back as a replica). These subclasses keep everything of
Rasa's (key prefix, record expiry, serialisation) and replace only the client, with one from
redis-py's Sentinel, when the environment names Sentinels:

    REDIS_SENTINELS=host:port,host:port   the Sentinels (the handoff service reads the same)
    REDIS_SENTINEL_MASTER=harbor          the master's name at the Sentinels

They read the environment (which the launcher gives Rasa) rather than endpoints.yml, so that
one variable configures the service and the assistant alike, and endpoints.yml keeps the same
lines with or without Sentinel (Rasa refuses a file naming a variable that is not set).

A call during a failover retries on a new connection, which asks the Sentinels where the master
is now, with backoff for about four seconds: inside the service's bot-turn timeout (8 s), so a
turn caught by a failover is answered late rather than apologised for.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from rasa.core.lock_store import RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

DEFAULT_MASTER = "harbor"  # the service's REDIS_SENTINEL_MASTER default (handoff/settings.py)
TIMEOUT_SECONDS = 5.0  # Rasa's own lock store socket timeout (rasa.core.constants)


def sentinels_from_env(env: dict[str, str] | None = None) -> list[tuple[str, int]]:
    """The Sentinels REDIS_SENTINELS names ('host:port,host:port'), or [] when it is unset."""
    text = (os.environ if env is None else env).get("REDIS_SENTINELS", "")
    addresses = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            host, _, port = item.rpartition(":")
            addresses.append((host.strip("[]"), int(port)))
    return addresses


def master_client(
    db: int, password: str | None, *, decode_responses: bool, env: dict[str, str] | None = None
) -> redis.Redis | None:
    """A client of the master the Sentinels name, or None without REDIS_SENTINELS."""
    sentinels = sentinels_from_env(env)
    if not sentinels:
        return None
    master = (os.environ if env is None else env).get("REDIS_SENTINEL_MASTER", "").strip()
    timeouts = {"socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS}
    return Sentinel(sentinels, sentinel_kwargs=timeouts).master_for(
        master or DEFAULT_MASTER,
        db=db,
        password=password or None,
        decode_responses=decode_responses,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 6),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        **timeouts,
    )


class FailoverTrackerStore(RedisTrackerStore):
    """Rasa's RedisTrackerStore, through Sentinel when REDIS_SENTINELS is set."""

    def __init__(self, domain: Domain, **kwargs: Any) -> None:
        super().__init__(domain, **kwargs)
        client = master_client(
            int(kwargs.get("db") or 0), kwargs.get("password"), decode_responses=True
        )
        if client is not None:
            self.red = client


class FailoverLockStore(RedisLockStore):
    """Rasa's RedisLockStore, through Sentinel when REDIS_SENTINELS is set. Rasa builds a
    lock store of a class it does not know with the endpoint's configuration alone."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        settings = dict(endpoint_config.kwargs)
        super().__init__(host=endpoint_config.url, **settings)
        client = master_client(
            int(settings.get("db") or 1), settings.get("password"), decode_responses=False
        )
        if client is not None:
            self.red = client
