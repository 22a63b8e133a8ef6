"""Importing one project module in a process where no other project module was imported.

The processes are forked from a server that has loaded only third-party packages (the slow part
of starting Python for this service), so checking a hundred modules costs a fork each instead of
a whole interpreter start. What the check is about, that no project module works only because
another was imported first, is unchanged: the server never imports a project module.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from collections.abc import Iterable

# Third-party packages the service's modules import; preloaded once in the fork server.
THIRD_PARTY = (
    "aiohttp",
    "redis.asyncio",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "jsonschema",
    "numpy",
    "onnxruntime",
    "spacy",
    "sqlalchemy",
    "alembic",
    "prometheus_client",
)
PROJECT = ("handoff", "bot", "actions", "vocabulary", "understanding", "tests")


def import_alone(module: str) -> tuple[str, str] | None:
    """(module, the error's last line) when it fails to import on its own; None when it does."""
    # This module and its packages (tests, tests.support) are what the child runs; nothing else.
    loaded = [
        m
        for m in sys.modules
        if m.split(".")[0] in PROJECT and m not in {"tests", "tests.support", __name__}
    ]
    if loaded:
        return module, f"the process had project modules loaded already: {loaded[:5]}"
    try:
        importlib.import_module(module)
    except BaseException as error:  # any failure to import is the finding
        return module, f"{type(error).__name__}: {error}"
    return None


def failures(modules: Iterable[str], workers: int = 2) -> list[tuple[str, str]]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(THIRD_PARTY))
    # One task per process: each module is imported in a process of its own.
    with context.Pool(workers, maxtasksperchild=1) as pool:
        return [found for found in pool.map(import_alone, modules, chunksize=1) if found]
