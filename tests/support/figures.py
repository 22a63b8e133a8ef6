"""Figures measured by the reliability, security and soak suites.

A test that checks how the service behaves under a fault also reports *how much*: messages
sent, accepted, lost and duplicated, the longest wait a customer saw, winners per round of a
claim race. Each figure is printed (visible with ``pytest -s``) and appended as one JSON line to
``test-artifacts/figures.jsonl`` (or ``$FIGURES_FILE``), so the README's table of figures can be
rebuilt from a test run:

    from tests.support.figures import record_figure

    record_figure("redis_restart.lost", lost, "messages", "Redis killed mid-chat, AOF on")

The file is appended to, never truncated, so figures from several runs accumulate; every line
carries the test that recorded it (from ``PYTEST_CURRENT_TEST``) and a UTC timestamp, and
:func:`latest_figures` keeps the newest value of each name.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def figures_path() -> Path:
    """Where figures go: ``$FIGURES_FILE`` or ``test-artifacts/figures.jsonl`` in the repo."""
    configured = os.environ.get("FIGURES_FILE")
    return Path(configured) if configured else REPO_ROOT / "test-artifacts" / "figures.jsonl"


def record_figure(name: str, value: float | int, unit: str, note: str = "") -> dict[str, Any]:
    """Print one measured figure and append it to the figures file; return the record.

    ``name`` is dotted, suite first (``faults.redis_restart.lost``); ``unit`` is what a reader
    needs to understand the number (``messages``, ``ms``, ``MiB``, ``winners/round``); ``note``
    says under which conditions it was measured.
    """
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    record: dict[str, Any] = {
        "name": name,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "note": note,
        "test": test,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = figures_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write call per line keeps lines whole when several test processes append at once.
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"FIGURE {name} = {record['value']} {unit}" + (f" ({note})" if note else ""))
    return record


def latest_figures(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The newest record of each figure name in the figures file (empty if there is none)."""
    source = path or figures_path()
    newest: dict[str, dict[str, Any]] = {}
    if not source.exists():
        return newest
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            newest[record["name"]] = record
    return newest


def markdown_table(path: Path | None = None) -> str:
    """The newest figures as a Markdown table, for the README."""
    rows = ["| figure | value | unit | measured under |", "|---|---|---|---|"]
    for name, record in sorted(latest_figures(path).items()):
        rows.append(f"| {name} | {record['value']} | {record['unit']} | {record['note']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
