"""The deployment files, read once per session (deploy/, docs/deployment.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGES = DEPLOY / "images"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILES = sorted(IMAGES.glob("*.Dockerfile"))
PARTS = ("handoff", "rasa", "nlg", "actions")


def manifest_files() -> list[Path]:
    listed = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"]
    return [KUBERNETES / name for name in listed]


@pytest.fixture(scope="session")
def resources() -> list[dict[str, Any]]:
    """Every Kubernetes object the kustomization lists, in order."""
    found: list[dict[str, Any]] = []
    for path in manifest_files():
        found.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return found


def find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for item in resources:
        if item["kind"] == kind and item["metadata"]["name"] == name:
            return item
    raise AssertionError(f"no {kind} named {name} in deploy/kubernetes")
