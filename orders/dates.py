"""Dates as customers read them about their orders, the same whatever the server's locale: the
assistant's order replies (actions/replies.py) and the widget's order notice
(handoff/gateway/proactive.py) say a date one way."""

from __future__ import annotations

from datetime import date

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def day_text(day: date) -> str:
    """ "November 26, 2026"."""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def weekday_text(day: date) -> str:
    """ "Thursday, November 26, 2026"."""
    return f"{WEEKDAYS[day.weekday()]}, {day_text(day)}"
