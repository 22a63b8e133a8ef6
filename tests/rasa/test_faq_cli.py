"""`python -m bot faq`: the editors' contract (JSON shapes, error codes, exit codes, audit log).

Every test works on a temporary copy of the project; the repository's data is never touched.
No assistant is running here (RASA_URLS points at a closed port), which is also what an editor
meets when the stack is down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.faq.project import Project
from bot.faq.publish.lock import publish_lock
from tests.support.project import copy_project
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PHRASINGS = [
    "can you engrave a cutting board",
    "do you offer personalised engraving",
    "is engraving available on knives",
    "how much does it cost to engrave my initials",
    "can i get a name carved on the board",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def run_cli(project: Path, *args: str, actor: str = "dana") -> tuple[int, Any]:
    env = {
        **os.environ,
        "RASA_URLS": f"http://127.0.0.1:{free_port()}",
        "HARBOR_VAR_DIR": str(project / "var"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    env.pop("FAQ_PROJECT_DIR", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "faq",
            *args,
            "--json",
            "--actor",
            actor,
            "--project",
            str(project),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    return result.returncode, parsed[0] if len(parsed) == 1 else parsed


def phrasing_args(phrasings: list[str]) -> list[str]:
    return [arg for phrasing in phrasings for arg in ("--phrasing", phrasing)]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["code"] for error in body["errors"]]


def test_list_and_show_follow_the_contract(project: Path) -> None:
    status, body = run_cli(project, "list")
    assert status == 0 and body["ok"] is True
    assert len(body["topics"]) == 40
    first = next(t for t in body["topics"] if t["key"] == "shipping_cost")
    assert set(first) == {"key", "group", "phrasings", "answer"}
    status, shown = run_cli(project, "show", "shipping_cost")
    assert first["group"] == "shipping"
    assert first["phrasings"] == len(shown["topic"]["phrasings"]) >= 20
    long_answer = next(t for t in body["topics"] if len(t["answer"]) == 120)
    assert long_answer  # answers are cut to 120 characters in the list

    status, body = run_cli(project, "show", "shipping_cost")
    assert status == 0
    assert body["topic"]["phrasings"][0] == "how much is shipping"
    assert body["topic"]["answer"].startswith("Standard shipping costs")


def test_an_unknown_topic_and_a_usage_error_have_their_exit_codes(project: Path) -> None:
    status, body = run_cli(project, "show", "no_such_topic")
    assert status == 1 and body["ok"] is False and codes(body) == ["unknown_topic"]
    assert "no topic called 'no_such_topic'" in body["errors"][0]["message"]
    status, _ = run_cli(project, "add", "engraving")  # no --phrasing, no --answer
    assert status == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["Engraving!", *phrasing_args(PHRASINGS), "--answer", "x"], "key_format"),
        (["engraving", *phrasing_args(PHRASINGS[:4]), "--answer", "x"], "too_few_phrasings"),
        (["engraving", *phrasing_args(PHRASINGS), "--answer", "  "], "empty_answer"),
        (["engraving", *phrasing_args(PHRASINGS), "--answer", "x" * 1001], "answer_too_long"),
        (["shipping_cost", *phrasing_args(PHRASINGS), "--answer", "x"], "topic_exists"),
    ],
)
def test_an_invalid_topic_is_refused_and_nothing_is_written(
    project: Path, args: list[str], code: str
) -> None:
    before = {p.name: p.read_text() for p in (project / "data/nlu/faq").glob("*.yml")}
    status, body = run_cli(project, "add", *args)
    assert status == 1 and code in codes(body)
    assert all(error["message"].endswith((".", ")")) for error in body["errors"])
    after = {p.name: p.read_text() for p in (project / "data/nlu/faq").glob("*.yml")}
    assert after == before
    assert not (project / "var" / "faq-audit.jsonl").exists()


def test_a_phrasing_of_another_topic_or_intent_is_a_duplicate(project: Path) -> None:
    taken = [*PHRASINGS[:4], "How much is shipping?"]
    status, body = run_cli(project, "add", "engraving", *phrasing_args(taken), "--answer", "x")
    assert status == 1
    [error] = body["errors"]
    assert error["code"] == "duplicate_phrasing" and error["other_topic"] == "shipping_cost"
    assert error["phrasing"] == "How much is shipping?" and error["topic"] == "engraving"

    status, body = run_cli(project, "edit", "shipping_cost", "--add-phrasing", "Talk to a person")
    assert status == 1 and body["errors"][0]["other_topic"] == "request_human"


def test_add_edit_remove_are_saved_and_audited(project: Path) -> None:
    status, body = run_cli(
        project,
        "add",
        "engraving",
        *phrasing_args(PHRASINGS),
        "--answer",
        "We engrave boards and knives for $9.",
        "--group",
        "products",
    )
    assert status == 0, body
    assert body["topic"]["group"] == "products" and body["topic"]["phrasings"] == PHRASINGS
    # No assistant and no model here: the conflict check says it could not run.
    assert "no running assistant" in body["conflict_check"]

    status, body = run_cli(project, "edit", "engraving", "--answer", "Engraving is $12.")
    assert status == 0 and body["topic"]["answer"] == "Engraving is $12."
    status, body = run_cli(project, "edit", "engraving", "--remove-phrasing", PHRASINGS[0])
    assert status == 1 and codes(body) == ["too_few_phrasings"]
    status, body = run_cli(project, "remove", "engraving", actor="lee")
    assert status == 0
    status, body = run_cli(project, "show", "engraving")
    assert codes(body) == ["unknown_topic"]

    entries = [
        json.loads(line)
        for line in (project / "var/faq-audit.jsonl").read_text().split("\n")
        if line
    ]
    assert [(e["actor"], e["action"], e["topic"]) for e in entries] == [
        ("dana", "add", "engraving"),
        ("dana", "edit", "engraving"),
        ("lee", "remove", "engraving"),
    ]
    assert entries[1]["details"]["previous_answer"] == "We engrave boards and knives for $9."
    assert entries[0]["at"].endswith("+00:00")


def test_validate_reports_rasas_own_check(project: Path) -> None:
    rules = project / "data" / "rules" / "broken.yml"
    rules.write_text(
        'version: "3.1"\nrules:\n- rule: answers with a response nobody wrote\n  steps:\n'
        "  - intent: greet\n  - action: utter_nobody_wrote_this\n"
    )
    status, body = run_cli(project, "validate")
    assert status == 1
    assert "rasa_validate" in codes(body)
    assert any("utter_nobody_wrote_this" in e["message"] for e in body["errors"])


def test_validate_passes_on_the_repository_data(project: Path) -> None:
    status, body = run_cli(project, "validate")
    assert status == 0, body


def test_a_second_publisher_is_told_who_is_publishing(project: Path) -> None:
    editor_project = Project(project)
    os.environ["HARBOR_VAR_DIR"] = str(project / "var")
    try:
        with publish_lock(editor_project, "ana", wait=False, report=lambda *_: None):
            status, events = run_cli(project, "publish", actor="ben")
    finally:
        del os.environ["HARBOR_VAR_DIR"]
    done = events[-1] if isinstance(events, list) else events
    assert status == 1 and done["event"] == "done" and done["ok"] is False
    assert done["errors"][0]["code"] == "publish_in_progress"
    assert done["errors"][0]["message"].startswith("ana is publishing since ")
    audit = [
        json.loads(line) for line in (project / "var/faq-audit.jsonl").read_text().splitlines()
    ]
    assert audit[-1]["actor"] == "ben" and audit[-1]["action"] == "publish"
    assert audit[-1]["details"]["refused"][0]["code"] == "publish_in_progress"


def test_a_waiting_publisher_goes_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARBOR_VAR_DIR", str(tmp_path / "var"))
    editor_project = Project(tmp_path)
    # Barriers, not sleeps: ana holds the lock until ben reports that he waits, and marks
    # her publish finished while still holding it, so ben can only enter after that mark.
    ana_holds = threading.Event()
    ben_waits = threading.Event()
    ana_finished = threading.Event()
    messages: list[str] = []

    def first() -> None:
        with publish_lock(editor_project, "ana", wait=False, report=lambda *_: None):
            ana_holds.set()
            assert ben_waits.wait(30)
            ana_finished.set()

    def ben_reports(step: str, pct: int, msg: str) -> None:
        messages.append(msg)
        ben_waits.set()

    holder = threading.Thread(target=first)
    holder.start()
    assert ana_holds.wait(30)
    with publish_lock(editor_project, "ben", wait=True, report=ben_reports):
        assert ana_finished.is_set()
        holder_info = json.loads((tmp_path / "var/faq-publish/publisher.json").read_text())
        assert holder_info["actor"] == "ben"
    holder.join()
    assert messages and messages[0].startswith("waiting: ana is publishing since")
