"""What the serving benchmark measures and prints: a sample of latencies with its percentiles,
the Markdown tables, and the summary that puts issue 20's figures next to its goals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench import machine
from bench.serving.processes import Code

# The figures, by row, as (goal, {code name: figure}); printed at the end.
SUMMARY: dict[str, tuple[str, dict[str, str]]] = {}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)  # seconds
    elapsed: float = 0.0
    expected: int = 0
    failures: int = 0
    service_cpu_ms: float = math.nan  # CPU time of the service(s) per delivered message
    generator_cpu_ms: float = math.nan  # and of this load generator

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000 if self.latencies else math.nan

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000 if self.latencies else math.nan

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else math.nan


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "–"
    return f"{value / base:.2f}×"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine_note() -> str:
    return (
        f"{machine.machine_note()} The load generator (this process) and the service share "
        "these cores, so the service gets less than all of them."
    )


def emit(text: str = "") -> None:
    print(text, flush=True)


def summarise(row: str, goal: str, figures: dict[str, str]) -> None:
    SUMMARY[row] = (goal, figures)


def print_summary(codes: Sequence[Code]) -> None:
    if not SUMMARY:
        return
    emit("### Summary: issue 20's figures, each code in this run")
    emit()
    rows = [
        [row, goal, *[figures.get(code.name, "–") for code in codes]]
        for row, (goal, figures) in SUMMARY.items()
    ]
    emit(table(["figure", "goal", *[code.name for code in codes]], rows))
    emit()
