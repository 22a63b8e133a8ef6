"""`bot faq publish`: validate, train, check against the live model, swap, record.

The whole job holds the publish lock. Training and scoring run in threads that report progress;
anything that breaks on the way ends as a refusal in the contract's shape, and the live model is
left as it was unless every Rasa server took the new one.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from bot import model
from bot.faq import audit, validation
from bot.faq.library import FaqLibrary
from bot.faq.project import Project
from bot.faq.publish.checks import pending_phrasings
from bot.faq.publish.live import live_model_names, model_name_of, swap_model
from bot.faq.publish.lock import publish_lock
from bot.faq.publish.progress import Background, Report
from bot.faq.publish.record import append_history, expected_train_seconds
from bot.faq.publish.refusal import PublishRefused
from bot.faq.publish.scores import cached_scores, compare, evaluate_model, store_scores
from bot.faq.publish.snapshots import remember_trained_answers, save_snapshot
from bot.faq.publish.training import stage_training_files, train_staged
from bot.faq.validation import Issue
from bot.rasa_agent import quiet_rasa, use_project_settings


def publish(project: Project, actor: str, wait: bool, report: Report) -> dict[str, Any]:
    began = time.monotonic()
    timings: dict[str, float] = {}
    try:
        with publish_lock(project, actor, wait, report):
            timings["wait_for_lock"] = round(time.monotonic() - began, 1)
            try:
                result = _publish_locked(project, actor, report, began, timings)
            except PublishRefused:
                raise
            except Exception as error:
                # Training or scoring broke (Rasa raises many exception types of its own): say
                # so in the contract's shape, like a refusal, instead of a traceback.
                message = f"Publishing failed: {error}"[:600]
                raise PublishRefused(
                    [Issue("publish_failed", f"{message}; the live model was left as it was.")]
                ) from error
    except PublishRefused as refused:
        outcome = {**refused.outcome(began), "timings": timings}
        audit.record(project.var_dir, actor, "publish", None, {"refused": outcome["errors"]})
        return outcome
    audit.record(project.var_dir, actor, "publish", None, result)
    return {"ok": True, **result}


def _publish_locked(
    project: Project, actor: str, report: Report, began: float, timings: dict[str, float]
) -> dict[str, Any]:
    report("validate", 1, "checking the topics")
    mark = time.monotonic()
    use_project_settings()
    quiet_rasa()
    previous = live_model_names(project)
    if not any(previous.values()):
        raise PublishRefused(
            [
                Issue(
                    "rasa_unreachable",
                    "No assistant answers at "
                    f"{', '.join(project.rasa_urls())}; start it (make run) and publish again.",
                )
            ]
        )
    remember_trained_answers(project)
    library = FaqLibrary(project.faq_dir)
    issues = validation.check_topics(library, project)
    pending = pending_phrasings(project, library)
    if pending:
        issues += validation.ConflictChecker(project).check(pending)
    if issues:
        raise PublishRefused(issues)

    staging = stage_training_files(project)
    try:
        plan = model.plan(staging, project.models_dir)
        save_snapshot(project, plan.name, staging / "data" / "nlu" / "faq")
        live_name = model_name_of(next(n for n in previous.values() if n))
        assert live_name is not None
        live_path = project.models_dir / f"{live_name}.tar.gz"

        # Rasa reads YAML through a resolver table shared by all threads and changed on every
        # read, so two Rasa jobs reading YAML at once can break each other's training. Every
        # Rasa step therefore runs one after the other; only the progress reporting is beside.
        issues = validation.rasa_validate(staging)
        if issues:
            raise PublishRefused(issues)
        report("validate", 10, "all checks passed")
        timings["validate"] = round(time.monotonic() - mark, 1)
        train_began = time.monotonic()
        train_seconds = 0.0
        if not plan.path.exists() and plan.cached.exists():
            # Trained from exactly these files before on this machine (the name is their
            # fingerprint): an editor who publishes content published once already, or a new
            # clone, gets that model in a second instead of a training.
            shutil.copy2(plan.cached, plan.path)
        if plan.path.exists():
            report("train", 75, f"model {plan.name} was trained before; reusing it")
        else:
            training = Background(lambda: train_staged(staging, plan), "faq-train")
            training.wait(report, "train", 10, 75, expected_train_seconds(project))
            train_seconds = time.monotonic() - train_began
        timings["train"] = round(train_seconds, 1)
        mark = time.monotonic()
        report("check", 76, "scoring the new model on the test conversations and held-out set")
        after = cached_scores(project, plan.name)
        if after is None:
            scoring = Background(lambda: evaluate_model(project, plan.path), "faq-check")
            after = scoring.wait(report, "check", 76, 88, 20.0)
            store_scores(project, plan.name, after)
        timings["check"] = round(time.monotonic() - mark, 1)
        # The live model's scores: computed once per live model, then cached.
        before = cached_scores(project, live_name)
        if before is None and live_path.exists():
            mark = time.monotonic()
            report("check", 88, f"scoring the live model {live_name} (once per model)")
            scoring = Background(lambda: evaluate_model(project, live_path), "faq-check-live")
            before = scoring.wait(report, "check", 88, 94, 20.0)
            store_scores(project, live_name, before)
            timings["score_live_model"] = round(time.monotonic() - mark, 1)
        warnings: list[Issue] = []
        if before is None:
            warnings.append(
                Issue(
                    "not_compared",
                    f"The live model {live_name} is not in {project.models_dir}, so the new "
                    "model could not be compared with it.",
                )
            )
        elif plan.name != live_name:
            problems, worse, warnings = compare(before, after)
            if problems:
                raise PublishRefused(problems, worse)
        report("swap", 95, "loading the new model into the assistant")
        mark = time.monotonic()
        errors = swap_model(project, plan.path, previous)
        if errors:
            raise PublishRefused(
                [Issue("swap_failed", f"{e}; the live model was left as it was.") for e in errors]
            )
        now = live_model_names(project)
        timings["swap"] = round(time.monotonic() - mark, 1)
        report("swap", 100, "the new model is live")
        model.keep_in_cache(plan)  # the launcher finds it there after `make clean`
        entry = {
            "at": audit.now_iso(),
            "actor": actor,
            "action": "publish",
            "model": plan.name,
            "previous_model": live_name,
            "train_seconds": round(train_seconds, 1),
            "seconds": round(time.monotonic() - began, 1),
            "heldout_accuracy": round(after.heldout_accuracy, 1),
            "failed_conversations": after.failed_conversations,
            "warnings": [w.as_json() for w in warnings],
            "timings": timings,
        }
        append_history(project, entry)
        return {
            "model": plan.name,
            "live_model": model_name_of(next((n for n in now.values() if n), None)),
            "previous_model": live_name,
            "seconds": entry["seconds"],
            "train_seconds": entry["train_seconds"],
            "heldout_accuracy": entry["heldout_accuracy"],
            "heldout_accuracy_before": round(before.heldout_accuracy, 1) if before else None,
            "warnings": entry["warnings"],
            "timings": timings,
        }
    finally:
        shutil.rmtree(staging, ignore_errors=True)
