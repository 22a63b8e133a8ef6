"""The garbage collector of a running replica: its thresholds, and its pauses as a metric.

While the cyclic collector runs, nothing else in the process does: every socket waits. A full
collection walks every object the open sockets hold, 90-140 ms with 1,000 customer sockets
and their agents, and with Python's default thresholds (700, 10, 10) it came every few seconds
at 500 relayed messages/s: the relay's p99 was 37-79 ms against a p50 of about 1 ms (issue
20). Once start-up is frozen out of the collector's reach (app.py), full collections come a
hundred times less often (minutes apart at that load); the young generations keep Python's
thresholds, whose pauses stay under about 10 ms (a young generation of 5,000 halved the
collector's CPU but paused up to 50 ms). Garbage is still freed by reference counting as
before; only reference cycles that outlive the young collections wait longer.

`harbor_gc_pause_seconds{generation}` lets an operator see the pauses a replica takes (and the
serving bench read them: bench/relay_ab.py). Measured: docs/benchmarks.md, "Serving".
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Histogram

GC_THRESHOLDS = (700, 10, 1000)


def tune_collector() -> None:
    """Freeze what start-up loaded (it lives as long as the process: out of the collector's
    reach, it no longer lengthens every full collection), then set GC_THRESHOLDS. Collect
    first, so no garbage is frozen with it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def time_pauses(pauses: Histogram) -> Callable[[], None]:
    """Observe every collection's duration into `pauses`, by generation, until the returned
    function is called."""
    started = [0.0]

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.labels(str(info["generation"])).observe(time.perf_counter() - started[0])

    gc.callbacks.append(on_collection)

    def stop() -> None:
        if on_collection in gc.callbacks:
            gc.callbacks.remove(on_collection)

    return stop
