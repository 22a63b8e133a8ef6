"""Editors against the real stack: answer edits, conflicts, publish, two publishers, rollback.

The session's stack serves a temporary copy of the project (FAQ_PROJECT_DIR, HARBOR_MODELS_DIR),
so the repository's data and models are never modified. The tests run in order: a publish trains
a real model (a minute on two cores) unless this machine trained the same files before.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.project import (
    NEW_REVIEW_QUESTION,
    REVIEWS_ANSWER,
    REVIEWS_PHRASINGS,
    REVIEWS_TOPIC,
)
from tests.support.servers import rasa_replies
from tests.support.stack import RunningStack

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


@pytest.fixture
def editor_stack(stack: RunningStack) -> tuple[RunningStack, Path]:
    """The session's stack and the copy of the project it serves."""
    assert stack.project is not None
    return stack, stack.project


def cli_env(stack: RunningStack, project: Path) -> dict[str, str]:
    return {
        **stack.env,
        "RASA_URLS": f"http://127.0.0.1:{stack.ports['RASA_PORT']}",
        "RASA_TOKEN": (stack.var_dir / "rasa-token").read_text().strip(),
        "FAQ_PROJECT_DIR": str(project),
        "HARBOR_MODELS_DIR": stack.env["HARBOR_MODELS_DIR"],
    }


def faq(stack: RunningStack, project: Path, *args: str, actor: str = "dana") -> tuple[int, Any]:
    result = subprocess.run(
        [str(RASA_PYTHON), "-m", "bot", "faq", *args, "--json", "--actor", actor],
        cwd=ROOT,
        env=cli_env(stack, project),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.returncode, lines[-1] if lines else {"stderr": result.stderr[-2000:]}


def start_publish(stack: RunningStack, project: Path, actor: str, *extra: str) -> Any:
    return subprocess.Popen(
        [str(RASA_PYTHON), "-m", "bot", "faq", "publish", "--json", "--actor", actor, *extra],
        cwd=ROOT,
        env=cli_env(stack, project),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def events_of(process: Any, timeout: float = 1200) -> list[dict[str, Any]]:
    out, _ = process.communicate(timeout=timeout)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def bot_says(stack: RunningStack, sender: str, text: str) -> list[str]:
    return rasa_replies(stack.ports["RASA_PORT"], sender, text)


def live_model(stack: RunningStack) -> str:
    token = (stack.var_dir / "rasa-token").read_text().strip()
    url = f"http://127.0.0.1:{stack.ports['RASA_PORT']}/status?token={token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(json.loads(response.read())["model_file"]).removesuffix(".tar.gz")


def test_an_answer_edit_is_live_within_five_seconds(editor_stack: Any) -> None:
    stack, project = editor_stack
    assert bot_says(stack, "fees-1", "how much is shipping")[0].startswith("Standard shipping")
    new_answer = "Shipping is $5, free over $50."
    began = time.monotonic()
    status, body = faq(stack, project, "edit", "shipping_cost", "--answer", new_answer)
    assert status == 0, body
    while bot_says(stack, "fees-2", "how much is shipping") != [new_answer]:
        assert time.monotonic() - began < 5.0, "the new answer was not live within 5 s"
        time.sleep(0.2)


def test_a_phrasing_the_live_model_gives_another_topic_is_caught(editor_stack: Any) -> None:
    stack, project = editor_stack
    phrasings = ["how much is shipping please", *(f"shipping fee question {n}" for n in range(4))]
    status, body = faq(
        stack,
        project,
        "add",
        "delivery_fees",
        *[arg for p in phrasings for arg in ("--phrasing", p)],
        "--answer",
        "x",
    )
    assert status == 1
    conflict = next(e for e in body["errors"] if e["code"] == "likely_conflict")
    assert conflict["other_topic"] == "shipping_cost" and conflict["confidence"] >= 0.8
    assert conflict["phrasing"] == "how much is shipping please"
    assert "running assistant" in body["conflict_check"]
    assert faq(stack, project, "show", "delivery_fees")[1]["errors"][0]["code"] == "unknown_topic"


def test_a_new_topic_is_published_once_while_a_second_publisher_is_told(
    editor_stack: Any,
) -> None:
    stack, project = editor_stack
    original = live_model(stack)
    assert bot_says(stack, "reviews-1", NEW_REVIEW_QUESTION) != [REVIEWS_ANSWER]
    status, body = faq(
        stack,
        project,
        "add",
        REVIEWS_TOPIC,
        *[arg for p in REVIEWS_PHRASINGS for arg in ("--phrasing", p)],
        "--answer",
        REVIEWS_ANSWER,
        "--group",
        "products",
    )
    assert status == 0, body

    # A conversation under way before the swap must carry on after it (trackers are in Redis).
    bot_says(stack, "ongoing", "hello")
    first = start_publish(stack, project, "ana")
    holder = stack.var_dir / "faq-publish" / "publisher.json"
    deadline = time.monotonic() + 60
    while not holder.exists():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    told_status, told = faq(stack, project, "publish", actor="ben")
    waiting = start_publish(stack, project, "cy", "--wait")

    events = events_of(first)
    done = events[-1]
    assert done["event"] == "done" and done["ok"] is True, done
    assert {e["step"] for e in events if e["event"] == "progress"} >= {
        "validate",
        "train",
        "check",
        "swap",
    }
    assert told_status == 1 and told["errors"][0]["code"] == "publish_in_progress"
    assert told["errors"][0]["message"].startswith("ana is publishing since")

    second = events_of(waiting)
    assert any("waiting: ana is publishing" in e.get("message", "") for e in second)
    assert second[-1]["ok"] is True, second[-1]
    # Both publishes saw the same files: one complete model, trained once, is live.
    assert live_model(stack) == done["model"] == second[-1]["model"] != original
    assert bot_says(stack, "reviews-2", NEW_REVIEW_QUESTION) == [REVIEWS_ANSWER]

    token = (stack.var_dir / "rasa-token").read_text().strip()
    url = f"http://127.0.0.1:{stack.ports['RASA_PORT']}/conversations/ongoing/tracker?token={token}"
    bot_says(stack, "ongoing", "thanks")
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.loads(response.read())
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert said == ["hello", "thanks"]

    audit = [
        json.loads(line)
        for line in (stack.var_dir / "faq-audit.jsonl").read_text().splitlines()
        if line.strip()
    ]
    # Only this test's publishers: the session's stack serves the other editor tests too.
    publishes = [
        (e["actor"], "refused" in e["details"])
        for e in audit
        if e["action"] == "publish" and e["actor"] in {"ana", "ben", "cy"}
    ]
    assert sorted(publishes) == [("ana", False), ("ben", True), ("cy", False)]


def test_rollback_restores_the_previous_model_and_its_answers(editor_stack: Any) -> None:
    stack, project = editor_stack
    published = live_model(stack)
    status, done = faq(stack, project, "rollback", actor="lee")
    assert status == 0 and done["ok"] is True, done
    assert live_model(stack) == done["model"] != published
    assert bot_says(stack, "reviews-3", NEW_REVIEW_QUESTION) != [REVIEWS_ANSWER]
    assert faq(stack, project, "show", REVIEWS_TOPIC)[1]["errors"][0]["code"] == "unknown_topic"
    # The answers go back to those the old model was published with, edits after it included.
    assert bot_says(stack, "fees-3", "how much is shipping")[0].startswith("Standard shipping")
    status, history = faq(stack, project, "history")
    assert [e["action"] for e in history["history"]][-2:] == ["publish", "rollback"]
