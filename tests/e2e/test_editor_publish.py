"""An editor's change goes live on the real stack: the editor API drives the real `bot faq` tool.

    the session's stack serves a copy of the project (the repository is never changed)
    an existing topic's answer is edited            → the next customer turn has it, no publish
    a message the bot cannot place                   → listed under unanswered questions
    editor adds a topic through /api/faq/topics     (the tool checks it against the live Rasa)
    publish through /api/faq/publish                 (progress polled: validate, train, check, swap)
      published: a customer asks in words the topic never had → the live bot answers with it;
                 rollback through /api/faq/rollback → the new topic is no longer answered
      refused by the tool's checks (the new model would do worse than the live one): the
                 reasons reach the page and the live bot is unchanged
    the audit log (admin) lists the steps

The timings it prints at the end (answer edit → live, publish, add → live) are the editor
figures of the issue.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.support.clients import login
from tests.support.stack import ROOT, RunningStack

pytestmark = pytest.mark.e2e

# A topic the assistant has no answer for yet (tests/e2e/test_faq_publish.py publishes another
# from the command line). A model of the same files published before on this machine is taken
# from the cache instead of trained again (bot/faq/publish/job.py).
KEY = "recipes"
GROUP = "products"
PHRASINGS = [
    "do you have recipes for the cast iron pan",
    "where can i find recipes",
    "any cooking ideas for the dutch oven",
    "do you publish recipes",
    "recipe ideas please",
    "is there a recipe blog",
]
ANSWER = "Our recipes are on the Harbor Goods blog under Cook with us, sorted by pan and pot."
# Asked in words none of the phrasings uses.
NEW_WORDING = "where are your recipes"
# An existing topic's training question, and a new answer for it.
PO_BOX_QUESTION = "do you ship to po boxes"
EDITED_PO_BOX = "Yes, we deliver to PO boxes with standard shipping (not express)."
# Timings measured by the tests below, printed at the end.
FIGURES: dict[str, Any] = {}
# The assistant asks to rephrase this (tests/conversations: nlu_fallback).
UNPLACEABLE = "the thing with the stuff"


@pytest.fixture(scope="module", autouse=True)
def print_figures() -> Iterator[None]:
    yield
    print("\neditor figures:", json.dumps(FIGURES))


class Console:
    """A logged-in console session (cookie + CSRF token), as the editor page has."""

    def __init__(self, session: aiohttp.ClientSession, url: str, csrf: str) -> None:
        self.session, self.url, self.csrf = session, url, csrf

    @classmethod
    async def login(
        cls, session: aiohttp.ClientSession, url: str, user: str, password: str
    ) -> Console:
        body = await login(session, user, password, base_url=url, keep_cookie=True)
        return cls(session, url, body["csrf"])

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.session.request(
            method, self.url + path, json=body, headers=headers, timeout=aiohttp.ClientTimeout(300)
        ) as response:
            return response.status, await response.json(content_type=None)


async def ask(stack: RunningStack, text: str, expected: str | None = None) -> list[str]:
    """One customer turn; the bot's reply texts (as soon as `expected` is among them)."""
    async with aiohttp.ClientSession() as session, session.ws_connect(stack.ws_url) as ws:
        await ws.send_json({"type": "hello", "v": 1})
        assert (await ws.receive_json(timeout=10))["type"] == "welcome"
        await ws.send_json({"type": "message", "id": "q1", "text": text})
        replies: list[str] = []
        while True:
            try:
                frame = await ws.receive_json(timeout=3 if replies else 30)
            except asyncio.TimeoutError:
                return replies
            if frame.get("type") == "event" and frame.get("from") == "bot":
                replies.append(str(frame.get("text", "")))
                if expected is not None and expected in replies:
                    return replies


async def follow_job(console: Console, job: str, timeout: float) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    after = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, got = await console.call("GET", f"/api/faq/jobs/{job}?after={after}")
        assert status == 200, got
        events += got["events"]
        for event in got["events"]:
            print(f"  {job} {event.get('percent', '')} {event.get('message', event)}", flush=True)
        after = got["next"]
        if got["state"] != "running":
            return {**got, "events": events}
        await asyncio.sleep(1)
    raise AssertionError(f"the job did not finish in {timeout} s; events: {events[-5:]}")


async def wait_for_answer(stack: RunningStack, text: str, expected: str, seconds: float) -> float:
    """Seconds until the bot answers `text` with `expected` (asked again until it does)."""
    began = time.monotonic()
    replies: list[str] = []
    while time.monotonic() - began < seconds:
        replies = await ask(stack, text, expected)
        if expected in replies:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise AssertionError(f"the bot never answered {text!r} with {expected!r}; last: {replies}")


