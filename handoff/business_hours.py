"""The live-agent team's weekly opening hours (BUSINESS_HOURS in one BUSINESS_TIMEZONE): when a
waiting customer is told the team is closed and offered to leave a message instead."""

from __future__ import annotations

from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_windows(spec: str) -> dict[int, list[tuple[int, int]]]:
    """Opening windows by weekday (0 = Monday) in minutes after midnight; ValueError if bad."""
    result: dict[int, list[tuple[int, int]]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        try:
            day_part, time_part = part.split()
            start_s, end_s = time_part.split("-")
            start = int(start_s[:2]) * 60 + int(start_s[3:5])
            end = int(end_s[:2]) * 60 + int(end_s[3:5])
            first, _, last = day_part.partition("-")
            span = range(DAYS.index(first), DAYS.index(last or first) + 1)
        except ValueError:
            raise ValueError(
                f"must look like 'mon-fri 08:00-20:00; sat 09:00-17:00' ({part!r} does not)"
            ) from None
        if not 0 <= start < end <= 24 * 60 or not span:
            raise ValueError(f"has {part!r}, which opens no time: days and hours run forwards")
        for day in span:
            result.setdefault(day, []).append((start, end))
    return result


@dataclass(frozen=True)
class BusinessHours:
    """Weekly opening hours of the live-agent team, in one time zone.

    `spec` looks like "mon-fri 08:00-20:00; sat 09:00-17:00"; an empty spec means always open.
    """

    spec: str
    timezone: str

    def windows(self) -> dict[int, list[tuple[int, int]]]:
        try:
            return parse_windows(self.spec)
        except ValueError as error:
            raise ValueError(f"BUSINESS_HOURS={self.spec!r} {error}") from None
