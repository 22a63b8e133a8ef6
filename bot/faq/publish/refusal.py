"""A publish or rollback that stops: why, in the editor's words, and the job's outcome."""

from __future__ import annotations

import time
from typing import Any

from bot.faq.validation import Issue


class PublishRefused(Exception):
    def __init__(self, issues: list[Issue], worse: list[dict[str, Any]] | None = None) -> None:
        super().__init__(issues[0].message if issues else "refused")
        self.issues = issues
        self.worse = worse or []

    def outcome(self, began: float) -> dict[str, Any]:
        """The job's result in the contract's shape: `ok` false, the errors, and which topics
        got worse."""
        return {
            "ok": False,
            "errors": [i.as_json() for i in self.issues],
            "worse_topics": self.worse,
            "seconds": round(time.monotonic() - began, 1),
        }