async def test_an_answer_edit_is_live_at_once_and_unplaced_questions_reach_the_editors(
    stack: RunningStack,
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        admin = await Console.login(session, stack.url, "admin", stack.admin_password())
        assert EDITED_PO_BOX not in await ask(stack, PO_BOX_QUESTION)

        began = time.monotonic()
        status, edited = await admin.call(
            "PATCH", "/api/faq/topics/po_box", {"answer": EDITED_PO_BOX}
        )
        assert status == 200, edited
        await wait_for_answer(stack, PO_BOX_QUESTION, EDITED_PO_BOX, seconds=30)
        FIGURES["answer_edit_to_live_seconds"] = round(time.monotonic() - began, 1)

        await ask(stack, UNPLACEABLE)
        status, listed = await admin.call("GET", "/api/faq/unanswered")
        assert status == 200
        assert any(UNPLACEABLE in g["text"] for g in listed["groups"]), listed

        status, audit = await admin.call("GET", "/api/faq/audit")
        assert status == 200
        assert (audit["entries"][0]["action"], audit["entries"][0]["topic"]) == ("edit", "po_box")


# Publishing trains a model: minutes on a small, busy machine.
@pytest.mark.timeout(2400)
async def test_an_editor_adds_a_topic_and_publishes_it_with_progress_on_the_live_stack(
    stack: RunningStack,
) -> None:
    """Published, the live bot answers a new wording and a rollback takes it back; refused by
    the tool's checks (the new model would do worse), the page gets the reasons and the live
    bot is exactly as before. Which one happens depends on the trained model, not the page."""
    assert stack.project is not None
    project = stack.project
    assert ANSWER not in await ask(stack, NEW_WORDING)

    # unsafe=True: the stack is addressed by IP, where aiohttp would otherwise drop cookies.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        admin = await Console.login(session, stack.url, "admin", stack.admin_password())

        # -- add (the tool checks the phrasings against the live assistant) and publish --
        began = time.monotonic()
        status, added = await admin.call(
            "POST",
            "/api/faq/topics",
            {"key": KEY, "phrasings": PHRASINGS, "answer": ANSWER, "group": GROUP},
        )
        assert status == 201, added
        assert KEY in "".join(
            p.read_text() for p in (project / "data" / "nlu" / "faq").glob("*.yml")
        )
        assert KEY not in "".join(
            p.read_text() for p in (ROOT / "data" / "nlu" / "faq").glob("*.yml")
        )
        status, history = await admin.call("GET", "/api/faq/history")
        published_before = len(history["history"])

        status, started = await admin.call("POST", "/api/faq/publish")
        assert status == 202, started
        # A second publish while this one runs is refused, not queued behind it.
        status, second = await admin.call("POST", "/api/faq/publish")
        assert status == 409 and second["error"] == "publish_running"
        assert second["job"]["id"] == started["job"]
        published = await follow_job(admin, started["job"], timeout=1500)
        progress = [e for e in published["events"] if e["event"] == "progress"]
        assert {"validate", "train", "check"} <= {e["step"] for e in progress}
        assert [e["percent"] for e in progress] == sorted(e["percent"] for e in progress)
        result = published["result"]
        FIGURES["publish_seconds"] = result.get("seconds")
        status, history = await admin.call("GET", "/api/faq/history")

        if not result["ok"]:
            # Refused by the checks: reasons for the page, and nothing half-published.
            assert published["state"] == "failed"
            assert result["errors"] and all(e["code"] == "checks_worse" for e in result["errors"])
            assert all(e["message"].endswith("Nothing was published.") for e in result["errors"])
            assert len(history["history"]) == published_before
            assert ANSWER not in await ask(stack, NEW_WORDING)
            FIGURES["publish_refused_by_checks"] = [e["message"] for e in result["errors"]]
            return

        assert published["state"] == "done" and {"swap"} <= {e["step"] for e in progress}
        FIGURES["first_live_answer_after_publish_seconds"] = round(
            await wait_for_answer(stack, NEW_WORDING, ANSWER, seconds=60), 1
        )
        FIGURES["add_to_live_seconds"] = round(time.monotonic() - began, 1)
        assert history["history"][-1]["action"] == "publish"

        # -- rollback: the model from before the publish answers again --
        status, rolling = await admin.call("POST", "/api/faq/rollback")
        assert status == 202, rolling
        rolled = await follow_job(admin, rolling["job"], timeout=300)
        assert rolled["state"] == "done", rolled["result"]
        assert ANSWER not in await ask(stack, NEW_WORDING)

        status, audit = await admin.call("GET", "/api/faq/audit")
        assert status == 200
        actions = [(e["action"], e["actor"]) for e in audit["entries"]]
        assert actions[:3] == [("rollback", "admin"), ("publish", "admin"), ("add", "admin")]
