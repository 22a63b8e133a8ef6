"""The Rasa component that tells which intent or FAQ topic a message is (bot/nlu/classifier.py).

    pipeline:
      - name: WhitespaceTokenizer
      - name: bot.nlu.component.MessageUnderstanding
      - name: RegexEntityExtractor
      - name: FallbackClassifier

It replaces DIET (intents), the ResponseSelector (FAQ topics) and the topic-confidence gate with
one classifier over every label, where an FAQ topic is a label of its own (`faq/shipping_time`).
Its output has the shape those components gave, so rules, actions, the handoff service and
`rasa test` read it unchanged:

* `intent`: the likeliest intent; for an FAQ, `faq` with the probability of the chosen topic
  (P(faq/topic): the probability that the answer about to be given is the right one, which is
  what the FallbackClassifier's threshold should gate);
* `intent_ranking`: intents, with `faq` scored by its best topic;
* `response_selector.faq`: the chosen topic (`intent_response_key`, `utter_action`, and its
  confidence given that the message is an FAQ) and the topic ranking, which the rephrase
  buttons and the agents' suggested answers read.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

import understanding
from bot.nlu.classifier import MessageClassifier, Settings, intent_view
from understanding.encoder import load_joint
from understanding.vector_cache import VectorCache
from understanding.weights import MODELS

log = logging.getLogger(__name__)

# Rasa warns when the data has FAQ answers but no ResponseSelector in the pipeline; this
# component is what consumes them.
warnings.filterwarnings(
    "ignore", message="You have defined training data with examples for training a response"
)

MODEL_FILE = "classifier.pkl"
RANKING_LENGTH = 10


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class MessageUnderstanding(GraphComponent, IntentClassifier):
    """Intents and FAQ topics from pretrained sentence vectors and character n-grams."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        defaults = Settings()
        return {
            "retrieval_intent": "faq",
            "encoders": dict(defaults.encoders),
            "vector_weight": defaults.vector_weight,
            "regularisation": defaults.regularisation,
            "class_balance": defaults.class_balance,
            "neighbour_weight": defaults.neighbour_weight,
            "neighbour_temperature": defaults.neighbour_temperature,
            "oos_similarity": defaults.oos_similarity,
            "gate": list(defaults.gate),
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: MessageClassifier | None = None,
        responses: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self.retrieval_intent = str(self.config["retrieval_intent"])
        self._model_storage = model_storage
        self._resource = resource
        self.classifier = classifier
        self.responses = responses or {}
        self.encoder = load_joint(self.settings().encoders)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Rasa's training cache keys on config and data only; the classifier's code and the
        encoder's weights change what this component learns too."""
        digest = hashlib.sha256()
        for name in dict(config.get("encoders") or cls.get_default_config()["encoders"]):
            digest.update(MODELS[name].key.encode() if name in MODELS else name.encode())
        for folder in (Path(__file__).parent, Path(understanding.__file__).parent):
            for source in sorted(folder.glob("*.py")):
                digest.update(source.name.encode() + b"\0" + source.read_bytes())
        return digest.hexdigest()

    def settings(self) -> Settings:
        return Settings.from_config(self.config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageUnderstanding:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        texts = [str(m.get(TEXT)) for m in examples]
        labels = [m.get_full_intent() for m in examples]
        if len(set(labels)) < 2:
            log.warning("MessageUnderstanding needs at least two intents to train; skipped")
            return self._resource
        # Phrasings an earlier training encoded are read from disk (understanding/vector_cache).
        vectors = VectorCache(self.encoder)
        self.classifier = MessageClassifier.train(texts, labels, vectors.encode, self.settings())
        self.responses = dict(training_data.responses)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with (
            self._model_storage.write_to(self._resource) as directory,
            (directory / MODEL_FILE).open("wb") as handle,
        ):
            pickle.dump({"classifier": self.classifier, "responses": self.responses}, handle)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MessageUnderstanding:
        try:
            with (
                model_storage.read_from(resource) as directory,
                (directory / MODEL_FILE).open("rb") as handle,
            ):
                # The model archive is the project's own training output, as trusted as every
                # other component's; Rasa's own classifiers pickle scikit-learn too.
                saved = pickle.load(handle)  # noqa: S301
        except (ValueError, FileNotFoundError):
            log.warning("MessageUnderstanding has no trained model; it will not classify")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, saved["classifier"], saved["responses"])

    def process(self, messages: list[Message]) -> list[Message]:
        if self.classifier is None:
            return messages
        pending = [m for m in messages if m.get(TEXT)]
        if not pending:
            return messages
        scores = self.classifier.scores([str(m.get(TEXT)) for m in pending], self.encoder.encode)
        for message, score in zip(pending, scores, strict=True):
            self._annotate(message, score.probabilities)
        return messages

    def _annotate(self, message: Message, probabilities: np.ndarray) -> None:
        assert self.classifier is not None
        view = intent_view(self.classifier.labels, probabilities, self.retrieval_intent)
        ranking = view.intents[:RANKING_LENGTH]
        top_name, top_confidence = ranking[0]
        message.set(
            INTENT,
            {INTENT_NAME_KEY: top_name, PREDICTED_CONFIDENCE_KEY: top_confidence},
            add_to_output=True,
        )
        message.set(
            INTENT_RANKING_KEY,
            [{INTENT_NAME_KEY: n, PREDICTED_CONFIDENCE_KEY: c} for n, c in ranking],
            add_to_output=True,
        )
        if view.topics:
            self._select_topic(message, view.topics)

    def _select_topic(self, message: Message, topics: list[tuple[str, float]]) -> None:
        total = sum(p for _, p in topics) or 1.0
        key, joint = topics[0]
        utter_action = f"utter_{key}"
        prediction = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(utter_action, []),
                # Given that the message is an FAQ, how sure the topic is (as the
                # ResponseSelector reported it); the intent carries the joint probability.
                PREDICTED_CONFIDENCE_KEY: joint / total,
                INTENT_RESPONSE_KEY: key,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
            },
            RESPONSE_SELECTOR_RANKING_KEY: [
                {PREDICTED_CONFIDENCE_KEY: p / total, INTENT_RESPONSE_KEY: k}
                for k, p in topics[:RANKING_LENGTH]
            ],
        }
        selectors = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
        selectors[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = [self.retrieval_intent]
        selectors[self.retrieval_intent] = prediction
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)
