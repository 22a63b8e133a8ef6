"""The publish jobs' records: history.jsonl (one line per publish or rollback) and the small
JSON files beside it.

    <var>/faq-publish/history.jsonl     what was published or rolled back, by whom, how long
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from bot.faq.project import Project

HISTORY_FILE = "history.jsonl"
DEFAULT_TRAIN_SECONDS = 100.0  # until the history has a training time of this project


def read_history(project: Project) -> list[dict[str, Any]]:
    path = project.publish_dir / HISTORY_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return entries


def append_history(project: Project, entry: dict[str, Any]) -> None:
    project.publish_dir.mkdir(parents=True, exist_ok=True)
    with (project.publish_dir / HISTORY_FILE).open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


def expected_train_seconds(project: Project) -> float:
    times = [float(e["train_seconds"]) for e in read_history(project) if e.get("train_seconds")]
    return sorted(times)[len(times) // 2] if times else DEFAULT_TRAIN_SECONDS


def read_json(path: Path) -> dict[str, Any]:
    """A small JSON object written by a job; empty when missing or half-written."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return {}
