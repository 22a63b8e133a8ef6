"""The archive inside the service: opened in the background at start (a database that is down
or slow never holds up the service; the archiver waits for it), the archiver's loop, and the
retention purge. With the archive off, only the trimming of the due set (below).

While the database is down at start, the archiver's keep-alive walk (which needs no database)
runs between tries: a conversation due for the archive has its Redis lifetime restarted as when
the database goes down later, so an outage at start-up lets nothing expire unarchived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import Gauge

from handoff.archive.archiver import ArchiveKeys, Archiver
from handoff.archive.database import migrate, open_engine
from handoff.archive.store import ArchiveStore
from handoff.background import stop_if_cancelled, stop_tasks
from handoff.state import AppState, app_state

log = logging.getLogger("handoff.archive")

ARCHIVE_EVERY_SECONDS = 1.0
PURGE_EVERY_SECONDS = 3600.0
OPEN_RETRY_SECONDS = 5.0
# ARCHIVE_DATABASE_URL=off: no archive; conversations live only as long as Redis keeps them.
ARCHIVE_OFF = "off"
# With the archive off, every write still marks its conversation due (the write scripts do not
# know the setting) and no archiver takes it off: the due set is trimmed this often, of marks
# older than this. A replica with the archive on (a rolling change of the setting) copies a
# conversation within seconds of its mark, long before the trim takes it.
TRIM_EVERY_SECONDS = 60.0
TRIM_OLDER_THAN_SECONDS = 600.0


async def open_archive(state: AppState) -> Archiver:
    """Connect and bring the schema up to date, retrying every OPEN_RETRY_SECONDS until the
    database answers; meanwhile keep the conversations due for the archive alive in Redis (the
    walk itself runs at most every KEEP_ALIVE_EVERY_SECONDS). Returns the archiver, its store
    open."""
    archiver: Archiver | None = None
    while True:
        try:
            # The engine connects lazily: made once, it serves the keep-alive while the
            # database is down and the archive once it answers.
            archiver = archiver or archiver_for(
                state, ArchiveStore(open_engine(state.settings.archive_database_url))
            )
            await asyncio.to_thread(migrate, archiver.store.engine)
            return archiver
        except Exception as error:  # the database is down or refuses: try again later
            log.warning("the archive database is not available yet: %s", error)
        if archiver is not None:
            try:
                kept = await archiver.keep_due_alive()
            except Exception as error:  # Redis away as well: the next try walks again
                stop_if_cancelled()
                log.warning("keeping conversations due for the archive alive failed: %s", error)
            else:
                if kept:
                    log.info("kept %d conversations due for the archive alive", kept)
        await asyncio.sleep(OPEN_RETRY_SECONDS)


def archiver_for(state: AppState, archive: ArchiveStore) -> Archiver:
    keys = ArchiveKeys(
        due=state.keys.archive_due,
        conversation=state.keys.conversation,
        log=state.keys.log,
        erased=state.keys.archive_erased,
    )
    return Archiver(state.redis, keys, archive, state.store.keep_alive)


async def _run(state: AppState, stopping: asyncio.Event) -> None:
    archiver = await open_archive(state)
    archive = state.archive = archiver.store
    registry = state.metrics.registry
    backlog = Gauge(
        "harbor_archive_backlog", "Conversations written to and not yet archived", registry=registry
    )
    oldest = Gauge(
        "harbor_archive_oldest_seconds",
        "How long the longest-waiting conversation has waited for the archive",
        registry=registry,
    )
    parked = Gauge(
        "harbor_archive_parked",
        "Conversations the archive database refused, waiting to be tried again",
        registry=registry,
    )
    purged_at = 0.0
    loop = asyncio.get_running_loop()
    # The loop ends on `stopping`, not only on cancellation: a cancellation that lands inside a
    # Redis call can come back as a connection error, which the round below logs and survives.
    while not stopping.is_set():
        try:
            await archiver.run_once()
            due, waited = await archiver.backlog()
            backlog.set(due)
            oldest.set(waited)
            parked.set(await archiver.parked())
            retention = state.settings.archive_retention_days
            # At most hourly, and at least ten times per retention period.
            purge_every = min(PURGE_EVERY_SECONDS, retention * 86_400 / 10)
            if retention > 0 and loop.time() - purged_at > purge_every:
                purged = await asyncio.to_thread(archive.purge, retention)
                purged_at = loop.time()
                if purged:
                    log.info("retention: %d archived conversations deleted", purged)
        except Exception as error:  # Redis or the database failing: the next round retries
            log.warning("archiving round failed: %s", error)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=ARCHIVE_EVERY_SECONDS)


async def trim_due(state: AppState, now_ms: int | None = None) -> int:
    """With the archive off: forget due marks older than TRIM_OLDER_THAN_SECONDS; how many."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    cutoff = now_ms - int(TRIM_OLDER_THAN_SECONDS * 1000)
    return int(await state.redis.zremrangebyscore(state.keys.archive_due, "-inf", cutoff))


async def _trim_forever(state: AppState, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            await trim_due(state)
        except Exception as error:  # Redis away: the next round trims what this one could not
            stop_if_cancelled()
            log.warning("trimming the archive's due set failed: %s", error)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=TRIM_EVERY_SECONDS)


async def archive_context(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    stopping = asyncio.Event()
    if state.settings.archive_database_url == ARCHIVE_OFF:
        trimming = asyncio.create_task(_trim_forever(state, stopping), name="archive-due-trim")
        yield
        stopping.set()
        await stop_tasks([trimming])
        return
    task = asyncio.create_task(_run(state, stopping), name="archiver")
    yield
    stopping.set()
    await stop_tasks([task])
    if state.archive is not None:
        state.archive.engine.dispose()
