"""A throwaway copy of the assistant project, for editors' changes that must never touch the
repository: the files the FAQ tool reads and writes, trains from and checks against."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("config.yml", "domain.yml")
PROJECT_FOLDERS = ("data/nlu", "data/rules", "data/stories", "tests/conversations", "tests/nlu")


def copy_project(target: Path) -> Path:
    """Copy the project's training data, checks and configuration into `target` (made if
    missing) and return it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, target / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(ROOT / folder, target / folder)
    # The model's fingerprint covers the custom components (bot/model.py).
    (target / "bot").mkdir()
    for component in (ROOT / "bot").glob("faq_*.py"):
        shutil.copy(component, target / "bot" / component.name)
    return target
