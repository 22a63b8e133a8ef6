"""The FAQ editor's HTTP API (/api/faq/...) and page (/console/editor), for editors and admins.

The service never writes the assistant's YAML itself: every read and change runs the project's
FAQ tool (`bot faq <command> --json --actor <user>`) as a subprocess and passes its answer on,
including its editor-readable error messages. So the page, the command line and the audit log
all go through one piece of code.

    page ──HTTP──► editor API ──subprocess──► bot faq list|show|add|edit|remove|validate|history
                        │
                        └─ publish / rollback: one job at a time across replicas (a Redis slot);
                           the tool's JSON-lines progress is kept in Redis for the page to poll

Roles are checked here, on the server: an agent gets 403 from every endpoint and from the page.
State-changing requests carry the session's CSRF token (handoff/sessions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from aiohttp import web

from handoff.console.sessions import SessionAgent, require_agent, session_agent
from handoff.conversations.keys import PUBLISH_JOB_TTL, PUBLISH_SLOT_TTL, Keys
from handoff.conversations.store import load_script, now_ms
from handoff.editor import unanswered
from handoff.settings import ROOT, Settings
from handoff.state import app_state

log = logging.getLogger(__name__)

EDITOR_ROLES = ("editor",)  # admins are always allowed too (sessions.require_agent)
ADMIN_ROLES = ("admin",)
AUDIT_FILE = "faq-audit.jsonl"
STATIC = Path(__file__).resolve().parents[1] / "static"
# Bounds on what the page may send; the content rules themselves are the FAQ tool's.
MAX_KEY = 80
MAX_PHRASING = 500
MAX_PHRASINGS = 200
MAX_ANSWER = 5000
# Environment variables only the handoff service itself needs.
SERVICE_SECRETS = frozenset(
    {"HANDOFF_SECRET", "HANDOFF_SECRET_FILE", "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD"}
)
# How often a running publish proves it is alive by extending its slot.
SLOT_HEARTBEAT_SECONDS = 10


class FaqToolError(Exception):
    """The FAQ tool refused or failed; `status` and `body` are what the page receives."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def _error(status: int, code: str, message: str, **extra: Any) -> FaqToolError:
    return FaqToolError(status, {"error": code, "message": message, **extra})


# HTTP status of a refusal, by the tool's first error code.
_STATUS_BY_CODE = {
    "unknown_topic": 404,
    "topic_exists": 409,
    "publish_running": 409,
    "publish_in_progress": 409,
}


