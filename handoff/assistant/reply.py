"""The assistant's reply to one customer message, read: what the customer sees, and what is for
the service only.

Rasa answers a message with a list of messages (handoff/assistant/rasa.py). Those with text or
buttons are shown to the customer; three custom payloads are for the service and never shown:

- the **handoff payload** `{"handoff": {...}}` (vocabulary/payload.py): hand the chat to a
  person. One that breaks the contract still hands the customer over (the assistant promised
  them a person), as `bot_fallback` and without details the service cannot trust;
- the **verified-order notice** `{"verified_order": {"order_number"}}`
  (vocabulary/verification.py): the customer just proved this order is theirs. A broken one, or
  one naming no canonical order number, is dropped with a warning: nobody is recognised on the
  strength of it;
- the **unanswered marker** `{"unanswered": {...}}` (handoff/editor/unanswered.py): the assistant
  asked the customer to rephrase.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.assistant.rasa import BotReply
from handoff.editor import unanswered
from orders.numbers import is_order_number
from vocabulary.payload import HANDOFF_KEY, InvalidHandoffPayload, read_handoff_message
from vocabulary.reasons import BOT_FALLBACK
from vocabulary.verification import VERIFIED_KEY, InvalidVerifiedNotice, read_verified_message

log = logging.getLogger(__name__)


@dataclass
class ReadReply:
    # What the customer sees, in the assistant's order.
    shown: list[BotReply] = field(default_factory=list)
    # The handoff payload, checked (None: no handoff asked for).
    handoff: dict[str, Any] | None = None
    # The order the customer just proved is theirs (None: no notice, or a broken one).
    verified_order: str | None = None
    # The assistant asked the customer to rephrase: a question for the editors, and for the
    # handoff summary a topic the assistant did not understand (handoff/queue/summary.py).
    missed: bool = False


def read_reply(replies: Sequence[BotReply]) -> ReadReply:
    """Sort the assistant's messages into what is shown and what the service acts on."""
    read = ReadReply()
    for reply in replies:
        custom = reply.custom or {}
        if unanswered.MARKER in custom:
            # The marker comes with the text asking to rephrase, which is shown.
            read.missed = True
        if HANDOFF_KEY in custom:
            read.handoff = _handoff(custom)
        elif VERIFIED_KEY in custom:
            read.verified_order = _verified_order(custom) or read.verified_order
        elif reply.text or reply.buttons:
            read.shown.append(reply)
    return read


def _handoff(custom: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(read_handoff_message(custom) or {})
    except InvalidHandoffPayload as error:
        log.warning("handoff payload from the assistant refused: %s", error)
        return {"reason": BOT_FALLBACK}


def _verified_order(custom: dict[str, Any]) -> str | None:
    try:
        number = read_verified_message(custom)
    except InvalidVerifiedNotice as error:
        log.warning("verified-order notice from the assistant refused: %s", error)
        return None
    if number is not None and not is_order_number(number):
        # The assistant only sends its store's canonical numbers; anything else is no proof.
        log.warning("verified-order notice from the assistant names no order number")
        return None
    return number
