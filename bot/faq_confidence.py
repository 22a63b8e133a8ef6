"""NLU component: an FAQ answer is only as certain as its topic.

The FallbackClassifier looks at the intent's confidence alone. For FAQs that is the certainty that
a message is *some* FAQ, which the intent classifier gives generously (40 topics make `faq` a
wide class; shop-adjacent questions that are none of them land there too), while the response
selector may be torn between several topics. This component, placed after the ResponseSelector
and before the FallbackClassifier, replaces the `faq` intent's confidence with

    P(faq) x P(topic | faq)

the probability that the answer about to be given is the right one, so the one threshold in
config.yml governs FAQ answers and other intents alike. Cross-validation and the CLINC150
out-of-scope set show the effect (bot/evaluate.py, docs/assistant.md).

Only confidences change: the intent name, the chosen topic and the rankings' order stay as the
classifiers left them, so action_faq_rephrase still sees the likeliest topics.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

RETRIEVAL_INTENT_KEY = "retrieval_intent"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FaqTopicConfidence(GraphComponent, IntentClassifier):
    """Scale the retrieval intent's confidence by the response selector's topic confidence."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {RETRIEVAL_INTENT_KEY: "faq"}

    def __init__(self, config: dict[str, Any]) -> None:
        self.retrieval_intent = str(config.get(RETRIEVAL_INTENT_KEY, "faq"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqTopicConfidence:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._scale(message)
        return messages

    def _scale(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != self.retrieval_intent:
            return
        selectors = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
        response = (selectors.get(self.retrieval_intent) or {}).get("response") or {}
        topic_confidence = response.get(PREDICTED_CONFIDENCE_KEY)
        if topic_confidence is None:
            # A `/faq` shortcut message has no response selector output: nothing to scale.
            return
        scaled = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) * float(topic_confidence)
        message.set(INTENT, {**intent, PREDICTED_CONFIDENCE_KEY: scaled}, add_to_output=True)
        ranking = [
            {**entry, PREDICTED_CONFIDENCE_KEY: scaled}
            if entry.get(INTENT_NAME_KEY) == self.retrieval_intent
            else entry
            for entry in message.get(INTENT_RANKING_KEY) or []
        ]
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
