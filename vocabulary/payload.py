"""The handoff payload: what the assistant tells the handoff service when it hands a customer over.

`action_handoff` (actions/handoff.py) sends exactly one custom message, and the service's bot
turn (handoff/) reads it from Rasa's reply:

    {"handoff": {
        "reason":  "human_request" | "bot_fallback" | "order_delayed" | "verification_failed",
        "summary": "Verified order HG-10042 is delayed; the customer accepted a person.",
        "intents": [{"name": "faq/shipping_time", "confidence": 0.93}, ...],  # <= 5, newest last
        "slots":   {"order_number": "HG-10042", "order_verified": true, "order_state": "delayed"}
    }}

The rules every payload keeps, whichever side builds or reads it:

- `reason` is one of ASSISTANT_REASONS: the bot may not send a triage label such as `crisis`,
  which would jump the queue.
- `summary` is one line for the agent, masked for personal data (vocabulary.pii).
- `intents` are the last MAX_INTENTS user turns, oldest first; FAQs are named `faq/<key>`.
- `slots` carry an order only once the customer proved it is theirs, and never the email or
  postal code they proved it with. The keys are an allow-list (HandoffSlots): a slot nobody
  reviewed never reaches an agent's screen.

`handoff_message` builds the message (the assistant's side); `read_handoff_message` reads one
from an untrusted custom payload (the service's side) and raises InvalidHandoffPayload when it
breaks these rules, so the service can still hand the customer over, without the details.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypedDict

from vocabulary.pii import mask
from vocabulary.reasons import ASSISTANT_REASONS

# The key of the custom message that marks it as a handoff (HandoffMessage's one field).
HANDOFF_KEY = "handoff"
# How many of the latest user turns travel: enough for an agent to see where the chat went,
# few enough to read at a glance.
MAX_INTENTS = 5
# A summary is one line; an agent's queue shows it whole. The assistant's are under 300
# characters; this bound only keeps an unexpected essay out of the queue.
MAX_SUMMARY_CHARS = 1000


class IntentTurn(TypedDict):
    """One user turn: the intent Rasa recognised and how sure it was (0..1)."""

    name: str
    confidence: float


class HandoffSlots(TypedDict, total=False):
    """What the assistant verified. All optional: a chat without an order lookup sends
    `{"order_verified": false}` (actions) or `{}` (a minimal payload)."""

    order_verified: bool
    order_number: str
    # None when the order was verified but its state slot was never set.
    order_state: str | None


class HandoffPayload(TypedDict):
    """The value under "handoff" in the assistant's custom message."""

    reason: str
    summary: str
    intents: list[IntentTurn]
    slots: HandoffSlots


class HandoffMessage(TypedDict):
    """The whole custom message: `dispatcher.utter_message(json_message=...)`."""

    handoff: HandoffPayload


class InvalidHandoffPayload(ValueError):
    """A custom message is marked as a handoff but breaks the contract; the text says how."""


def handoff_message(
    reason: str,
    summary: str,
    intents: Sequence[IntentTurn],
    slots: HandoffSlots,
) -> HandoffMessage:
    """The custom message the assistant sends to hand the customer over.

    Built by the same checks the service reads it with, so whatever the assistant sends, the
    service accepts: the summary masked, the last MAX_INTENTS intents, only verified order
    slots. Raises InvalidHandoffPayload (a ValueError) for anything the service would refuse,
    a reason it does not take above all: a bug, better found by the assistant's tests than by an
    agent missing a customer's details.
    """
    payload = {"reason": reason, "summary": summary, "intents": intents, "slots": slots}
    return {"handoff": validate_handoff_payload(payload)}


def read_handoff_message(custom: object) -> HandoffPayload | None:
    """The handoff payload in a custom message from the assistant, checked and cleaned.

    Returns None when the message is no handoff (not a JSON object, or no "handoff" key): the
    reply is something else, such as the unanswered marker. Raises InvalidHandoffPayload when it
    is one but breaks the contract. What comes back is a new dict: the summary masked again,
    only the known slots, the last MAX_INTENTS intents; nothing else from the input.
    """
    if not isinstance(custom, Mapping) or HANDOFF_KEY not in custom:
        return None
    return validate_handoff_payload(custom[HANDOFF_KEY])


