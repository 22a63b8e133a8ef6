"""Training a new model from a staged copy of the project, in this process, with Rasa's cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot import model
from bot.faq.project import Project


def stage_training_files(project: Project) -> Path:
    """A copy of everything the model is trained on, so edits during training do not leak in."""
    staging = project.publish_dir / f"staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # Exactly the files the model's fingerprint covers (bot/model.py), custom components and the
    # encoder included: the staged copy then gets the same model name as the launcher's, so
    # publishing unchanged content reuses the model already trained.
    for source in model.training_inputs(project.root):
        if source.is_file():
            target = staging / source.relative_to(project.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return staging


def train_staged(staging: Path, plan: model.ModelPlan) -> None:
    """Train in this process (Rasa's cache reused); the imports cost less than a new process."""
    from rasa.model_training import train

    result = train(
        domain=str(staging / "domain.yml"),
        config=str(staging / "config.yml"),
        training_files=model.data_dirs(staging),
        output=str(plan.path.parent),
        fixed_model_name=plan.name,
    )
    if result.code != 0 or not plan.path.exists():
        raise model.TrainingFailed(f"rasa train ended with code {result.code}")
