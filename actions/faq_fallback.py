"""What the assistant does when it is not sure what the customer meant.

    first miss            "Could you rephrase that, or did you mean one of these?"
                          + 2-3 quick replies: an order lookup or a person if the message
                          plausibly asked for one, then its likeliest FAQ topics
    second miss in a row  "Would you like me to connect you with a person?"
                          + Talk to a person (/affirm) / No thanks (/deny); rules in
                          data/rules/handoff.yml turn the answer into action_handoff (reason
                          bot_fallback) or action_decline_handoff

A miss is a message below the FallbackClassifier threshold (intent nlu_fallback) or a turn no
rule covers (this action is also the RulePolicy's core fallback). Whether the previous turn was a
miss is read from the tracker, so no counter slot can drift out of step with the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.faq_topics import FaqTopicCatalogue
from vocabulary.reasons import BOT_FALLBACK

ACTION_NAME = "action_faq_rephrase"
# Marks a miss for the handoff service, which records the customer's message for content
# editors (handoff/editor/unanswered.py) and strips the marker: the customer never sees it.
UNANSWERED_MARKER: dict[str, Any] = {"unanswered": {"action": ACTION_NAME}}
RETRIEVAL_INTENT = "faq"
NLU_FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3
# The two likeliest topics are always offered; a third only if it is not noise.
MIN_SUGGESTIONS = 2
MIN_TOPIC_CONFIDENCE = 0.05
# An order lookup or a person is offered first when the message plausibly asked for it.
MIN_REQUEST_CONFIDENCE = 0.2

# Non-FAQ requests worth a button when they rank high: (title, intent payload).
_REQUEST_BUTTONS: dict[str, tuple[str, str]] = {
    "check_order_status": ("Where is my order?", "/check_order_status"),
    "request_human": ("Talk to a person", "/request_human"),
}


def previous_turn_was_a_miss(events: Sequence[Mapping[str, Any]]) -> bool:
    """True if the assistant answered the customer's previous message with this action."""
    seen_latest_user_message = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user_message:
                return False
            seen_latest_user_message = True
        elif kind == "action" and seen_latest_user_message and event.get("name") == ACTION_NAME:
            return True
    return False


def likely_topics(latest_message: Mapping[str, Any]) -> list[tuple[float, str]]:
    """The response selector's FAQ topics for the message, best first, as (confidence, key).

    Ranked by P(topic | faq) alone: the intent's own confidence for `faq` is the best topic's
    (bot/nlu/component.py), so it cannot be used to compare topics with intents.
    """
    selector = (latest_message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    topics = [
        (float(entry.get("confidence") or 0.0), str(entry.get("intent_response_key", "")))
        for entry in selector.get("ranking") or []
    ]
    return sorted(
        (topic for topic in topics if topic[1].startswith(f"{RETRIEVAL_INTENT}/")),
        key=lambda topic: topic[0],
        reverse=True,
    )


def likely_request(latest_message: Mapping[str, Any]) -> str | None:
    """A non-FAQ request (order status, a person) the message plausibly was, if any."""
    confidences = {
        str(entry.get("name")): float(entry.get("confidence") or 0.0)
        for entry in latest_message.get("intent_ranking") or []
    }
    plausible = [
        (confidences[intent], intent)
        for intent in _REQUEST_BUTTONS
        if confidences.get(intent, 0.0) >= MIN_REQUEST_CONFIDENCE
    ]
    return max(plausible)[1] if plausible else None


class ActionFaqRephrase(Action):
    """Ask the customer to rephrase, with likely topics; offer a person on a second miss."""

    def __init__(self, catalogue: FaqTopicCatalogue | None = None) -> None:
        self._catalogue = catalogue or FaqTopicCatalogue()

    def name(self) -> str:
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # As the RulePolicy's core fallback (no rule for this turn) the message is taken back,
        # as action_default_fallback does, so the policy can only predict listening next.
        revert: list[EventType] = []
        if (tracker.latest_message or {}).get("intent", {}).get("name") != NLU_FALLBACK_INTENT:
            revert = [UserUtteranceReverted()]

        if previous_turn_was_a_miss(tracker.events):
            dispatcher.utter_message(
                text=replies.SECOND_MISS_OFFER,
                buttons=list(replies.OFFER_BUTTONS),
                json_message=dict(UNANSWERED_MARKER),
            )
            return [
                *revert,
                SlotSet("handoff_offered", True),
                SlotSet("handoff_reason", BOT_FALLBACK),
            ]

        buttons = self.suggestion_buttons(tracker.latest_message or {})
        if buttons:
            dispatcher.utter_message(
                text=replies.REPHRASE_WITH_TOPICS,
                buttons=buttons,
                json_message=dict(UNANSWERED_MARKER),
            )
        else:
            dispatcher.utter_message(text=replies.REPHRASE, json_message=dict(UNANSWERED_MARKER))
        # Always cleared, so a "yes" to a later question can never accept an old offer.
        return [*revert, SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)]

    def suggestion_buttons(self, latest_message: Mapping[str, Any]) -> list[dict[str, str]]:
        """Quick replies for the 2-3 likeliest meanings: a plausible request, then FAQ topics."""
        buttons: list[dict[str, str]] = []
        request = likely_request(latest_message)
        if request:
            title, payload = _REQUEST_BUTTONS[request]
            buttons.append({"title": title, "payload": payload})
        for position, (confidence, key) in enumerate(likely_topics(latest_message)):
            if len(buttons) == MAX_SUGGESTIONS:
                break
            if position >= MIN_SUGGESTIONS and confidence < MIN_TOPIC_CONFIDENCE:
                break
            topic = self._catalogue.topic(key.split("/", 1)[1])
            buttons.append({"title": topic.title, "payload": topic.payload})
        return buttons
