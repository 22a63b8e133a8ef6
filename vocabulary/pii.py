"""Masking of personal data wherever a customer's words leave the conversation for other eyes:
the handoff summary an agent reads, the packet in the queue, the messages kept for editors, logs.

One `mask` for the assistant (actions/) and the handoff service (handoff/). Each used to have
its own patterns, and each masked things the other let through; these patterns mask the union
of both, with one exception on purpose (ISO dates, below).

    mask("write to nora.silva53@example.com")        -> "write to [email]"
    mask("card 4111 1111 1111 1111 declined")        -> "card [card number] declined"
    mask("call me on +1 (555) 123-4567")             -> "call me on [phone]"
    mask("order HG-10042 ships 2026-11-26")          -> unchanged: order facts are not personal

Order numbers (HG-10042, 5 digits), ISO dates and tracking codes (UP7713212391) survive: an
agent needs them, and they say nothing about who the customer is. Masking is idempotent (the
placeholders hold no digit and no @), so text masked on one side can be masked again.
"""

from __future__ import annotations

import re

EMAIL_PLACEHOLDER = "[email]"
CARD_NUMBER_PLACEHOLDER = "[card number]"
PHONE_PLACEHOLDER = "[phone]"

# Loose on purpose: a mask must catch what customers type, not what RFC 5322 allows.
# - local part: word characters (Unicode, so "jösé@…") and . + - as the service had them, plus
#   % and ' as the assistant had them ("o'brien@…");
# - domain: labels joined by dots, at least one dot, a last label of word characters or dashes.
#   An empty label is allowed, so typos such as "nora@example..com" or "a@.example.com" (which
#   the assistant's pattern masked) are masked too. A trailing full stop is left outside
#   ("write to a@b.co." -> "write to [email].").
# - it starts only where a run of local-part characters starts: trying every position inside a
#   long run would cost quadratic time on a message with a long word and no address.
EMAIL = re.compile(r"(?<![\w.%+'-])[\w.%+'-]+@(?:[\w-]*\.)+[\w-]+")

# Payment card numbers: 13 to 19 digits (the lengths of card numbers), each optionally
# followed by one space or dash, as cards print them in groups or people type them. The word
# boundaries keep digits that are part of a longer code (a tracking number) out. Both old
# pattern sets had exactly this one. Masked before phones: a 16-digit card would also fit the
# phone pattern, and "[card number]" tells the agent what the customer tried to share.
CARD_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")

# Phone numbers, in any country's writing: digits with spaces, dots, dashes and brackets.
# - Any whitespace separates, as in the assistant's pattern: no-break spaces are how word
#   processors and some countries' conventions group digits ("555\u00a0123\u00a04567").
# - Starts with "+" (a country code), "(" (an area code in brackets) or a digit. The service's
#   pattern could not start at "(" and left it readable: "([phone]".
# - At least 9 characters from the first digit to the last (the service's rule: 8 digits with
#   one separator, "555 12345", up to "+1 (555) 123-4567"), or 8 digits in a row with nothing
#   between them (the assistant's rule: "55512345"). 7-character local numbers ("555-1234") were
#   masked by neither and are not now: at that length too many order facts look alike (prices
#   "1 299.99", short dates "26.11.26").
# - Left edge: not inside a word (tracking code "UP7713212391" survives), not right after a
#   digit and a dash ("2026-11-26" never loses its tail) and not after the order prefix "HG-"
#   ("HG-10042 12345" keeps its order number). After another dash a phone may start: the
#   assistant masked "tel-555-123-4567", the service let it through.
# - Right edge: not followed by a word character. A dash may follow ("555-123-4567-thanks"):
#   the assistant masked that, the service did not.
# - ISO dates ("2026-11-26") are the exception to the union: the service's pattern masked them
#   as phones, the assistant's did not, and its test says order dates must survive. The order
#   store writes dates this way and an agent needs them; a birth date typed "12.03.1985" is
#   still masked, as the service masked it.
# - ZIP+4 codes ("94110-1234") are masked as [phone], as both did (whatever the assistant's
#   comment said): a postal code is one of the proofs of identity (actions/parsing.py), so
#   hiding it is right even if the label is not. Two bare order numbers written as one run
#   ("10042 10043") are masked too, as the service did; the assistant writes order numbers with
#   the HG- prefix, which stops the match.
PHONE_NUMBER = re.compile(
    r"(?<!\w)(?<!\d-)(?!(?<=[Hh][Gg]-)\d{5}(?!\d))"  # left edge, see above
    r"(?!\d{4}-\d{2}-\d{2}(?!\w))"  # not an ISO date
    r"[+(]?\d(?:[\d\s().-]{7,}|\d{6})\d"  # 9+ characters, or 8 digits in a row
    r"(?!\w)"  # right edge
)


def mask(text: str) -> str:
    """Replace email addresses, card numbers and phone numbers with placeholders."""
    # Emails first: an address may hold digits ("nora.silva53@…") a phone or card pattern would
    # otherwise cut out of it, leaving half an address readable.
    masked = EMAIL.sub(EMAIL_PLACEHOLDER, text)
    masked = CARD_NUMBER.sub(CARD_NUMBER_PLACEHOLDER, masked)
    return PHONE_NUMBER.sub(PHONE_PLACEHOLDER, masked)
