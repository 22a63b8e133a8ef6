"""Order numbers and email addresses replaced by one stand-in of each kind.

Which order number or email a customer typed says nothing about what they want, or how they
feel, but its digits and letters would, to character n-grams and to the encoder alike ("14136"
alone read like a sum; a bare email address like a request for a person). The assistant's
classifier and the triage's sentence head both see the text with stand-ins, in training and in
service. The order-number shape is the one data/nlu/order_status.yml's regex and
actions/parsing.py read.
"""

from __future__ import annotations

import re

_ORDER_NUMBER = re.compile(r"(?<![\w-])#?(?:hg[- ]?)?\d{5}\b", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_NUMBER_STAND_IN = "HG-10000"
EMAIL_STAND_IN = "name@example.com"


def with_stand_ins(text: str) -> str:
    """The text with every order number and email replaced by one stand-in of its kind."""
    return _ORDER_NUMBER.sub(ORDER_NUMBER_STAND_IN, _EMAIL.sub(EMAIL_STAND_IN, text))