@dataclass(frozen=True)
class FaqTool:
    """The project's FAQ command line, run as a subprocess with the service's environment."""

    command: tuple[str, ...]
    project: Path
    var_dir: Path
    rasa_urls: tuple[str, ...]
    rasa_token: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> FaqTool:
        return cls(
            command=settings.faq_cli,
            project=settings.faq_project_dir,
            var_dir=settings.var_dir,
            rasa_urls=settings.rasa_urls,
            rasa_token=settings.rasa_token.reveal(),
            timeout=settings.faq_command_timeout,
        )

    def argv(
        self, command: str, actor: str, options: Sequence[str] = (), key: str | None = None
    ) -> list[str]:
        """The tool's command line. Values go as `--option=value` and the key after `--`, so a
        phrasing that starts with a dash is text, never an option."""
        argv = [*self.command, command, "--json", f"--actor={actor}", f"--project={self.project}"]
        argv.extend(options)
        if key is not None:
            argv.extend(["--", key])
        return argv

    def environment(self) -> dict[str, str]:
        # The tool needs none of the service's own secrets.
        env = {k: v for k, v in os.environ.items() if k not in SERVICE_SECRETS}
        # The tool finds the same Rasa servers, token and audit log as this service.
        env["HARBOR_VAR_DIR"] = str(self.var_dir)
        env["FAQ_PROJECT_DIR"] = str(self.project)
        env["RASA_URLS"] = ",".join(self.rasa_urls)
        if self.rasa_token:
            env["RASA_TOKEN"] = self.rasa_token
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    async def _spawn(self, argv: list[str]) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(ROOT),
                env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise _error(
                503,
                "faq_tool_missing",
                f"The FAQ tool could not be started ({self.command[0]}: {error.strerror}). "
                "Check FAQ_CLI.",
            ) from None

    async def run(
        self, command: str, actor: str, options: Sequence[str] = (), key: str | None = None
    ) -> dict[str, Any]:
        """Run a one-answer command; its JSON object if ok, else FaqToolError."""
        process = await self._spawn(self.argv(command, actor, options, key))
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except asyncio.TimeoutError:
            _kill(process)
            await process.wait()
            raise _error(
                504, "faq_tool_timeout", f"The FAQ tool did not finish `{command}` in time."
            ) from None
        answer = _last_json_object(stdout.decode(errors="replace"))
        if answer is None or process.returncode == 2:
            raise _error(
                502,
                "faq_tool_failed",
                f"The FAQ tool failed on `{command}`: {_tail(stderr) or 'no answer'}",
            )
        if answer.get("ok") is True and process.returncode == 0:
            return answer
        errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        raise FaqToolError(
            _STATUS_BY_CODE.get(str(first.get("code")), 422),
            {
                "error": str(first.get("code") or "refused"),
                "message": str(first.get("message") or "The FAQ tool refused the change."),
                "errors": errors,
            },
        )

    async def stream(self, command: str, actor: str) -> AsyncIterator[dict[str, Any]]:
        """Run publish or rollback, yielding its JSON-lines events; the last one is `done`."""
        process = await self._spawn(self.argv(command, actor))
        assert process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(process.stderr.read())
        done: dict[str, Any] | None = None
        try:
            async for raw in process.stdout:
                line = raw.decode(errors="replace").strip()
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a stray log line, not an event
                if not isinstance(event, dict):
                    continue
                if event.get("event") == "done":
                    done = event
                yield event
            await process.wait()
        finally:
            if process.returncode is None:
                _kill(process)
                with contextlib.suppress(Exception):
                    await process.wait()
            stderr = b""
            with contextlib.suppress(Exception):
                stderr = await stderr_task
        if done is None:
            yield {
                "event": "done",
                "ok": False,
                "errors": [
                    {
                        "code": "faq_tool_failed",
                        "message": f"The {command} stopped without a result: "
                        f"{_tail(stderr) or f'exit code {process.returncode}'}",
                    }
                ],
            }


def _kill(process: asyncio.subprocess.Process) -> None:
    # The tool runs in its own session; its children (rasa train) go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 15)


def _tail(stderr: bytes, lines: int = 3) -> str:
    text = stderr.decode(errors="replace").strip().splitlines()
    return " ".join(line.strip() for line in text[-lines:])[:600]


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    """The tool prints one JSON object; tolerate log lines printed before it."""
    with contextlib.suppress(ValueError):
        whole = json.loads(stdout)
        if isinstance(whole, dict):
            return whole
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return None


