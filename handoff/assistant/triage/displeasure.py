"""How displeased a customer sounds: the mood the agent sees, kept apart from escalation.

Escalation asks "does this person need a human now?"; a grumble about a late parcel does not
(the issue's own rule: a mild complaint with an order number is an order lookup). The agent
who later picks the conversation up should still see that the customer was annoyed, and the
triage should recognise annoyance in text nobody here wrote. So triage scores displeasure on
its own: anger, annoyance, disappointment or disgust in any words, learnt from 43,410 Reddit
comments labelled by GoEmotions' raters (its train split; Apache-2.0), not from the shop's
few hundred messages.

Two views are blended, as in the escalation labels: a logistic regression over hashed word
unigrams and bigrams (swearing, "ridiculous", "again?!" are lexical) and one over the
message's sentence vector (the same encoder, already computed for the escalation head). The
weights ship in ``data/triage/displeasure.npz``, built by
``python -m handoff.assistant.triage.displeasure_build`` from GoEmotions' train split, with the
blend and the threshold chosen on its dev split; its test split is only ever scored
(``bench/triage_bench.py``). Triage training copies them into the model it writes (they are
part of its fingerprint), and the service reads them from there.

The score is on the mood scale the handoff summary reads (0 calm .. 1 upset): a typical calm
message (the median of GoEmotions dev comments nobody found displeasing) maps to 0 and the
chosen threshold to ``DISPLEASED_FROM``, so "displeased" and "upset" are one mark and a plain
"can i change my address" reads calm, not uneasy.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from understanding.linear import LogisticHead, sigmoid

from .config import REPO_ROOT

SHIPPED_WEIGHTS = REPO_ROOT / "data" / "triage" / "displeasure.npz"
# Hashed feature space for word unigrams and bigrams: 2**18 buckets keep collisions rare for
# the ~300,000 distinct n-grams of the training comments at 1 MB of float32 weights.
BUCKETS = 2**18
# The mood-scale mark from which a message reads displeased (the summary's "upset").
DISPLEASED_FROM = 0.6
# Its key beside the escalation labels' scores in what the service stores per message.
DISPLEASURE = "displeasure"

_TOKENS = re.compile(r"[a-z0-9']+|[!?]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def ngram_buckets(text: str) -> list[int]:
    """The hashed buckets of a message's word unigrams and bigrams (lowercased; "!" and "?"
    count as words, "again?!" says more than "again")."""
    tokens = _TOKENS.findall(text.translate(_APOSTROPHES).lower())
    grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    return [zlib.crc32(gram.encode("utf-8")) % BUCKETS for gram in grams]


@dataclass(frozen=True)
class SparseRows:
    """A rows × BUCKETS matrix by its nonzeros (row of each, bucket, value)."""

    rows: np.ndarray
    buckets: np.ndarray
    values: np.ndarray
    count: int

    def dot(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(
            self.rows, weights=self.values * weights[self.buckets], minlength=self.count
        )


def word_features(texts: Sequence[str], idf: np.ndarray) -> SparseRows:
    """Sublinear term frequency × idf per bucket, each row of unit length."""
    rows: list[np.ndarray] = []
    buckets: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for i, text in enumerate(texts):
        found, counts = np.unique(np.asarray(ngram_buckets(text), np.int64), return_counts=True)
        weight = (1.0 + np.log(counts)) * idf[found]
        norm = float(np.sqrt((weight * weight).sum()))
        if norm > 0:
            rows.append(np.full(len(found), i, np.int64))
            buckets.append(found)
            values.append(weight / norm)
    if not rows:
        empty = np.zeros(0, np.int64)
        return SparseRows(empty, empty, np.zeros(0), len(texts))
    return SparseRows(
        np.concatenate(rows), np.concatenate(buckets), np.concatenate(values), len(texts)
    )


def to_mood_scale(probability: np.ndarray, calm: float, threshold: float) -> np.ndarray:
    """Piecewise-linear, monotone: up to `calm` → 0, `threshold` → DISPLEASED_FROM, 1 → 1."""
    p = np.asarray(probability, np.float64)
    below = DISPLEASED_FROM * np.clip(p - calm, 0.0, None) / (threshold - calm)
    above = DISPLEASED_FROM + (1 - DISPLEASED_FROM) * (p - threshold) / (1 - threshold)
    return np.where(p < threshold, below, above)


@dataclass(frozen=True)
class DispleasureModel:
    """The two displeasure views, their blend and the threshold chosen on GoEmotions dev."""

    idf: np.ndarray
    word_weights: np.ndarray
    word_bias: float
    sentence: LogisticHead
    blend: float  # share of the sentence view
    calm: float  # blended probability of a typical calm message (mood 0)
    threshold: float  # blended probability that reads displeased

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """P(displeased) per text; ``vectors`` are the texts' sentence vectors."""
        words = word_features(texts, self.idf).dot(self.word_weights) + self.word_bias
        word_p = sigmoid(words)
        sentence_p = self.sentence.probabilities(vectors)[:, 0]
        return self.blend * sentence_p + (1.0 - self.blend) * word_p

    def scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Displeasure on the mood scale (≥ DISPLEASED_FROM: displeased)."""
        return to_mood_scale(self.probabilities(texts, vectors), self.calm, self.threshold)

    def save(self, path: Path) -> None:
        # float16 halves the file; the weights' precision is far below what it keeps.
        np.savez_compressed(
            path,
            idf=self.idf.astype(np.float16),
            word_weights=self.word_weights.astype(np.float16),
            word_bias=np.float64(self.word_bias),
            sentence_weights=self.sentence.weights,
            sentence_bias=self.sentence.bias,
            blend=np.float64(self.blend),
            calm=np.float64(self.calm),
            threshold=np.float64(self.threshold),
        )


class DispleasureModelMissing(FileNotFoundError):
    """The shipped weights are not where they should be; the message says how to rebuild them."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no displeasure weights at {path}: train the triage model again (`make "
            "triage-model`), which copies them from data/triage/displeasure.npz (rebuilt by "
            "`python -m handoff.assistant.triage.displeasure_build`)"
        )


def load_displeasure(path: Path = SHIPPED_WEIGHTS) -> DispleasureModel:
    if not path.is_file():
        raise DispleasureModelMissing(path)
    with np.load(path) as saved:
        shapes = (saved["idf"].shape, saved["word_weights"].shape)
        if shapes != ((BUCKETS,), (BUCKETS,)) or saved["sentence_weights"].ndim != 2:
            raise ValueError(f"{path} was built for another feature space: rebuild it")
        if "calm" not in saved:
            raise ValueError(f"{path} has no calm anchor (an older build): rebuild it")
        return DispleasureModel(
            idf=saved["idf"].astype(np.float64),
            word_weights=saved["word_weights"].astype(np.float64),
            word_bias=float(saved["word_bias"]),
            sentence=LogisticHead.from_arrays(saved["sentence_weights"], saved["sentence_bias"]),
            blend=float(saved["blend"]),
            calm=float(saved["calm"]),
            threshold=float(saved["threshold"]),
        )
