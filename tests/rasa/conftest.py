"""Fixtures of the assistant suite: the real domain. The real order stores are shared with other
suites (tests/conftest.py); trackers and the in-process action runner are in tests/rasa/trackers.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.rasa.trackers import REPO_ROOT


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The real domain.yml, as the action server receives it."""
    return dict(yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8")))
