"""How the service reaches Redis: one server by URL, or whichever server Sentinel names master;
and how long an acknowledgement waits for replicas.

    REDIS_SENTINELS empty ──► REDIS_URL ──────────────────────────► redis-server
    REDIS_SENTINELS=h:p,… ──► SENTINEL get-master-addr-by-name ───► the master now
                                (asked again on every new connection)

A failover is a Redis restart seen from the service, with another address afterwards: the old
master's sockets break (ConnectionError), or a demoted master refuses writes (READONLY, which
redis-py turns into a ConnectionError for a Sentinel client); the call retries briefly on a new
connection, which asks Sentinel where the master is now. While Sentinel is still electing, the
call fails and the customer gets `unavailable` and resends, as during a restart
(docs/reliability.md, "Redis failover").

Replication is asynchronous: a write the master answered can be lost if the master dies before
a replica has it. `ReplicatedStore` makes an entry a client is told was stored (`ack`) wait
until `ack_replicas` replicas hold it (WAIT); an entry that does not get there in time is
refused like a Redis error, so the client resends it, and the resend is stored once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

from pydantic import AfterValidator, BeforeValidator
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import get_lib_version

from handoff.conversations.keys import Keys
from handoff.conversations.outcomes import Appended, RateCounter
from handoff.conversations.store import ConversationStore


def sentinel_address(text: str) -> tuple[str, int]:
    """'host:port' as (host, port); ValueError naming what is wrong."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be host:port pairs separated by commas, not {text!r}")
    return host.strip("[]"), int(port)


def _check_addresses(value: tuple[str, ...]) -> tuple[str, ...]:
    for text in value:
        sentinel_address(text)
    return value


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


# REDIS_SENTINELS: the Sentinels' addresses, checked at start-up (python -m handoff.settings).
SentinelAddresses = Annotated[
    tuple[str, ...], BeforeValidator(_split), AfterValidator(_check_addresses)
]


class SentinelBackedRedis(Redis):
    """The master Sentinel names; closing it also closes the connections to the Sentinels."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


@functools.cache
def _redis_version() -> str:
    return str(get_lib_version())


def connect(
    url: str,
    timeout: float,
    *,
    sentinels: Sequence[str] = (),
    master: str = "",
    for_pubsub: bool = False,
) -> Redis:
    """A client that fails fast and retries briefly, so a restart or a failover is a blip.

    With `sentinels`, the server is the master Sentinel names `master`; REDIS_URL then gives
    only the database number and the credentials (its host and port are not used).
    """
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": timeout,
        # A subscriber waits for messages indefinitely; the hub pings it when it is quiet
        # (conversations/hints.py), which tells a silent network from a quiet channel.
        "socket_timeout": None if for_pubsub else timeout,
        "socket_keepalive": True,
        "health_check_interval": 10,
        # A subscriber must hear that its connection broke: redis-py would otherwise reconnect
        # and resubscribe by itself, silently, and the hints published meanwhile (on a new
        # master, after a failover) would be missed. The hub (conversations/hints.py) then
        # resubscribes and tells every socket to re-read from its last entry.
        "retry": Retry(NoBackoff(), 0)
        if for_pubsub
        else Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        # A Sentinel client's connection turns READONLY (a master demoted by a failover, not
        # yet known to this connection) into a ConnectionError: retried on a new connection.
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, ConnectionResetError],
        "max_connections": 2000,
        # redis-py reads its own version from the installed package's metadata for every new
        # connection unless told: a connection opened under load (the pool grows with the
        # requests in flight) then costs a walk of site-packages, a tenth of the service's CPU
        # in the relay profile (bench/results/2026-12-06-serving-profile.md).
        "driver_info": DriverInfo(lib_version=_redis_version()),
    }
    if not sentinels:
        return Redis.from_url(url, **options)
    parsed = urlparse(url)
    credentials: dict[str, Any] = {
        "db": int((parsed.path or "/0").lstrip("/") or 0),
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
    }
    sentinel = Sentinel(
        [sentinel_address(text) for text in sentinels],
        # The Sentinels are asked on every new connection: they answer fast or not at all.
        sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    client = sentinel.master_for(master, redis_class=SentinelBackedRedis, **credentials, **options)
    client.sentinels = sentinel
    return client


class NotReplicated(RedisError):
    """Stored on the master, but fewer replicas than asked hold it yet: not acknowledged."""


class ReplicatedStore(ConversationStore):
    """A ConversationStore whose entries with a client id (the ones a customer or an agent
    gets an `ack` for) are on `ack_replicas` replicas before the call returns.

    WAIT counts the replicas holding everything its own connection wrote, and only on the
    server it runs on. The append script may have run on another pooled connection, or (a
    failover in between) on another server, and a duplicate (a resend of a message stored
    before) writes nothing at all. So one pipeline on one connection: read the entry's id in
    the conversation's `seen` hash (the entry is on this server, written before what follows),
    publish to a channel nobody hears (a write that stores nothing, later in the replication
    stream than the entry), then WAIT. Replication offsets only grow, so a replica past the
    publish holds the entry. An entry not on this server (lost in a failover) or not on enough
    replicas within the wait is NotReplicated: the client is not acknowledged and resends.
    """

    def __init__(self, redis: Redis, keys: Keys, ack_replicas: int, timeout: float) -> None:
        super().__init__(redis, keys)
        self.ack_replicas = ack_replicas
        # Inside the socket timeout, so WAIT answers (with a count) before the socket gives up.
        self.wait_ms = max(1, int(timeout * 500))

    async def append_entry(
        self,
        cid: str,
        sender: str,
        text: str,
        *,
        client_id: str = "",
        kind: str = "message",
        counter: RateCounter | None = None,
        **extra: str | int | float | Sequence[Any] | Mapping[str, Any] | None,
    ) -> Appended:
        stored = await super().append_entry(
            cid, sender, text, client_id=client_id, kind=kind, counter=counter, **extra
        )
        if client_id and self.ack_replicas > 0:
            await self.replicated(cid, client_id, stored.entry_id)
        return stored

    async def replicated(self, cid: str, client_id: str, entry_id: str) -> None:
        """Return once `ack_replicas` replicas hold the entry `client_id` stored as
        `entry_id`; NotReplicated if the master does not have it, or they do not in time."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.seen(cid), client_id)
            # keys.none holds no data; as a channel, nobody subscribes to it.
            pipe.publish(self.keys.none, "")
            pipe.execute_command("WAIT", self.ack_replicas, self.wait_ms)
            held, _, replicas = await pipe.execute()
        if held != entry_id:
            raise NotReplicated(f"entry {entry_id} is not on the master (a failover lost it)")
        if int(replicas) < self.ack_replicas:
            raise NotReplicated(
                f"{replicas} of {self.ack_replicas} replicas acknowledged within {self.wait_ms} ms"
            )