def validate_handoff_payload(value: object) -> HandoffPayload:
    """Check the value under "handoff" and return the clean payload (see read_handoff_message)."""
    if not isinstance(value, Mapping):
        raise InvalidHandoffPayload(f"the handoff payload is not a JSON object: {_shown(value)}")
    missing = [key for key in HandoffPayload.__annotations__ if key not in value]
    if missing:
        raise InvalidHandoffPayload(f"the handoff payload lacks {', '.join(missing)}")
    reason = value["reason"]
    if not isinstance(reason, str) or reason not in ASSISTANT_REASONS:
        sent = ", ".join(ASSISTANT_REASONS)
        raise InvalidHandoffPayload(
            f"reason {_shown(reason)} is not one the assistant sends: {sent}"
        )
    summary = value["summary"]
    if not isinstance(summary, str):
        raise InvalidHandoffPayload(f"summary is not text: {_shown(summary)}")
    if "\n" in summary or "\r" in summary:
        raise InvalidHandoffPayload("summary is more than one line")
    if len(summary) > MAX_SUMMARY_CHARS:
        raise InvalidHandoffPayload(f"summary is longer than {MAX_SUMMARY_CHARS} characters")
    intents = value["intents"]
    # A tuple only comes from Python callers (the builder); JSON has lists.
    if not isinstance(intents, list | tuple):
        raise InvalidHandoffPayload(f"intents is not a list: {_shown(intents)}")
    slots = value["slots"]
    if not isinstance(slots, Mapping):
        raise InvalidHandoffPayload(f"slots is not a JSON object: {_shown(slots)}")
    return {
        "reason": reason,
        # The sender masks it already; an agent's screen is the wrong place to find out it
        # did not.
        "summary": mask(summary),
        "intents": [_checked_intent(turn) for turn in intents][-MAX_INTENTS:],
        "slots": _checked_slots(slots),
    }


def _checked_intent(turn: object) -> IntentTurn:
    if not isinstance(turn, Mapping):
        raise InvalidHandoffPayload(f"an intent is not a JSON object: {_shown(turn)}")
    name, confidence = turn.get("name"), turn.get("confidence")
    if not isinstance(name, str) or not name:
        raise InvalidHandoffPayload(f"an intent has no name: {_shown(turn)}")
    # bool is an int to Python, but `true` is no confidence.
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0)
    ):
        raise InvalidHandoffPayload(f"intent {name!r} has no confidence in 0..1: {_shown(turn)}")
    return {"name": name, "confidence": float(confidence)}


def _checked_slots(slots: Mapping[str, object]) -> HandoffSlots:
    """The known slots with their types checked. Anything else is dropped, not refused: an extra
    slot is no reason to lose the handoff, but it must not reach the agent unreviewed (the email
    or postal code the customer verified with, above all). An order that is not verified is
    dropped too: an agent reads an order number in the packet as "this is their order"."""
    checked: HandoffSlots = {}
    if "order_verified" in slots:
        verified = slots["order_verified"]
        if not isinstance(verified, bool):
            raise InvalidHandoffPayload(f"order_verified is not true or false: {_shown(verified)}")
        checked["order_verified"] = verified
    if not checked.get("order_verified"):
        return checked
    if "order_number" in slots:
        number = slots["order_number"]
        if not isinstance(number, str) or not number:
            raise InvalidHandoffPayload(f"order_number is not text: {_shown(number)}")
        checked["order_number"] = number
    if "order_state" in slots:
        state = slots["order_state"]
        if state is not None and not isinstance(state, str):
            raise InvalidHandoffPayload(f"order_state is not text: {_shown(state)}")
        checked["order_state"] = state
    return checked


def verified_order(slots: object) -> str | None:
    """The order number that slots (a handoff payload's or a stored packet's) say the customer
    proved is theirs; None when they say none."""
    if isinstance(slots, Mapping) and slots.get("order_verified") is True:
        number = slots.get("order_number")
        return number if isinstance(number, str) and number else None
    return None


def _shown(value: object) -> str:
    """A value for an error message: short, since it may be a whole untrusted payload."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
