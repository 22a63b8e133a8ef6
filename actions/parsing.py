"""Pure parsing of what customers type: order numbers, proof of identity, button titles.

Nothing here touches Rasa, the order store or the network, so every rule about the shape of
customer input is in one place and unit-tested directly (tests/rasa/test_parsing.py). The one
rule shared with the handoff service, masking personal data, is vocabulary.pii.mask
(tests/vocabulary/test_contract.py).

    find_order_number("where is hg 10042?")         -> "HG-10042"
    parse_verification("it's Nora@Example.com")     -> Verification("email", "nora@example.com")
    parse_verification("08612")                     -> Verification("postal_code", "08612")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ORDER_PREFIX = "HG-"

# HG-10042, hg 10042, hg-10042, HG10042 or a bare 10042. The same shape as the order_number regex
# in data/nlu/order_status.yml; the word boundaries keep 6-digit numbers and card numbers out.
_ORDER_NUMBER = re.compile(r"\b(?:hg[- ]?)?(\d{5})\b", re.IGNORECASE)
_ORDER_NUMBER_WITH_PREFIX = re.compile(r"\bhg[- ]?(\d{5})\b", re.IGNORECASE)

# Deliberately loose: the address is compared with the stored one, not validated here. Not the
# masking pattern (vocabulary.pii.EMAIL): that one also catches typos and non-ASCII addresses
# that could never match an order's stored email, and would hand them to the comparison.
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A US ZIP (optionally ZIP+4) that is not part of an order number ("HG-10042").
_POSTAL_CODE = re.compile(r"(?<![\w-])(\d{5})(?:-\d{4})?(?![\w-])")


def normalize_order_number(raw: str) -> str | None:
    """Return the canonical `HG-` + 5 digits form of `raw`, or None if it is not an order number.

    Accepts exactly one order number with nothing else around it but spaces and punctuation:
    "HG-10042", "hg 10042", "hg-10042", "HG10042", "10042", "#10042".
    """
    candidate = raw.strip().strip("#?.!,;:()[]\"'").strip()
    match = _ORDER_NUMBER.fullmatch(candidate)
    if not match:
        return None
    return f"{ORDER_PREFIX}{match.group(1)}"


def find_order_number(text: str) -> str | None:
    """Find the order number in a customer message and return it canonical, or None.

    A number written with the HG prefix wins over a bare 5-digit number, so
    "HG-10042, zip 94110" means order HG-10042. A message with two different bare numbers is
    ambiguous and gives None: the form then asks again rather than guessing.
    """
    prefixed = {f"{ORDER_PREFIX}{m}" for m in _ORDER_NUMBER_WITH_PREFIX.findall(text)}
    if len(prefixed) == 1:
        return prefixed.pop()
    if prefixed:
        return None
    bare = {f"{ORDER_PREFIX}{m}" for m in _ORDER_NUMBER.findall(text)}
    if len(bare) == 1:
        return bare.pop()
    return None


@dataclass(frozen=True)
class Verification:
    """What the customer gave to prove the order is theirs, normalised for comparison."""

    kind: Literal["email", "postal_code"]
    value: str

    def matches(self, email: str, postal_code: str) -> bool:
        """True if this proof matches the order's email (any case) or postal code (exactly)."""
        if self.kind == "email":
            return self.value == email.strip().lower()
        return self.value == postal_code.strip()


def parse_verification(text: str) -> Verification | None:
    """Read an email address or a postal code from the customer's answer.

    Asked for "the email address or postal code on the order", a 5-digit answer is a postal code,
    never an order number. An email wins when both appear. Returns None when the answer holds
    neither (or two different postal codes), so the form can explain and ask again.
    """
    email = _EMAIL.search(text)
    if email:
        return Verification("email", email.group(0).strip(".").lower())
    # "hg 10042" holds five digits too, but they belong to the order number.
    codes = set(_POSTAL_CODE.findall(_ORDER_NUMBER_WITH_PREFIX.sub(" ", text)))
    if len(codes) == 1:
        return Verification("postal_code", codes.pop())
    return None


_QUESTION_WORDS = frozenset(
    {"how", "what", "when", "where", "why", "who", "which", "can", "could", "do", "does", "did",
     "is", "are", "will", "would", "should", "may"}
)  # fmt: skip


def topic_title(question: str) -> str:
    """Turn a FAQ topic's canonical question into a button title.

    "how long does shipping take" -> "How long does shipping take?";
    "i forgot my password" -> "I forgot my password". Only questions get a question mark.
    """
    words = question.strip().rstrip("?").split()
    if not words:
        return ""
    words = ["I" if word == "i" else word for word in words]
    first = words[0]
    title = " ".join([first[:1].upper() + first[1:], *words[1:]])
    return f"{title}?" if first.lower() in _QUESTION_WORDS else title
