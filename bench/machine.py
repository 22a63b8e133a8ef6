"""The note every benchmark table carries: how many cores measured it, and how busy they were.

Timings on a 2-core machine mean little without that, and a report may be read far from the
machine that wrote it.
"""

from __future__ import annotations

import os


def cores() -> int:
    """Cores this process may run on (what `nproc` prints), not the host's total."""
    return len(os.sched_getaffinity(0))


def machine_note() -> str:
    return f"`nproc` = {cores()}, load average {os.getloadavg()[0]:.1f} when printed."
