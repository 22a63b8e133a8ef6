"""Masking of personal data where it is not needed: logs, summaries, the handoff packet."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits with optional spaces or dashes: card-like numbers.
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# Phone numbers: optional +country code, then 9+ digits with common separators.
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d ().-]{7,}\d(?![\w-])")


def mask(text: str) -> str:
    """Replace emails, card-like and phone numbers with placeholders; order numbers survive."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card number]", text)
    return _PHONE.sub("[phone]", text)
