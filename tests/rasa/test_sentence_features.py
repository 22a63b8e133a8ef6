"""The sentence-embedding featurizer: the real all-MiniLM-L6-v2 weights, loaded as shipped.

The first run downloads the weights into the cache (`python -m bot.sentence_encoder --fetch`,
part of the setup); after that these tests run offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bot.sentence_encoder import SentenceEncoder, fetch, read_safetensors
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import RESPONSE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentence_features import SentenceEmbeddingFeaturizer, token_vectors


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(fetch())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_customers_asking_the_same_thing_are_closer_than_different_questions(
    encoder: SentenceEncoder,
) -> None:
    # (question, its paraphrase, a different customer-service question)
    triples = [
        ("how long does shipping take", "when will my parcel arrive", "can i pay with paypal"),
        ("i want my money back", "how do i get a refund", "do you ship to canada"),
        ("talk to a human please", "can i speak with a real person", "what sizes do you have"),
        ("my card was declined", "the payment did not go through", "where is your store"),
    ]
    for question, paraphrase, other in triples:
        vectors = encoder.encode([question, paraphrase, other])
        assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.15, question


def test_embeddings_are_unit_length_and_deterministic(encoder: SentenceEncoder) -> None:
    texts = ["where is my order HG-10042?", "Ça coûte combien ?", "ok", "refund " * 300]
    first = encoder.encode(texts)
    assert first.shape == (4, 384)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, encoder.encode(texts))


def test_padding_in_a_batch_does_not_change_a_sentence(encoder: SentenceEncoder) -> None:
    short = "hi"
    alone = encoder.encode([short])[0]
    beside_a_long_one = encoder.encode([short, "a much longer message " * 10], batch_size=8)[0]
    assert np.allclose(alone, beside_a_long_one, atol=1e-5)


def test_wordpiece_splits_as_bert_uncased(encoder: SentenceEncoder) -> None:
    tokenizer = encoder.tokenizer
    assert tokenizer.words("Héllo, where's my ORDER HG-10042?") == [
        "hello", ",", "where", "'", "s", "my", "order", "hg", "-", "10042", "?",
    ]  # fmt: skip
    vocab = {index: word for word, index in tokenizer.ids.items()}
    assert [vocab[i] for i in tokenizer.encode("unaffable")] == ["una", "##ffa", "##ble"]
    assert [vocab[i] for i in tokenizer.encode("shipping")] == ["shipping"]
    assert tokenizer.encode("\u2603\u2603") == [tokenizer.unknown]


def test_safetensors_reader_reads_what_the_format_describes(tmp_path: Path) -> None:
    weights = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.array([0.5, -1.0], dtype=np.float32)
    header = {
        "__metadata__": {"format": "pt"},
        "bert.dense.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "dense.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]},
    }
    encoded = json.dumps(header).encode()
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(
        len(encoded).to_bytes(8, "little") + encoded + weights.tobytes() + bias.tobytes()
    )
    tensors = read_safetensors(path)
    assert set(tensors) == {"dense.weight", "dense.bias"}
    assert np.array_equal(tensors["dense.weight"], weights)
    assert np.array_equal(tensors["dense.bias"], bias)


def test_a_token_gets_the_mean_of_its_pieces() -> None:
    pieces = np.array([[1.0, 1.0], [3.0, 5.0], [7.0, 7.0]], dtype=np.float32)
    rows = token_vectors([[10, 11], [], [12]], pieces, 2)
    assert rows.tolist() == [[2.0, 3.0], [0.0, 0.0], [7.0, 7.0]]
    # Pieces cut off at the model's maximum length leave their tokens at zero.
    assert token_vectors([[1], [2]], pieces[:1], 2).tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_the_featurizer_gives_diet_sentence_and_token_features() -> None:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), "alias": "minilm"}, "minilm"
    )
    question = Message(data={TEXT: "When will my parcel arrive?", "intent": "faq"})
    answer = Message(data={TEXT: "hi", RESPONSE: "Orders ship within two days.", "intent": "x"})
    data = TrainingData(training_examples=[question, answer])
    tokenizer.process_training_data(data)
    featurizer.process_training_data(data)

    sequence, sentence = question.get_dense_features(TEXT)
    assert sequence is not None and sentence is not None
    tokens = question.get(TOKENS_NAMES[TEXT])
    assert sequence.features.shape == (len(tokens), 384)
    assert sentence.features.shape == (1, 384)
    assert np.isclose(np.linalg.norm(sentence.features), 1.0, atol=1e-5)
    response_sequence, response_sentence = answer.get_dense_features(RESPONSE)
    assert response_sequence is not None and response_sentence is not None

    # At serving time a single message gets the same features as in training.
    again = Message(data={TEXT: "When will my parcel arrive?"})
    tokenizer.process([again])
    featurizer.process([again])
    _, served = again.get_dense_features(TEXT)
    assert served is not None
    assert np.allclose(served.features, sentence.features, atol=1e-5)
