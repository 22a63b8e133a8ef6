"""Order status: the verification form and the lookup.

    order_status_form   asks for order_number, then order_verification (email OR postal code)
      validate_order_status_form   normalises both, explains the expected format on bad input
      action_ask_order_number / action_ask_order_verification   the form's two questions
    action_check_order  looks the order up and answers by its state, or says the one neutral
                        "couldn't match" for an unknown order and a wrong email/postal code alike

Slots it sets (declared in domain.yml):
    verified_order_number, order_state   after a match; the handoff packet reads them
    verification_failures                +1 per failed match; at 3 the lookup is closed:
    order_lookup_blocked                 rules then route order questions here, to offer a person
    handoff_offered, handoff_reason      set on every run: an offer (delayed order, 3 failures,
                                         store down) or None, so an old offer never lingers
The proof the customer typed (order_verification) is cleared as soon as it has been compared.

After a match the answer is followed by the verified-order notice (vocabulary/verification.py),
a custom message naming the order and never the proof: the handoff service records who the
customer is from it, whether or not the chat ever reaches a person.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.handoff import ORDER_LOOKUP_UNAVAILABLE
from actions.parsing import find_order_number, parse_verification
from orders.store import OrderStore, OrderStoreUnavailable
from vocabulary.reasons import ORDER_DELAYED, VERIFICATION_FAILED
from vocabulary.verification import verified_message

logger = logging.getLogger(__name__)

MAX_FAILED_VERIFICATIONS = 3


class ValidateOrderStatusForm(FormValidationAction):
    """Turns the customer's answers into a canonical order number and a comparable proof."""

    def name(self) -> str:
        return "validate_order_status_form"

    def validate_order_number(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_number = find_order_number(str(value or ""))
        if order_number is None:
            dispatcher.utter_message(text=replies.INVALID_ORDER_NUMBER)
        return {"order_number": order_number}

    def validate_order_verification(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        verification = parse_verification(str(value or ""))
        if verification is None:
            dispatcher.utter_message(text=replies.INVALID_VERIFICATION)
            return {"order_verification": None}
        return {"order_verification": verification.value}


class ActionAskOrderNumber(Action):
    """The form's first question."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=replies.ASK_ORDER_NUMBER)
        return []


class ActionAskOrderVerification(Action):
    """The form's second question: one question for either proof."""

    def name(self) -> str:
        return "action_ask_order_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=replies.ASK_VERIFICATION)
        return []


def _offer(reason: str | None) -> list[EventType]:
    return [SlotSet("handoff_offered", True if reason else None), SlotSet("handoff_reason", reason)]


def _forget_request() -> list[EventType]:
    # The next "where is my order?" starts over with both questions.
    return [SlotSet("order_number", None), SlotSet("order_verification", None)]


class ActionCheckOrder(Action):
    """Look up the order the form collected and answer the verified customer."""

    def __init__(self, store: OrderStore | None = None) -> None:
        # The action server builds actions without arguments: the store then comes from the
        # environment on the first lookup, not at import. Tests pass their own store.
        self._store = store

    def name(self) -> str:
        return "action_check_order"

    def _order_store(self) -> OrderStore:
        if self._store is None:
            self._store = OrderStore.from_env()
        return self._store

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        failures = int(tracker.get_slot("verification_failures") or 0)
        if tracker.get_slot("order_lookup_blocked") or failures >= MAX_FAILED_VERIFICATIONS:
            dispatcher.utter_message(text=replies.LOOKUP_BLOCKED, buttons=replies.OFFER_BUTTONS)
            return [*_forget_request(), *_offer(VERIFICATION_FAILED)]

        order_number = find_order_number(str(tracker.get_slot("order_number") or ""))
        proof = parse_verification(str(tracker.get_slot("order_verification") or ""))
        if order_number is None or proof is None:
            # Only reachable if the form was bypassed; ask again without counting a failure.
            dispatcher.utter_message(text=replies.NO_MATCH_TRY_AGAIN)
            return [*_forget_request(), *_offer(None)]

        try:
            order = await self._order_store().find_async(order_number)
        except (OrderStoreUnavailable, ValueError):
            # ValueError: a malformed ORDERS_DB_TIMEOUT_SECONDS; the operator sees it in the log,
            # the customer gets the same apology as for a database that is down.
            logger.exception("order lookup failed")
            dispatcher.utter_message(text=replies.STORE_UNAVAILABLE, buttons=replies.OFFER_BUTTONS)
            return [*_forget_request(), *_offer(ORDER_LOOKUP_UNAVAILABLE)]

        if order is None or not proof.matches(order.email, order.postal_code):
            failures += 1
            events: list[EventType] = [
                *_forget_request(),
                SlotSet("verification_failures", float(failures)),
            ]
            if failures >= MAX_FAILED_VERIFICATIONS:
                dispatcher.utter_message(text=replies.NO_MATCH_STOP, buttons=replies.OFFER_BUTTONS)
                blocked = SlotSet("order_lookup_blocked", True)
                return [*events, blocked, *_offer(VERIFICATION_FAILED)]
            dispatcher.utter_message(text=replies.NO_MATCH_TRY_AGAIN)
            return [*events, *_offer(None)]

        delayed = order.state == "delayed"
        if delayed:
            dispatcher.utter_message(
                text=replies.order_status_reply(order), buttons=replies.OFFER_BUTTONS
            )
        else:
            dispatcher.utter_message(text=replies.order_status_reply(order))
        # For the service only (it never shows it): the order, not the email or postal code.
        dispatcher.utter_message(json_message=dict(verified_message(order.order_number)))
        return [
            *_forget_request(),
            SlotSet("verified_order_number", order.order_number),
            SlotSet("order_state", order.state),
            *_offer(ORDER_DELAYED if delayed else None),
        ]
