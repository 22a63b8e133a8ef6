"""Handing the conversation to a person, and the packet the handoff service reads.

action_handoff tells the customer they are being connected and sends exactly one custom payload,
the contract with handoff/: `{"handoff": {"reason", "summary", "intents", "slots"}}`. Its type,
its rules and its builder are in vocabulary/payload.py, shared with the service that reads it,
and the reasons are in vocabulary/reasons.py.

`slots` carries an order only once the customer proved it is theirs, and never the email or
postal code they proved it with; the summary is built from intents and verified facts, never
from the customer's own words, and is masked anyway in case that ever changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from vocabulary.payload import (
    MAX_INTENTS,
    HandoffMessage,
    HandoffSlots,
    IntentTurn,
    handoff_message,
)
from vocabulary.pii import mask
from vocabulary.reasons import (
    ASSISTANT_REASONS,
    BOT_FALLBACK,
    HUMAN_REQUEST,
    ORDER_DELAYED,
    VERIFICATION_FAILED,
)

# Offered because the order store could not answer. An offer reason of the assistant alone: to
# the handoff service this is the assistant failing to help, so it travels as bot_fallback (see
# vocabulary/reasons.py for why it has no reason of its own); the summary says what happened.
ORDER_LOOKUP_UNAVAILABLE = "order_lookup_unavailable"

# The reason each offer travels as; every other name, an unexpected handoff_reason slot value
# among them, travels as a plain request for a person.
_PACKET_REASON = {
    **{reason: reason for reason in ASSISTANT_REASONS},
    ORDER_LOOKUP_UNAVAILABLE: BOT_FALLBACK,
}
# Actions that may offer a person (they set handoff_offered and handoff_reason).
OFFERING_ACTIONS = frozenset({"action_faq_rephrase", "action_check_order"})
RETRIEVAL_INTENT = "faq"
# Turns that say nothing about what the customer needs; left out of the summary's topics.
_NOT_A_TOPIC = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "inform", "bot_challenge",
     "ask_capabilities", "request_human", "out_of_scope", "nlu_fallback"}
)  # fmt: skip


def turn_intent_name(parse_data: Mapping[str, Any]) -> str | None:
    """The intent of one user turn, with the FAQ key for FAQs ("faq/shipping_time")."""
    intent = parse_data.get("intent") or {}
    name = intent.get("name")
    if not name:
        return None
    if name == RETRIEVAL_INTENT:
        selector = (parse_data.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        if key:
            return str(key)
    return str(name)


def recent_intents(
    events: Sequence[Mapping[str, Any]], limit: int = MAX_INTENTS
) -> list[IntentTurn]:
    """Name and confidence of the last `limit` user turns, oldest first."""
    turns: list[IntentTurn] = []
    for event in events:
        if event.get("event") != "user":
            continue
        parse_data = event.get("parse_data") or {}
        name = turn_intent_name(parse_data)
        if name is None:
            continue
        confidence = float((parse_data.get("intent") or {}).get("confidence") or 0.0)
        turns.append({"name": name, "confidence": round(confidence, 2)})
    return turns[-limit:]


def _topics(intents: Sequence[Mapping[str, Any]]) -> list[str]:
    topics: list[str] = []
    for turn in intents:
        name = str(turn["name"])
        if name in _NOT_A_TOPIC:
            continue
        topic = name.split("/", 1)[-1].replace("_", " ")
        if name == "check_order_status":
            topic = "order status"
        if topic not in topics:
            topics.append(topic)
    return topics


def handoff_summary(
    reason: str, intents: Sequence[Mapping[str, Any]], verified: Mapping[str, Any]
) -> str:
    """One line for the agent: why the customer is here and what they asked about."""
    order = verified.get("order_number")
    state = str(verified.get("order_state") or "").replace("_", " ")
    if reason == ORDER_DELAYED and order:
        line = f"Verified order {order} is delayed; the customer accepted a person."
    elif reason == VERIFICATION_FAILED:
        line = (
            "Order lookup stopped after 3 failed verifications; the customer accepted a person. "
            "No order details were shared."
        )
    elif reason == ORDER_LOOKUP_UNAVAILABLE:
        line = (
            "The order system could not be reached during a lookup; the customer accepted a person."
        )
    elif reason == BOT_FALLBACK:
        line = (
            "The assistant did not understand the customer twice in a row; they accepted a person."
        )
    else:
        line = "Customer asked for a person."
    topics = _topics(intents)
    if topics:
        line += f" Topics: {', '.join(topics)}."
    if order and reason != ORDER_DELAYED:
        line += f" Verified order {order} ({state})."
    return mask(line)


def verified_order_slots(tracker: Tracker) -> HandoffSlots:
    """The packet's `slots`: a verified order number and state, or just order_verified=False."""
    order_number = tracker.get_slot("verified_order_number")
    if not order_number:
        return {"order_verified": False}
    return {
        "order_number": order_number,
        "order_verified": True,
        "order_state": tracker.get_slot("order_state"),
    }


def handoff_reason(tracker: Tracker) -> str:
    """The reason of the offer the customer just took up, else an explicit request.

    Taking up an offer is a "yes" or asking for a person right after it; either way the agent
    should know the offer's reason (a delayed order) rather than a bare "human_request".
    """
    latest_intent = (tracker.latest_message or {}).get("intent", {}).get("name")
    offered_reason = tracker.get_slot("handoff_reason")
    accepted = latest_intent in {"affirm", "request_human"}
    offered = tracker.get_slot("handoff_offered") and _offered_just_before(tracker.events)
    if offered and accepted and offered_reason:
        return str(offered_reason)
    return HUMAN_REQUEST


def _offered_just_before(events: Sequence[Mapping[str, Any]]) -> bool:
    """True if the assistant's last action before the latest message was one that offers."""
    seen_latest_user_message = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user_message:
                return False
            seen_latest_user_message = True
        elif kind == "action" and seen_latest_user_message and event.get("name") != "action_listen":
            return event.get("name") in OFFERING_ACTIONS
    return False


def build_handoff_packet(tracker: Tracker) -> HandoffMessage:
    """The `{"handoff": {...}}` payload for this conversation."""
    reason = handoff_reason(tracker)
    intents = recent_intents(tracker.events)
    slots = verified_order_slots(tracker)
    return handoff_message(
        reason=_PACKET_REASON.get(reason, HUMAN_REQUEST),
        summary=handoff_summary(reason, intents, slots),
        intents=intents,
        slots=slots,
    )


class ActionHandoff(Action):
    """Tell the customer a person is coming and hand the handoff service its packet."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        packet = build_handoff_packet(tracker)
        dispatcher.utter_message(text=replies.HANDOFF_CONNECTING)
        dispatcher.utter_message(json_message=packet)
        return [SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)]


class ActionDeclineHandoff(Action):
    """The customer said no to a person: acknowledge and forget the offer."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=replies.HANDOFF_DECLINED)
        return [SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)]
