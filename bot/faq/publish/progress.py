"""Progress of a long step (training, scoring) reported while it runs in a thread.

The editor's page and the command line show a bar from these reports; the percentage comes
from how long the step usually takes, since Rasa reports no progress of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Report = Callable[[str, int, str], None]  # (step, percent, message)


class Background:
    """Work running in a thread; its result or exception is handed over by `wait`."""

    def __init__(self, work: Callable[[], Any], name: str) -> None:
        self._outcome: dict[str, Any] = {}
        self.began = time.monotonic()
        self.thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._outcome["value"] = work()
        except BaseException as error:  # re-raised in the waiting thread
            self._outcome["error"] = error

    def wait(self, report: Report, step: str, start: int, end: int, expected: float) -> Any:
        """Wait, reporting a percentage from the time the work usually takes."""
        last, last_at = -1, 0.0
        while self.thread.is_alive():
            self.thread.join(timeout=1.0)
            now = time.monotonic()
            elapsed = now - self.began
            percent = start + int((end - start) * min(0.97, elapsed / max(expected, 1.0)))
            # A new line when the bar moves, and every 5 s anyway so a page knows it is alive.
            if percent != last or now - last_at >= 5:
                message = f"{step} running for {elapsed:.0f} s (usually ~{expected:.0f} s)"
                report(step, percent, message)
                last, last_at = percent, now
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome.get("value")
