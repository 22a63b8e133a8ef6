"""One publisher at a time: <var>/faq-publish/publish.lock (flock), and publisher.json saying
who holds it and since when, so the next editor is told whom they wait for."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import IO

from bot.faq import audit
from bot.faq.project import Project
from bot.faq.publish.progress import Report
from bot.faq.publish.record import read_json
from bot.faq.publish.refusal import PublishRefused
from bot.faq.validation import Issue


@contextlib.contextmanager
def publish_lock(project: Project, actor: str, wait: bool, report: Report) -> Iterator[None]:
    """Hold the project's publish lock; without `wait`, refuse when another publish runs."""
    project.publish_dir.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = (project.publish_dir / "publish.lock").open("a+")
    holder_file = project.publish_dir / "publisher.json"
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_json(holder_file)
            who = holder.get("actor", "someone")
            since = str(holder.get("since", "?"))[:19].replace("T", " ")
            if not wait:
                raise PublishRefused(
                    [
                        Issue(
                            "publish_in_progress",
                            f"{who} is publishing since {since} UTC; wait for it to finish, "
                            "or publish with --wait to go next.",
                            extra={"publisher": who, "since": holder.get("since")},
                        )
                    ]
                ) from None
            report("validate", 0, f"waiting: {who} is publishing since {since} UTC")
            fcntl.flock(handle, fcntl.LOCK_EX)
        holder_file.write_text(
            json.dumps({"actor": actor, "since": audit.now_iso(), "pid": os.getpid()})
        )
        try:
            yield
        finally:
            holder_file.unlink(missing_ok=True)
    finally:
        handle.close()