# --- publish jobs ----------------------------------------------------------------------------


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
            raise _error(
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
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass
class Editor:
    tool: FaqTool
    jobs: PublishJobs
    # Edits from this replica go one at a time; the tool itself guards the files across processes.
    writes: asyncio.Lock


EDITOR: web.AppKey[Editor] = web.AppKey("harbor_editor", Editor)


async def _editor_context(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    tool = FaqTool.from_settings(state.settings)
    jobs = PublishJobs(state.redis, state.keys, tool, state.settings.faq_publish_timeout)
    app[EDITOR] = Editor(tool=tool, jobs=jobs, writes=asyncio.Lock())
    yield
    await jobs.close()


# --- request parsing -------------------------------------------------------------------------


async def _body(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise _error(400, "bad_request", "Send a JSON object.")
    return cast(dict[str, Any], body)


def _text(value: Any, what: str, limit: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _error(400, "bad_request", f"The {what} must be text.")
    text = value.strip()
    if len(text) > limit:
        raise _error(400, "too_long", f"The {what} is longer than {limit} characters.")
    if "\x00" in text:
        raise _error(400, "bad_request", f"The {what} contains a character that is not allowed.")
    return text


def _texts(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PHRASINGS:
        raise _error(400, "bad_request", f"Send the {what} as a list of at most {MAX_PHRASINGS}.")
    return [t for t in (_text(v, what, MAX_PHRASING) for v in value) if t]


def _ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(400, "bad_request", "Send the question ids as a list.")
    # Stream ids only: digits-digits.
    return [v for v in value if v.replace("-", "").isdigit() and v.count("-") == 1][:500]


def _key(request: web.Request) -> str:
    return _text(request.match_info["key"], "topic key", MAX_KEY)


async def _editor_agent(request: web.Request) -> SessionAgent:
    return await require_agent(request, roles=EDITOR_ROLES)


def _respond(error: FaqToolError) -> web.Response:
    return web.json_response(error.body, status=error.status)


def handles_tool_errors(handler: Any) -> Any:
    """Map FaqToolError to its JSON answer in one place."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return cast(web.StreamResponse, await handler(request))
        except FaqToolError as error:
            return _respond(error)

    wrapped.__name__ = handler.__name__
    return wrapped


# --- handlers --------------------------------------------------------------------------------


@handles_tool_errors
async def list_topics(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    answer = await request.app[EDITOR].tool.run("list", agent.name)
    return web.json_response({"topics": answer.get("topics", [])})


@handles_tool_errors
async def show_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    answer = await request.app[EDITOR].tool.run("show", agent.name, key=_key(request))
    return web.json_response({"topic": answer.get("topic")})


@handles_tool_errors
async def add_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    body = await _body(request)
    key = _text(body.get("key"), "topic key", MAX_KEY)
    options = [f"--phrasing={p}" for p in _texts(body.get("phrasings"), "phrasings")]
    options.append(f"--answer={_text(body.get('answer'), 'answer', MAX_ANSWER, required=False)}")
    group = _text(body.get("group"), "group", MAX_KEY, required=False)
    if group:
        options.append(f"--group={group}")
    editor = request.app[EDITOR]
    async with editor.writes:
        answer = await editor.tool.run("add", agent.name, options, key=key)
    resolved = await _resolve(request, body)
    return web.json_response({**answer, "resolved": resolved}, status=201)


@handles_tool_errors
async def edit_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    body = await _body(request)
    options = [f"--add-phrasing={p}" for p in _texts(body.get("add_phrasings"), "phrasings")]
    options += [f"--remove-phrasing={p}" for p in _texts(body.get("remove_phrasings"), "phrasings")]
    if body.get("answer") is not None:
        options.append(f"--answer={_text(body.get('answer'), 'answer', MAX_ANSWER)}")
    if not options:
        raise _error(400, "nothing_to_change", "There is nothing to change.")
    editor = request.app[EDITOR]
    async with editor.writes:
        answer = await editor.tool.run("edit", agent.name, options, key=_key(request))
    resolved = await _resolve(request, body)
    return web.json_response({**answer, "resolved": resolved})


@handles_tool_errors
async def remove_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    editor = request.app[EDITOR]
    async with editor.writes:
        answer = await editor.tool.run("remove", agent.name, key=_key(request))
    return web.json_response(answer)


@handles_tool_errors
async def validate(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    try:
        answer = await request.app[EDITOR].tool.run("validate", agent.name)
    except FaqToolError as error:
        if error.status != 422:
            raise
        # Problems found are the answer to "validate", not a failure of the request.
        return web.json_response({"ok": False, "errors": error.body.get("errors", [])})
    return web.json_response(answer)


@handles_tool_errors
async def history(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    answer = await request.app[EDITOR].tool.run("history", agent.name)
    answer.pop("ok", None)
    return web.json_response(answer)


def _starts(kind: str) -> Any:
    @handles_tool_errors
    async def handler(request: web.Request) -> web.Response:
        agent = await _editor_agent(request)
        job_id = await request.app[EDITOR].jobs.start(kind, agent.name)
        return web.json_response(
            {"job": job_id, "url": f"/api/faq/jobs/{job_id}"},
            status=202,
        )

    handler.__name__ = f"start_{kind}"
    return handler


async def get_job(request: web.Request) -> web.Response:
    await _editor_agent(request)
    try:
        after = max(int(request.query.get("after", "0") or 0), 0)
    except ValueError:
        after = 0
    found = await request.app[EDITOR].jobs.job(request.match_info["job"][:32], after)
    if found is None:
        raise web.HTTPNotFound(text="There is no such publish job.")
    return web.json_response(found)


async def current_job(request: web.Request) -> web.Response:
    await _editor_agent(request)
    return web.json_response({"job": await request.app[EDITOR].jobs.current()})


async def list_unanswered(request: web.Request) -> web.Response:
    await _editor_agent(request)
    state = app_state(request.app)
    messages = await unanswered.read(state.redis, state.keys)
    # Grouping 2000 messages takes a few hundred ms: off the event loop.
    groups = await asyncio.to_thread(unanswered.group, messages)
    return web.json_response(
        {"total": len(messages), "groups": [g.to_json() for g in groups[:200]]}
    )


@handles_tool_errors
async def dismiss_unanswered(request: web.Request) -> web.Response:
    await _editor_agent(request)
    body = await _body(request)
    state = app_state(request.app)
    removed = await unanswered.dismiss(state.redis, state.keys, _ids(body.get("ids")))
    return web.json_response({"dismissed": removed})


async def _resolve(request: web.Request, body: dict[str, Any]) -> int:
    """Questions the change answered leave the unanswered list."""
    state = app_state(request.app)
    return await unanswered.dismiss(state.redis, state.keys, _ids(body.get("resolves")))


async def audit_log(request: web.Request) -> web.Response:
    await require_agent(request, roles=ADMIN_ROLES)
    try:
        limit = min(max(int(request.query.get("limit", "200") or 200), 1), 1000)
        offset = max(int(request.query.get("offset", "0") or 0), 0)
    except ValueError:
        limit, offset = 200, 0
    path = app_state(request.app).settings.var_dir / AUDIT_FILE
    entries, total = await asyncio.to_thread(read_audit, path, limit, offset)
    return web.json_response({"entries": entries, "total": total, "offset": offset})


def read_audit(path: Path, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Audit entries newest first; a damaged line is skipped, never fatal."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return [], 0
    entries: list[dict[str, Any]] = []
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                entries.append(value)
    return entries[offset : offset + limit], len(entries)


async def editor_page(request: web.Request) -> web.StreamResponse:
    """The page itself; a logged-in agent without the editor role is turned away here."""
    # Imported here: the app module registers this one, so it cannot be imported at the top.
    from handoff.app import SECURITY_HEADERS

    agent = await session_agent(request)
    if agent is not None and agent.role not in {"editor", "admin"}:
        return web.Response(
            status=403,
            text=(
                "<!doctype html><title>Not allowed</title><p>The FAQ editor is for editors and "
                'admins. <a href="/console">Back to the console</a></p>'
            ),
            content_type="text/html",
            headers=SECURITY_HEADERS,
        )
    return web.FileResponse(STATIC / "editor.html", headers=SECURITY_HEADERS)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_editor_context)
    app.router.add_get("/console/editor", editor_page)
    app.router.add_get("/api/faq/topics", list_topics)
    app.router.add_post("/api/faq/topics", add_topic)
    app.router.add_get("/api/faq/topics/{key}", show_topic)
    app.router.add_patch("/api/faq/topics/{key}", edit_topic)
    app.router.add_delete("/api/faq/topics/{key}", remove_topic)
    app.router.add_post("/api/faq/validate", validate)
    app.router.add_post("/api/faq/publish", _starts("publish"))
    app.router.add_post("/api/faq/rollback", _starts("rollback"))
    app.router.add_get("/api/faq/jobs/current", current_job)
    app.router.add_get("/api/faq/jobs/{job}", get_job)
    app.router.add_get("/api/faq/history", history)
    app.router.add_get("/api/faq/unanswered", list_unanswered)
    app.router.add_post("/api/faq/unanswered/dismiss", dismiss_unanswered)
    app.router.add_get("/api/faq/audit", audit_log)
