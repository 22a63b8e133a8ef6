"""The audit log: one JSON line per editor change, for the admin page and for people.

    {"at": "2026-11-22T13:05:12.123456+00:00", "actor": "dana", "action": "edit",
     "topic": "shipping_cost", "details": {"answer": "...", "added": ["..."]}}

Lines are appended with O_APPEND in one write, so concurrent editors never interleave.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

AUDIT_FILE = "faq-audit.jsonl"


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def record(
    var_dir: Path, actor: str, action: str, topic: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    """Append one entry to <var>/faq-audit.jsonl and return it."""
    entry = {"at": now_iso(), "actor": actor, "action": action, "topic": topic, "details": details}
    var_dir.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(var_dir / AUDIT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return entry


def read(var_dir: Path) -> list[dict[str, Any]]:
    path = var_dir / AUDIT_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return entries
