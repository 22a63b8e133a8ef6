"""The FAQ editor API: roles and CSRF, the FAQ tool's answers passed through, one publish at a
time with progress, unanswered questions recorded from real bot turns and grouped.

Real Redis and the real app; the FAQ tool is tests/app/scripted_faq_tool.py (same command line
and JSON as `bot faq`), except where a test says it drives the real tool.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from handoff.console.accounts import Accounts
from handoff.conversations.keys import Keys
from handoff.editor import unanswered
from handoff.editor.faq_tool import FaqTool
from handoff.settings import ROOT
from tests.app.conftest import AppFactory
from tests.app.protocol import open_chat
from tests.support.clients import PASSWORD, frames_until, is_bot_message, login
from tests.support.fake_rasa import FakeRasa

SCRIPTED_TOOL = (sys.executable, str(Path(__file__).with_name("scripted_faq_tool.py")))
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
FIVE = [
    "do you ship to canada",
    "can I get my order delivered in Canada",
    "shipping to canada",
    "do you deliver to Toronto",
    "is Canada in your delivery area",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "topics.json").write_text(
        json.dumps(
            {
                "returns": {
                    "group": "returns",
                    "phrasings": [
                        "how do I return",
                        "return policy",
                        "send it back",
                        "can I return this",
                        "returning an item",
                    ],
                    "answer": "You can return anything within 30 days.",
                }
            }
        )
    )
    return folder


@pytest.fixture
async def staff(redis_url: str) -> dict[str, str]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    accounts = Accounts(redis, Keys("ha"))
    for name, role in (("erin", "editor"), ("alex", "agent"), ("ada", "admin")):
        await accounts.create(name, PASSWORD, role=role)
    await redis.aclose()
    return {"editor": "erin", "agent": "alex", "admin": "ada"}


async def editor_app(make_client: AppFactory, project: Path, **overrides: Any) -> TestClient:
    settings = {"faq_cli": SCRIPTED_TOOL, "faq_project_dir": project, **overrides}
    return await make_client(**settings)


def calls(project: Path) -> list[list[str]]:
    path = project / "calls.jsonl"
    return (
        [json.loads(line)["argv"] for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


async def test_an_agent_gets_403_from_every_editor_endpoint_and_the_page(
    make_client: AppFactory, project: Path, staff: dict[str, str]
) -> None:
    client = await editor_app(make_client, project)
    agent = await login(client, staff["agent"])
    h = agent["headers"]
    requests = [
        client.get("/api/faq/topics", headers=h),
        client.get("/api/faq/topics/returns", headers=h),
        client.post("/api/faq/topics", json={"key": "x", "phrasings": FIVE}, headers=h),
        client.patch("/api/faq/topics/returns", json={"answer": "no"}, headers=h),
        client.delete("/api/faq/topics/returns", headers=h),
        client.post("/api/faq/validate", headers=h),
        client.post("/api/faq/publish", headers=h),
        client.post("/api/faq/rollback", headers=h),
        client.get("/api/faq/history", headers=h),
        client.get("/api/faq/unanswered", headers=h),
        client.post("/api/faq/unanswered/dismiss", json={"ids": []}, headers=h),
        client.get("/api/faq/audit", headers=h),
        client.get("/api/faq/jobs/current", headers=h),
    ]
    for pending in requests:
        response = await pending
        assert response.status == 403, (response.url, await response.text())
        assert (await response.json())["error"] == "forbidden"
    page = await client.get("/console/editor", headers={"Cookie": h["Cookie"]})
    assert page.status == 403
    # Nothing reached the FAQ tool on the agent's behalf.
    assert calls(project) == []


async def test_not_logged_in_is_401_and_the_page_offers_a_login(
    make_client: AppFactory, project: Path
) -> None:
    client = await editor_app(make_client, project)
    response = await client.get("/api/faq/topics")
    assert response.status == 401
    page = await client.get("/console/editor")
    # The page itself is public: its script draws the sign-in form (tests/browser) until a
    # session exists.
    assert page.status == 200 and 'src="/static/build/editor.js"' in await page.text()


async def test_changes_need_the_csrf_token(
    make_client: AppFactory, project: Path, staff: dict[str, str]
) -> None:
    client = await editor_app(make_client, project)
    editor = await login(client, staff["editor"])
    cookie_only = {"Cookie": editor["headers"]["Cookie"]}
    wrong = {**cookie_only, "X-CSRF-Token": "not-the-token"}
    for headers in (cookie_only, wrong):
        for pending in (
            client.post("/api/faq/topics", json={"key": "x", "phrasings": FIVE}, headers=headers),
            client.patch("/api/faq/topics/returns", json={"answer": "x"}, headers=headers),
            client.delete("/api/faq/topics/returns", headers=headers),
            client.post("/api/faq/publish", headers=headers),
        ):
            response = await pending
            assert response.status == 403
            assert (await response.json())["error"] == "csrf"
    assert calls(project) == []


async def test_an_editor_lists_shows_adds_edits_and_removes_topics_as_themselves(
    make_client: AppFactory, project: Path, staff: dict[str, str], tmp_path: Path
) -> None:
    client = await editor_app(make_client, project)
    h = (await login(client, staff["editor"]))["headers"]
    listed = await (await client.get("/api/faq/topics", headers=h)).json()
    assert [t["key"] for t in listed["topics"]] == ["returns"]

    added = await client.post(
        "/api/faq/topics",
        json={"key": "ship_to_canada", "phrasings": FIVE, "answer": "Yes, we ship to Canada."},
        headers=h,
    )
    assert added.status == 201, await added.text()
    shown = await (await client.get("/api/faq/topics/ship_to_canada", headers=h)).json()
    assert shown["topic"]["phrasings"] == FIVE
    assert shown["topic"]["answer"] == "Yes, we ship to Canada."

    edited = await client.patch(
        "/api/faq/topics/ship_to_canada",
        json={
            "add_phrasings": ["--answer looks like an option but is a phrasing"],
            "remove_phrasings": ["shipping to canada"],
            "answer": "Yes: 5-8 business days to Canada.",
        },
        headers=h,
    )
    assert edited.status == 200, await edited.text()
    topic = (await (await client.get("/api/faq/topics/ship_to_canada", headers=h)).json())["topic"]
    assert "shipping to canada" not in topic["phrasings"]
    assert "--answer looks like an option but is a phrasing" in topic["phrasings"]
    assert topic["answer"] == "Yes: 5-8 business days to Canada."

    removed = await client.delete("/api/faq/topics/ship_to_canada", headers=h)
    assert removed.status == 200
    gone = await client.get("/api/faq/topics/ship_to_canada", headers=h)
    assert gone.status == 404
    assert (await gone.json())["message"] == "There is no topic called ship_to_canada."

    # Every call named the editor and the project; the service's var dir went along.
    for argv in calls(project):
        assert "--json" in argv and "--actor=erin" in argv and f"--project={project}" in argv
    var_dirs = {
        json.loads(line)["var"] for line in (project / "calls.jsonl").read_text().splitlines()
    }
    assert var_dirs == {str(tmp_path)}


async def test_the_tools_validation_errors_reach_the_page_unchanged(
    make_client: AppFactory, project: Path, staff: dict[str, str]
) -> None:
    client = await editor_app(make_client, project)
    h = (await login(client, staff["editor"]))["headers"]
    bad_key = await client.post(
        "/api/faq/topics", json={"key": "Ship To Canada!", "phrasings": FIVE}, headers=h
    )
    assert bad_key.status == 422
    body = await bad_key.json()
    assert body["error"] == "key_format"
    assert body["message"] == "A topic key uses lowercase letters, digits and _."
    assert body["errors"][0]["topic"] == "Ship To Canada!"

    too_few = await client.post(
        "/api/faq/topics", json={"key": "canada", "phrasings": FIVE[:2]}, headers=h
    )
    assert too_few.status == 422
    assert (await too_few.json())["errors"][0]["code"] == "too_few_phrasings"

    exists = await client.post(
        "/api/faq/topics", json={"key": "returns", "phrasings": FIVE}, headers=h
    )
    assert exists.status == 409


async def test_malformed_requests_are_refused_before_the_tool_runs(
    make_client: AppFactory, project: Path, staff: dict[str, str]
) -> None:
    client = await editor_app(make_client, project)
    h = (await login(client, staff["editor"]))["headers"]
    for body in (
        {"key": 5, "phrasings": FIVE},
        {"key": "ok", "phrasings": "one string"},
        {"key": "ok", "phrasings": ["x" * 501] * 5},
    ):
        response = await client.post("/api/faq/topics", json=body, headers=h)
        assert response.status == 400, body
    nothing = await client.patch("/api/faq/topics/returns", json={}, headers=h)
    assert (await nothing.json())["error"] == "nothing_to_change"
    assert calls(project) == []


async def test_a_missing_tool_is_a_clear_503(
    make_client: AppFactory, project: Path, staff: dict[str, str], tmp_path: Path
) -> None:
    client = await editor_app(make_client, project, faq_cli=(str(tmp_path / "no-such-python"),))
    h = (await login(client, staff["editor"]))["headers"]
    response = await client.get("/api/faq/topics", headers=h)
    assert response.status == 503
    body = await response.json()
    assert body["error"] == "faq_tool_missing" and "FAQ_CLI" in body["message"]


async def poll_job(client: TestClient, job: str, headers: dict[str, str]) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    after = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = await (await client.get(f"/api/faq/jobs/{job}?after={after}", headers=headers)).json()
        events += got["events"]
        after = got["next"]
        if got["state"] != "running":
            return {**got, "events": events}
        await asyncio.sleep(0.05)
    raise AssertionError(f"publish did not finish; events so far {events}")


async def test_publish_runs_one_at_a_time_across_replicas_and_reports_progress(
    make_client: AppFactory, project: Path, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_PUBLISH_SECONDS", "1.2")
    first = await editor_app(make_client, project)
    second = await editor_app(make_client, project)  # another replica on the same Redis
    erin = (await login(first, staff["editor"]))["headers"]
    ada = (await login(second, staff["admin"]))["headers"]

    started = await first.post("/api/faq/publish", headers=erin)
    assert started.status == 202
    job = (await started.json())["job"]
    refused = await second.post("/api/faq/publish", headers=ada)
    assert refused.status == 409
    body = await refused.json()
    assert body["error"] == "publish_running"
    assert body["message"].startswith("erin is running a publish")
    also_refused = await second.post("/api/faq/rollback", headers=ada)
    assert also_refused.status == 409
    current = await (await second.get("/api/faq/jobs/current", headers=ada)).json()
    assert current["job"]["id"] == job and current["job"]["actor"] == "erin"

    finished = await poll_job(second, job, ada)  # progress is readable from any replica
    assert finished["state"] == "done" and finished["result"]["ok"] is True
    steps = [e["step"] for e in finished["events"] if e["event"] == "progress"]
    assert steps == ["validate", "train", "check", "swap"]
    percents = [e["percent"] for e in finished["events"] if e["event"] == "progress"]
    assert percents == sorted(percents)
    assert finished["events"][-1]["event"] == "done"

    # The slot is free again: the next publish starts.
    monkeypatch.setenv("SCRIPTED_PUBLISH_SECONDS", "0")
    again = await second.post("/api/faq/publish", headers=ada)
    assert again.status == 202
    await poll_job(second, (await again.json())["job"], ada)
    publishes = [argv for argv in calls(project) if argv[0] == "publish"]
    assert len(publishes) == 2


async def test_a_publish_that_dies_without_a_result_is_reported_and_frees_the_slot(
    make_client: AppFactory, project: Path, staff: dict[str, str], tmp_path: Path
) -> None:
    crashing = tmp_path / "crashing_tool.py"
    crashing.write_text(
        "import json, sys\n"
        "print(json.dumps({'event': 'progress', 'step': 'train', 'percent': 10, 'message': 't'}))\n"
        "sys.stderr.write('Traceback...\\nMemoryError: training ran out of memory\\n')\n"
        "sys.exit(1)\n"
    )
    client = await editor_app(make_client, project, faq_cli=(sys.executable, str(crashing)))
    h = (await login(client, staff["editor"]))["headers"]
    job = (await (await client.post("/api/faq/publish", headers=h)).json())["job"]
    finished = await poll_job(client, job, h)
    assert finished["state"] == "failed"
    (error,) = finished["result"]["errors"]
    assert "training ran out of memory" in error["message"]
    assert (await client.post("/api/faq/publish", headers=h)).status == 202


async def test_fallbacks_and_angry_escalations_are_recorded_masked_and_the_marker_stripped(
    make_client: AppFactory, rasa: tuple[FakeRasa, str], project: Path, redis_url: str
) -> None:
    def replies(sender: str, text: str) -> list[dict[str, Any]]:
        if "canada" in text.lower() or text == "/affirm":  # a button payload out of context too
            return [
                {"recipient_id": sender, "text": "Sorry, could you rephrase that?"},
                {"recipient_id": sender, "custom": {"unanswered": {"action": "x"}}},
            ]
        return [{"recipient_id": sender, "text": "Our return window is 30 days."}]

    rasa[0].replies = replies
    client = await editor_app(make_client, project)
    ws, welcome = await open_chat(client)
    await ws.send_json(
        {"type": "message", "id": "m1", "text": "Do you ship to Canada? mail me at jo@x.example"}
    )
    frames = await frames_until(ws, is_bot_message)
    await ws.send_json({"type": "message", "id": "m2", "text": "how long to return?"})
    frames += await frames_until(ws, lambda f: is_bot_message(f) and "30 days" in f["text"])
    await ws.send_json({"type": "message", "id": "m3", "text": "/affirm"})
    # Barrier: the bot answers one conversation's messages one at a time, in order, and records
    # a turn's unanswered question before the next turn starts: m4's answer comes after m3's
    # turn has recorded whatever it records.
    await ws.send_json({"type": "message", "id": "m4", "text": "and exchanges?"})
    frames += await frames_until(ws, lambda f: is_bot_message(f) and "30 days" in f["text"])
    assert [f["text"] for f in frames if is_bot_message(f)][-2] == "Sorry, could you rephrase that?"
    # The customer saw the question to rephrase, and no trace of the marker.
    assert not any("unanswered" in json.dumps(f) for f in frames)

    redis = Redis.from_url(redis_url, decode_responses=True)
    recorded = await unanswered.read(redis, Keys("ha"))
    assert [(m.text, m.kind) for m in recorded] == [
        ("Do you ship to Canada? mail me at [email]", "fallback")
    ]
    assert recorded[0].conversation == welcome["conversation"]
    assert abs(recorded[0].at / 1000 - time.time()) < 30

    await redis.aclose()


async def test_a_triage_escalation_for_how_it_was_said_is_recorded_a_request_for_a_person_not(
    make_client: AppFactory, project: Path, redis_url: str, model_dir: Path
) -> None:
    client = await editor_app(  # the trained pipeline
        make_client, project, triage_enabled=True, triage_model_dir=model_dir
    )
    for text in ("I will be contacting my lawyer about this", "I want to talk to a human"):
        ws, _ = await open_chat(client)
        await ws.send_json({"type": "message", "id": "m1", "text": text})
        await frames_until(ws, lambda f: f.get("event") in {"offer_leave_message", "queued"})
        await ws.close()
    redis = Redis.from_url(redis_url, decode_responses=True)
    recorded = await unanswered.read(redis, Keys("ha"))
    await redis.aclose()
    assert [(m.text, m.kind, m.reason) for m in recorded] == [
        ("I will be contacting my lawyer about this", "escalation", "risk")
    ]


KNOWN_QUESTIONS = [
    "do you ship to canada",
    "Do you deliver to Canada?",
    "shipping to canada possible?",
    "can i ship to canda",  # a typo still lands with its paraphrases
    "can I pay with bitcoin",
    "do you accept bitcoin payments",
    "bitcoin accepted?",
    "is there a store in Boston",
    "do you have a shop in boston",
    "what is the meaning of life",
]


async def test_unanswered_questions_are_grouped_by_similarity_and_can_be_resolved(
    make_client: AppFactory, project: Path, staff: dict[str, str], redis_url: str
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    for i, text in enumerate(KNOWN_QUESTIONS):
        await unanswered.record(redis, Keys("ha"), f"{i:032x}", text, "fallback")
    await redis.aclose()
    client = await editor_app(make_client, project)
    h = (await login(client, staff["editor"]))["headers"]
    listed = await (await client.get("/api/faq/unanswered", headers=h)).json()
    assert listed["total"] == 10
    groups = {frozenset(e["text"] for e in g["examples"]): g["count"] for g in listed["groups"]}
    assert groups == {
        frozenset(KNOWN_QUESTIONS[0:4]): 4,
        frozenset(KNOWN_QUESTIONS[4:7]): 3,
        frozenset(KNOWN_QUESTIONS[7:9]): 2,
        frozenset(KNOWN_QUESTIONS[9:10]): 1,
    }
    canada, bitcoin, boston = listed["groups"][0], listed["groups"][1], listed["groups"][2]

    # The Canada questions become a new topic: the group leaves the list.
    added = await client.post(
        "/api/faq/topics",
        json={
            "key": "ship_to_canada",
            "phrasings": FIVE,
            "answer": "Yes.",
            "resolves": canada["ids"],
        },
        headers=h,
    )
    assert (await added.json())["resolved"] == 4
    # One Boston question becomes a phrasing of an existing topic.
    edited = await client.patch(
        "/api/faq/topics/returns",
        json={"add_phrasings": [boston["text"]], "resolves": boston["ids"]},
        headers=h,
    )
    assert (await edited.json())["resolved"] == 2
    shown = await (await client.get("/api/faq/topics/returns", headers=h)).json()
    assert boston["text"] in shown["topic"]["phrasings"]
    # The bitcoin group is dismissed.
    dismissed = await client.post(
        "/api/faq/unanswered/dismiss", json={"ids": bitcoin["ids"]}, headers=h
    )
    assert (await dismissed.json())["dismissed"] == 3
    left = await (await client.get("/api/faq/unanswered", headers=h)).json()
    assert [g["text"] for g in left["groups"]] == ["what is the meaning of life"]


async def test_a_refused_change_resolves_nothing(
    make_client: AppFactory, project: Path, staff: dict[str, str], redis_url: str
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    entry = await unanswered.record(redis, Keys("ha"), "0" * 32, "do you ship to mars", "fallback")
    client = await editor_app(make_client, project)
    h = (await login(client, staff["editor"]))["headers"]
    refused = await client.post(
        "/api/faq/topics",
        json={"key": "mars", "phrasings": ["one"], "answer": "No.", "resolves": [entry]},
        headers=h,
    )
    assert refused.status == 422
    assert len(await unanswered.read(redis, Keys("ha"))) == 1
    await redis.aclose()


async def test_the_audit_log_is_for_admins_newest_first(
    make_client: AppFactory, project: Path, staff: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        {
            "at": "2026-11-01T10:00:00Z",
            "actor": "erin",
            "action": "add",
            "topic": "a",
            "details": {},
        },
        {
            "at": "2026-11-01T11:00:00Z",
            "actor": "erin",
            "action": "publish",
            "topic": None,
            "details": {"ok": True},
        },
    ]
    (tmp_path / "faq-audit.jsonl").write_text(
        "\n".join(json.dumps(line) for line in lines) + "\n{damaged\n"
    )
    client = await editor_app(make_client, project)
    editor = (await login(client, staff["editor"]))["headers"]
    assert (await client.get("/api/faq/audit", headers=editor)).status == 403
    admin = (await login(client, staff["admin"]))["headers"]
    body = await (await client.get("/api/faq/audit", headers=admin)).json()
    assert [e["action"] for e in body["entries"]] == ["publish", "add"]
    assert body["total"] == 2


async def test_the_real_faq_tool_lists_topics_and_refuses_a_bad_key_in_its_own_words(
    make_client: AppFactory, staff: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "assistant"
    shutil.copytree(ROOT / "data", project / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, project / name)
    client = await make_client(
        faq_cli=(str(RASA_PYTHON), "-m", "bot", "faq"), faq_project_dir=project
    )
    h = (await login(client, staff["editor"]))["headers"]
    listed = await client.get("/api/faq/topics", headers=h)
    assert listed.status == 200, await listed.text()
    assert len((await listed.json())["topics"]) >= 40
    bad = await client.post(
        "/api/faq/topics",
        json={"key": "Bad Key!", "phrasings": FIVE, "answer": "Yes, we ship to Canada."},
        headers=h,
    )
    assert bad.status == 422, await bad.text()
    body = await bad.json()
    assert body["error"] == "key_format" and body["message"].endswith(".")
    audit = tmp_path / "faq-audit.jsonl"
    assert not audit.exists() or "Bad Key!" not in audit.read_text()


async def test_a_cancelled_request_does_not_leave_the_tool_running(tmp_path: Path) -> None:
    # The editor closed the page, or the service is stopping: the tool's answer has nobody to
    # go to. The stand-in tool writes its pid, then would run for a minute.
    pid_file = tmp_path / "tool.pid"
    slow = tmp_path / "slow_tool.py"
    slow.write_text(
        "import os, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    tool = FaqTool((sys.executable, str(slow)), tmp_path, tmp_path, (), "", timeout=120)
    call = asyncio.create_task(tool.run("list", "erin"))
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the tool never started"
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    while True:  # the barrier: the process is gone (reaped by the event loop's child watcher)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the tool was left running"
        await asyncio.sleep(0.05)
