"""What every browser test module shares: one headless Chromium per module, and the time a
Playwright `expect` waits for what it checks (a positive barrier on a busy 2-core machine: the
check passes as soon as the page shows it, so a long bound costs nothing when all is well)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.support import system_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from system_chromium()


@pytest.fixture(autouse=True)
def patient_expect() -> None:
    from playwright.sync_api import expect  # deferred: Playwright only where browsers run

    expect.set_options(timeout=20_000)
