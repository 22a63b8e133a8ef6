"""What the assistant does when it is not sure what the customer meant.

    first miss            "Could you rephrase that, or did you mean one of these?"
                          + the 2-3 likeliest topics of the same message as quick replies
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

ACTION_NAME = "action_faq_rephrase"
RETRIEVAL_INTENT = "faq"
NLU_FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3
MIN_SUGGESTIONS = 2
# Below this share of the probability a topic is noise, unless it is needed to reach 2 buttons.
MIN_SUGGESTION_SCORE = 0.05

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


def likely_requests(latest_message: Mapping[str, Any]) -> list[tuple[float, str]]:
    """Candidate meanings of the message, best first, as (probability, FAQ key or intent).

    An FAQ key scores P(faq) * P(key | faq), so topics and other requests compare on one scale.
    """
    intent_ranking = latest_message.get("intent_ranking") or []
    confidences = {
        str(entry.get("name")): float(entry.get("confidence") or 0.0) for entry in intent_ranking
    }
    candidates: list[tuple[float, str]] = []
    selector = (latest_message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    faq_probability = confidences.get(RETRIEVAL_INTENT, 0.0)
    for entry in selector.get("ranking") or []:
        key = str(entry.get("intent_response_key", ""))
        if key.startswith(f"{RETRIEVAL_INTENT}/"):
            score = faq_probability * float(entry.get("confidence") or 0.0)
            candidates.append((score, key))
    for intent in _REQUEST_BUTTONS:
        if intent in confidences:
            candidates.append((confidences[intent], intent))
    return sorted(candidates, key=lambda candidate: candidate[0], reverse=True)


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
                text=replies.SECOND_MISS_OFFER, buttons=list(replies.OFFER_BUTTONS)
            )
            return [
                *revert,
                SlotSet("handoff_offered", True),
                SlotSet("handoff_reason", "bot_fallback"),
            ]

        buttons = self.suggestion_buttons(tracker.latest_message or {})
        if buttons:
            dispatcher.utter_message(text=replies.REPHRASE_WITH_TOPICS, buttons=buttons)
        else:
            dispatcher.utter_message(text=replies.REPHRASE)
        # Always cleared, so a "yes" to a later question can never accept an old offer.
        return [*revert, SlotSet("handoff_offered", None), SlotSet("handoff_reason", None)]

    def suggestion_buttons(self, latest_message: Mapping[str, Any]) -> list[dict[str, str]]:
        """Quick replies for the 2-3 likeliest meanings of the message."""
        ranked = likely_requests(latest_message)[:MAX_SUGGESTIONS]
        kept = [
            candidate
            for position, candidate in enumerate(ranked)
            if position < MIN_SUGGESTIONS or candidate[0] >= MIN_SUGGESTION_SCORE
        ]
        buttons = []
        for _, name in kept:
            if name in _REQUEST_BUTTONS:
                title, payload = _REQUEST_BUTTONS[name]
            else:
                topic = self._catalogue.topic(name.split("/", 1)[1])
                title, payload = topic.title, topic.payload
            buttons.append({"title": title, "payload": payload})
        return buttons
