"""The verified-order notice: the assistant tells the handoff service which order a customer has
just proved is theirs.

`action_check_order` (actions/order_status.py) sends it as a custom message of its own, after its
answer, each time the customer's proof matched an order:

    {"verified_order": {"order_number": "HG-10042"}}

Only the order number travels, never the email or postal code the customer proved it with: the
service looks the order up in the shop's order store itself (handoff/queue/context.py). The
service's bot turn (handoff/assistant/turns.py) never shows the message to the customer; it
records on the conversation who the customer is, so a chat the assistant answers on its own knows
its customer as well as one handed to a person does.

`verified_message` builds it (the assistant's side); `read_verified_message` reads one from an
untrusted custom payload (the service's side).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

# The key of the custom message that marks it as the notice.
VERIFIED_KEY = "verified_order"
# Longer is no order number of any shop; it only keeps an unexpected essay out of the log.
MAX_ORDER_NUMBER_CHARS = 64


class VerifiedOrder(TypedDict):
    """The value under "verified_order": the order, nothing of the proof."""

    order_number: str


class VerifiedMessage(TypedDict):
    """The whole custom message: `dispatcher.utter_message(json_message=...)`."""

    verified_order: VerifiedOrder


class InvalidVerifiedNotice(ValueError):
    """A custom message is marked as the notice but breaks the contract; the text says how."""


def verified_message(order_number: str) -> VerifiedMessage:
    """The notice for `order_number`, checked as the service reads it (a ValueError here is a bug
    in the assistant, better found by its tests than by a customer nobody recognises)."""
    message: VerifiedMessage = {"verified_order": {"order_number": order_number}}
    read_verified_message(message)
    return message


def read_verified_message(custom: object) -> str | None:
    """The order number in a notice from the assistant; None when the custom message is no notice
    (not a JSON object, or no "verified_order" key). Raises InvalidVerifiedNotice when it is one
    but names no order. Anything beside the order number is ignored, never passed on."""
    if not isinstance(custom, Mapping) or VERIFIED_KEY not in custom:
        return None
    value = custom[VERIFIED_KEY]
    number = value.get("order_number") if isinstance(value, Mapping) else None
    if not isinstance(number, str) or not number.strip():
        raise InvalidVerifiedNotice("the notice names no order number")
    if len(number) > MAX_ORDER_NUMBER_CHARS:
        raise InvalidVerifiedNotice(f"the order number is over {MAX_ORDER_NUMBER_CHARS} characters")
    return number.strip()
