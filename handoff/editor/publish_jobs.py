"""Publish and rollback jobs of the FAQ editor: one at a time across every replica.

    {p}:faq:publish          the slot: the running job's id (SET NX, extended while it runs)
    {p}:faq:job:<id>         the job: kind, actor, state, percent, started/finished, result
    {p}:faq:job:<id>:events  the tool's JSON-lines progress, for the page to poll

The replica running a job runs `bot faq publish|rollback` (`FaqTool.stream`) and keeps its
progress in Redis, so any replica can answer the page's polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any, cast

from handoff.background import stop_tasks
from handoff.conversations.keys import PUBLISH_JOB_TTL, PUBLISH_SLOT_TTL, Keys
from handoff.conversations.store import load_script, now_ms
from handoff.editor.faq_tool import FaqTool, FaqToolError, faq_error

log = logging.getLogger(__name__)

# How often a running publish proves it is alive by extending its slot.
SLOT_HEARTBEAT_SECONDS = 10


class PublishJobs:
    """Publish and rollback jobs: one at a time across every replica, progress kept in Redis.

    The slot `{p}:faq:publish` holds the running job's id; the replica running it extends the
    slot while the tool is alive, so a replica that dies mid-publish frees it within a minute.
    """

    def __init__(self, redis: Any, keys: Keys, tool: FaqTool, timeout: float) -> None:
        self.redis = redis
        self.keys = keys
        self.tool = tool
        self.timeout = timeout
        self._release = redis.register_script(load_script("release_lock.lua"))
        self._extend = redis.register_script(load_script("extend_lock.lua"))
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, kind: str, actor: str) -> str:
        job_id = secrets.token_hex(8)
        if not await self.redis.set(self.keys.faq_publish, job_id, nx=True, ex=PUBLISH_SLOT_TTL):
            running = await self.current()
            who = running.get("actor", "another editor") if running else "another editor"
            what = running.get("kind", "publish") if running else "publish"
            raise faq_error(
                409,
                "publish_running",
                f"{who} is running a {what} right now. Wait for it to finish, then try again.",
                job=running,
            )
        job_key = self.keys.faq_job(job_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                job_key,
                mapping={
                    "id": job_id,
                    "kind": kind,
                    "actor": actor,
                    "state": "running",
                    "started_at": now_ms(),
                    "percent": 0,
                },
            )
            pipe.expire(job_key, PUBLISH_JOB_TTL)
            await pipe.execute()
        task = asyncio.create_task(self._run(job_id, kind, actor), name=f"faq-{kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id

    async def _run(self, job_id: str, kind: str, actor: str) -> None:
        heartbeat = asyncio.create_task(self._keep_slot(job_id))
        result: dict[str, Any] = {
            "event": "done",
            "ok": False,
            "errors": [{"code": "interrupted", "message": f"The {kind} was interrupted."}],
        }

        async def follow() -> None:
            nonlocal result
            async for event in self.tool.stream(kind, actor):
                await self._append(job_id, event)
                if event.get("event") == "done":
                    result = event

        try:
            await asyncio.wait_for(follow(), self.timeout)
        except asyncio.TimeoutError:
            result = {
                "event": "done",
                "ok": False,
                "errors": [{"code": "timeout", "message": f"The {kind} took too long; stopped."}],
            }
            await self._append(job_id, result)
        except FaqToolError as error:
            result = {"event": "done", "ok": False, "errors": [error.body]}
            await self._append(job_id, result)
        except Exception:
            log.exception("FAQ %s job failed", kind)
            await self._append(job_id, result)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(Exception):
                await self.redis.hset(
                    self.keys.faq_job(job_id),
                    mapping={
                        "state": "done" if result.get("ok") else "failed",
                        "finished_at": now_ms(),
                        "result": json.dumps(result),
                    },
                )
                await self._release(keys=[self.keys.faq_publish], args=[job_id])

    async def _append(self, job_id: str, event: dict[str, Any]) -> None:
        events_key = self.keys.faq_job_events(job_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(events_key, json.dumps(event))
            pipe.expire(events_key, PUBLISH_JOB_TTL)
            if isinstance(event.get("percent"), int | float):
                pipe.hset(self.keys.faq_job(job_id), "percent", int(event["percent"]))
            await pipe.execute()

    async def _keep_slot(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(SLOT_HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):
                await self._extend(keys=[self.keys.faq_publish], args=[job_id, PUBLISH_SLOT_TTL])

    async def job(self, job_id: str, after: int = 0) -> dict[str, Any] | None:
        raw = cast(dict[str, str], await self.redis.hgetall(self.keys.faq_job(job_id)))
        if not raw:
            return None
        events = [
            json.loads(e)
            for e in await self.redis.lrange(self.keys.faq_job_events(job_id), after, -1)
        ]
        return {
            "id": raw.get("id", job_id),
            "kind": raw.get("kind", ""),
            "actor": raw.get("actor", ""),
            "state": raw.get("state", ""),
            "percent": int(raw.get("percent") or 0),
            "started_at": int(raw.get("started_at") or 0),
            "finished_at": int(raw.get("finished_at") or 0) or None,
            "result": json.loads(raw["result"]) if raw.get("result") else None,
            "events": events,
            "next": after + len(events),
        }

    async def current(self) -> dict[str, Any] | None:
        job_id = await self.redis.get(self.keys.faq_publish)
        if not job_id:
            return None
        found = await self.job(str(job_id), after=0)
        if found is not None:
            found.pop("events", None)
        return found

    async def close(self) -> None:
        await stop_tasks(self._tasks)
