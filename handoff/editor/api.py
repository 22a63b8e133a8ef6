"""The FAQ editor's HTTP API (/api/faq/...) and page (/console/editor), for editors and admins.

    page ──HTTP──► editor API ──subprocess──► bot faq list|show|add|edit|remove|validate|history
                        │                     (editor/faq_tool.py)
                        └─ publish / rollback: one job at a time across replicas
                           (editor/publish_jobs.py), progress polled from Redis

Roles are checked here, on the server: an agent gets 403 from every endpoint and from the page.
State-changing requests carry the session's CSRF token (console/sessions.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from handoff.console.sessions import SessionAgent, require_agent, session_agent
from handoff.editor import unanswered
from handoff.editor.faq_tool import FaqTool, FaqToolError, faq_error
from handoff.editor.publish_jobs import PublishJobs
from handoff.editor.requests import (
    MAX_ANSWER,
    MAX_KEY,
    handles_tool_errors,
    json_body,
    question_ids,
    text_field,
    text_list,
    topic_key,
)
from handoff.state import app_state
from handoff.web.pages import SECURITY_HEADERS, STATIC

log = logging.getLogger(__name__)

EDITOR_ROLES = ("editor",)  # admins are always allowed too (sessions.require_agent)
ADMIN_ROLES = ("admin",)
AUDIT_FILE = "faq-audit.jsonl"


@dataclass
class Editor:
    tool: FaqTool
    jobs: PublishJobs
    # Edits from this replica go one at a time; the tool itself guards the files across processes.
    writes: asyncio.Lock


EDITOR: web.AppKey[Editor] = web.AppKey("harbor_editor", Editor)


async def editor_context(app: web.Application) -> AsyncIterator[None]:
    state = app_state(app)
    tool = FaqTool.from_settings(state.settings)
    jobs = PublishJobs(state.redis, state.keys, tool, state.settings.faq_publish_timeout)
    app[EDITOR] = Editor(tool=tool, jobs=jobs, writes=asyncio.Lock())
    yield
    await jobs.close()


async def _editor_agent(request: web.Request) -> SessionAgent:
    return await require_agent(request, roles=EDITOR_ROLES)


# --- handlers --------------------------------------------------------------------------------


@handles_tool_errors
async def list_topics(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    answer = await request.app[EDITOR].tool.run("list", agent.name)
    return web.json_response({"topics": answer.get("topics", [])})


@handles_tool_errors
async def show_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    answer = await request.app[EDITOR].tool.run("show", agent.name, key=topic_key(request))
    return web.json_response({"topic": answer.get("topic")})


@handles_tool_errors
async def add_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    body = await json_body(request)
    key = text_field(body.get("key"), "topic key", MAX_KEY)
    options = [f"--phrasing={p}" for p in text_list(body.get("phrasings"), "phrasings")]
    options.append(
        f"--answer={text_field(body.get('answer'), 'answer', MAX_ANSWER, required=False)}"
    )
    group = text_field(body.get("group"), "group", MAX_KEY, required=False)
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
    body = await json_body(request)
    options = [f"--add-phrasing={p}" for p in text_list(body.get("add_phrasings"), "phrasings")]
    options += [
        f"--remove-phrasing={p}" for p in text_list(body.get("remove_phrasings"), "phrasings")
    ]
    if body.get("answer") is not None:
        options.append(f"--answer={text_field(body.get('answer'), 'answer', MAX_ANSWER)}")
    if not options:
        raise faq_error(400, "nothing_to_change", "There is nothing to change.")
    editor = request.app[EDITOR]
    async with editor.writes:
        answer = await editor.tool.run("edit", agent.name, options, key=topic_key(request))
    resolved = await _resolve(request, body)
    return web.json_response({**answer, "resolved": resolved})


@handles_tool_errors
async def remove_topic(request: web.Request) -> web.Response:
    agent = await _editor_agent(request)
    editor = request.app[EDITOR]
    async with editor.writes:
        answer = await editor.tool.run("remove", agent.name, key=topic_key(request))
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


start_publish = _starts("publish")
start_rollback = _starts("rollback")


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
    body = await json_body(request)
    state = app_state(request.app)
    removed = await unanswered.dismiss(state.redis, state.keys, question_ids(body.get("ids")))
    return web.json_response({"dismissed": removed})


async def _resolve(request: web.Request, body: dict[str, Any]) -> int:
    """Questions the change answered leave the unanswered list."""
    state = app_state(request.app)
    return await unanswered.dismiss(state.redis, state.keys, question_ids(body.get("resolves")))


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
