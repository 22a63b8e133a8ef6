"""One stack per folder: a second `make run` explains where the first one is and exits."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from bot.launcher.errors import LaunchError


@contextlib.contextmanager
def single_instance(var_dir: Path, public_url: str) -> Iterator[None]:
    """Hold var/launcher.lock for the life of the stack; a second launcher explains and exits."""
    var_dir.mkdir(parents=True, exist_ok=True)
    lock_path = var_dir / "launcher.lock"
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise LaunchError(
            f"Harbor Assist is already running from this folder (pid {pid}) at {public_url}: "
            "use that one, or stop it with Ctrl-C in its terminal first."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        handle.close()
