"""What the custom actions say, in one place, as plain functions of their inputs.

Fixed replies live in domain.yml; these are the ones built from an order or a count, kept here
(not as domain responses) because Rasa's validator flags responses that no rule or story uses.
The wording follows shared/shop/policies.md: one state, one short answer.
"""

from __future__ import annotations

from typing import Any

from orders.dates import weekday_text
from orders.store import Order

ASK_ORDER_NUMBER = (
    "What's your order number? It looks like HG-10042 and is in your order confirmation email."
)
INVALID_ORDER_NUMBER = (
    "Hmm, that doesn't look like an order number. Order numbers are HG- followed by 5 digits, "
    "like HG-10042."
)
ASK_VERIFICATION = (
    "Thanks! To keep your order private, please tell me the email address or postal code "
    "on the order."
)
INVALID_VERIFICATION = (
    "I need the email address or the 5-digit postal code that's on the order, for example "
    "name@example.com or 94110."
)
# The one answer for an unknown order number and for a wrong email or postal code: it must not
# tell a stranger that an order exists.
NO_MATCH = "I couldn't match those details to an order."
NO_MATCH_TRY_AGAIN = (
    f"{NO_MATCH} Please check the order number (HG- followed by 5 digits, in your confirmation "
    "email) and the email address or postal code, then send me the order number again."
)
NO_MATCH_STOP = (
    f"{NO_MATCH} For your security I can't check any more orders in this chat. Would you like "
    "me to connect you with a person from our team?"
)
LOOKUP_BLOCKED = (
    "For your security I can't check any more orders in this chat after several unsuccessful "
    "attempts. Would you like me to connect you with a person from our team?"
)
STORE_UNAVAILABLE = (
    "Sorry, I can't reach our order system right now. Would you like me to connect you with a "
    "person from our team who can check your order?"
)
DELAYED_OFFER = "Would you like me to connect you with a person from our team about it?"

REPHRASE = "Sorry, I'm not sure I understood. Could you rephrase that?"
REPHRASE_WITH_TOPICS = (
    "Sorry, I'm not sure I understood. Could you rephrase that, or did you mean one of these?"
)
SECOND_MISS_OFFER = (
    "Sorry, I still didn't catch that. Would you like me to connect you with a person from our "
    "team?"
)

HANDOFF_CONNECTING = (
    "I'm connecting you with a person from our team now. They'll see this conversation, so you "
    "won't need to repeat yourself."
)
HANDOFF_DECLINED = "No problem. Is there anything else I can help you with?"

# Quick replies for an offer of a person. Intent payloads ("/affirm") skip the NLU, so a tap is
# understood exactly, and the handoff keeps the reason of the offer rather than "human_request".
OFFER_BUTTONS: list[dict[str, Any]] = [
    {"title": "Talk to a person", "payload": "/affirm"},
    {"title": "No thanks", "payload": "/deny"},
]


def _tracking(order: Order) -> str:
    if order.carrier and order.tracking_number:
        return f"{order.carrier}, tracking number {order.tracking_number}"
    return order.carrier or "the carrier"


def _refund(order: Order) -> str:
    status = (order.refund_status or "").strip().lower()
    if status == "refunded":
        return "Your refund has been issued; your bank may take 3–10 business days to show it."
    if status in {"refund pending", "pending"}:
        return (
            "Your refund is being processed and is issued within 5 business days; your bank may "
            "take another 3–10 days to show it."
        )
    return "I don't have a refund update yet; our team will email you as soon as it's issued."


def order_status_reply(order: Order) -> str:
    """The answer for a verified order, fitted to its state (policies.md, "Order states")."""
    number = order.order_number
    state = order.state
    if state == "placed":
        return (
            f"Order {number} has been received and the payment is confirmed. It hasn't been "
            "picked at our warehouse yet; you'll get a tracking link by email when it ships."
        )
    if state == "processing":
        return (
            f"Order {number} is being packed at our warehouse. You'll get a tracking link by "
            "email as soon as it ships."
        )
    if state == "shipped":
        estimate = (
            f" Estimated delivery: {weekday_text(order.estimated_delivery)}."
            if order.estimated_delivery
            else ""
        )
        return f"Order {number} has shipped with {_tracking(order)}.{estimate}"
    if state == "out_for_delivery":
        return f"Order {number} is out for delivery today with {_tracking(order)}."
    if state == "delivered":
        when = f" on {weekday_text(order.delivered_at)}" if order.delivered_at else ""
        return f"Order {number} was delivered{when}."
    if state == "delayed":
        estimate = (
            f"The new estimated delivery date is {weekday_text(order.estimated_delivery)}."
            if order.estimated_delivery
            else "We don't have a new delivery estimate yet."
        )
        return (
            f"I'm sorry, order {number} is delayed: the carrier reported a problem in transit "
            f"({_tracking(order)}). {estimate} {DELAYED_OFFER}"
        )
    if state == "cancelled":
        return f"Order {number} was cancelled. {_refund(order)}"
    if state == "returned":
        return f"We've received your return for order {number}. {_refund(order)}"
    # A state added to the database before this module learnt it: say it plainly, not wrongly.
    return f"The status of order {number} is: {state.replace('_', ' ')}."
