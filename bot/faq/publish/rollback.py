"""`bot faq rollback`: the model that was live before the last publish, with its answers."""

from __future__ import annotations

import time
from typing import Any

from bot.faq import audit
from bot.faq.project import Project
from bot.faq.publish.live import live_model_names, model_name_of, swap_model
from bot.faq.publish.lock import publish_lock
from bot.faq.publish.progress import Report
from bot.faq.publish.record import append_history, read_history
from bot.faq.publish.refusal import PublishRefused
from bot.faq.publish.snapshots import restore_snapshot, save_snapshot
from bot.faq.validation import Issue


def rollback(project: Project, actor: str, wait: bool, report: Report) -> dict[str, Any]:
    """Swap the model that was live before the last publish back in, with its answers."""
    began = time.monotonic()
    try:
        with publish_lock(project, actor, wait, report):
            result = _rollback_locked(project, actor, report, began)
    except PublishRefused as refused:
        outcome = refused.outcome(began)
        audit.record(project.var_dir, actor, "rollback", None, {"refused": outcome["errors"]})
        return outcome
    audit.record(project.var_dir, actor, "rollback", None, result)
    return {"ok": True, **result}


def _rollback_locked(project: Project, actor: str, report: Report, began: float) -> dict[str, Any]:
    report("validate", 5, "finding the previous model")
    previous = live_model_names(project)
    live_name = model_name_of(next((n for n in previous.values() if n), None))
    target = None
    for entry in reversed(read_history(project)):
        if (
            entry.get("action") == "publish"
            and entry.get("model") == live_name
            # A publish of unchanged files re-swaps the same model; it is not a step back.
            and entry.get("previous_model") not in {None, live_name}
        ):
            target = str(entry["previous_model"])
            break
    if target is None:
        raise PublishRefused(
            [Issue("nothing_to_roll_back", "There is no earlier published model to go back to.")]
        )
    path = project.models_dir / f"{target}.tar.gz"
    if not path.exists():
        raise PublishRefused(
            [Issue("nothing_to_roll_back", f"The previous model {target} is no longer on disk.")]
        )
    report("swap", 40, f"loading {target} into the assistant")
    errors = swap_model(project, path, previous)
    if errors:
        raise PublishRefused(
            [Issue("swap_failed", f"{e}; the live model was left as it was.") for e in errors]
        )
    # Keep the current files before putting the old ones back, so nothing an editor wrote is
    # lost for good.
    if live_name:
        save_snapshot(project, live_name, project.faq_dir)
    restored = restore_snapshot(project, target)
    report("swap", 100, f"{target} is live" + (" with its answers" if restored else ""))
    entry = {
        "at": audit.now_iso(),
        "actor": actor,
        "action": "rollback",
        "model": target,
        "previous_model": live_name,
        "answers_restored": restored,
        "seconds": round(time.monotonic() - began, 1),
    }
    append_history(project, entry)
    return {
        "model": target,
        "live_model": target,
        "previous_model": live_name,
        "answers_restored": restored,
        "seconds": entry["seconds"],
    }
