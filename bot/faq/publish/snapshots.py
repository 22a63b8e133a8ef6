"""Snapshots of the answers that went with each model, so a rollback restores both.

<var>/faq-publish/snapshots/<model name>/*.yml    the FAQ files a model was trained on
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot import model
from bot.faq.project import Project


def snapshot_dir(project: Project, model_name: str) -> Path:
    return project.publish_dir / "snapshots" / model_name


def save_snapshot(project: Project, model_name: str, faq_dir: Path) -> Path:
    target = snapshot_dir(project, model_name)
    if not target.exists():
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(faq_dir, partial)
        try:
            partial.rename(target)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
    return target


def remember_trained_answers(project: Project) -> None:
    """Before the first change: keep the FAQ files that the current model was trained on.

    A model is named after a fingerprint of its training files, so when a model of exactly
    these files exists, these files are what it was trained on and what rollback must restore.
    """
    plan = model.plan(project.root, project.models_dir)
    if plan.path.exists() and project.faq_dir.is_dir():
        save_snapshot(project, plan.name, project.faq_dir)


def restore_snapshot(project: Project, model_name: str) -> bool:
    source = snapshot_dir(project, model_name)
    if not source.is_dir():
        return False
    staged = project.faq_dir.with_name(f".faq-restore-{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(source, staged)
    # Files are replaced one by one (atomically each), so the NLG server never reads a gap.
    for path in staged.glob("*.yml"):
        os.replace(path, project.faq_dir / path.name)
    for path in project.faq_dir.glob("*.yml"):
        if not (source / path.name).exists():
            path.unlink()
    shutil.rmtree(staged, ignore_errors=True)
    return True
