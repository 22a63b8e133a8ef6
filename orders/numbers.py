"""Order numbers as people write them in a conversation: HG-10042, hg 10042, HG10042.

The console lists the orders a conversation mentions (the handoff packet, the order panel). Only
numbers written with the shop's HG prefix count here: a bare five-digit number in free text is as
likely a ZIP code, and the agent must not be shown someone's order because a customer typed their
postal code. (The assistant's order form, which has just asked for an order number, also takes a
bare one: actions/parsing.py.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ORDER_PREFIX = "HG-"
_PREFIXED = re.compile(r"\bhg[- ]?(\d{5})\b", re.IGNORECASE)
_CANONICAL = re.compile(r"HG-\d{5}")


def order_numbers_in(texts: Iterable[str]) -> list[str]:
    """The order numbers the texts mention, canonical (HG-10042), each once, first seen first."""
    found: dict[str, None] = {}
    for text in texts:
        for digits in _PREFIXED.findall(text):
            found[f"{ORDER_PREFIX}{digits}"] = None
    return list(found)


def is_order_number(value: str) -> bool:
    """Whether `value` is an order number in its canonical form (what the console API takes)."""
    return _CANONICAL.fullmatch(value) is not None
