"""Training phrasings' vectors kept between trainings (understanding/vector_cache.py), with the
real joint encoder the assistant trains with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from understanding.encoder import JointEncoder, load_joint
from understanding.vector_cache import VectorCache
from understanding.weights import MINILM, MPNET


class Counting:
    """The real joint encoder, counting the texts it is asked to encode."""

    def __init__(self, joint: JointEncoder) -> None:
        self.joint = joint
        self.key = joint.key
        self.hidden = joint.hidden
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return self.joint.encode(texts)


@pytest.fixture
def joint() -> JointEncoder:
    return load_joint([(MINILM.name, 0.5), (MPNET.name, 0.5)])


def test_only_phrasings_never_seen_are_encoded_and_the_vectors_are_the_encoders(
    tmp_path: Path, joint: JointEncoder
) -> None:
    first = Counting(joint)
    texts = ["where is my parcel", "do you ship to canada", "where is my parcel"]
    vectors = VectorCache(first, tmp_path).encode(texts)  # type: ignore[arg-type]
    assert sorted(first.asked) == ["do you ship to canada", "where is my parcel"]
    assert np.array_equal(vectors, joint.encode(texts))

    # A later training (a new process: a new cache object) with one new topic's phrasing.
    later = Counting(joint)
    again = VectorCache(later, tmp_path).encode([*texts, "can i gift wrap it"])  # type: ignore[arg-type]
    assert later.asked == ["can i gift wrap it"]
    assert np.array_equal(again[:3], vectors)


def test_an_unreadable_cache_file_is_encoded_again_and_replaced(
    tmp_path: Path, joint: JointEncoder
) -> None:
    counting = Counting(joint)
    cache = VectorCache(counting, tmp_path)  # type: ignore[arg-type]
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    cache.path.write_bytes(b"half a file")
    vectors = cache.encode(["hello"])
    assert counting.asked == ["hello"]
    assert np.array_equal(vectors, joint.encode(["hello"]))
    assert VectorCache(counting, tmp_path).encode(["hello"]).shape == (1, joint.hidden)  # type: ignore[arg-type]
    assert counting.asked == ["hello"]  # read back from the replaced file
