"""Build the triage's displeasure weights (``data/triage/displeasure.npz``) from GoEmotions.

    .venv-app/bin/python -m handoff.assistant.triage.displeasure_build \
        [--goemotions bench/data/goemotions] [--out data/triage/displeasure.npz]

Trains on the train split (43,410 comments; "displeased" = anger, annoyance, disappointment or
disgust by at least two raters), chooses the regularisation, the blend and the threshold for
best F1 on the dev split, takes the calm anchor there too (the median probability of the
comments nobody found displeasing), and never reads the test split. Deterministic (full-batch,
zeros to start): two runs write the same weights. About two minutes on two cores, most of it
encoding the comments; the result ships with the repository, so `make setup` never runs this.
`bench/triage_bench.py` reads the splits with `read_split` too: one definition of the label.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from understanding.encoder import load_encoder
from understanding.linear import LogisticHead, fit_logistic, sigmoid, train_logistic

from .config import REPO_ROOT
from .displeasure import (
    BUCKETS,
    SHIPPED_WEIGHTS,
    DispleasureModel,
    SparseRows,
    ngram_buckets,
    word_features,
)
from .sentence_head import stand_ins
from .thresholds import best_threshold

DISPLEASED_EMOTIONS = ("anger", "annoyance", "disappointment", "disgust")
DEFAULT_GOEMOTIONS = REPO_ROOT / "bench" / "data" / "goemotions"
WORD_L2 = (1e-5, 3e-5, 1e-4)
SENTENCE_L2 = 1e-4
BLENDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
# Reddit's displeasure is rarer and fainter than a shop's escalations: the grid starts lower.
THRESHOLDS = tuple(round(0.05 + 0.01 * i, 2) for i in range(86))


@dataclass(frozen=True)
class Comments:
    texts: list[str]
    displeased: np.ndarray  # bool per comment


def read_split(directory: Path, split: str) -> Comments:
    emotions = (directory / "emotions.txt").read_text(encoding="utf-8").split()
    wanted = {emotions.index(name) for name in DISPLEASED_EMOTIONS}
    texts, labels = [], []
    with (directory / f"{split}.tsv").open(encoding="utf-8") as lines:
        for line in lines:
            text, ids, _comment = line.rstrip("\n").split("\t")
            texts.append(text)
            labels.append(bool({int(x) for x in ids.split(",")} & wanted))
    return Comments(texts, np.array(labels))


def inverse_document_frequency(texts: Sequence[str]) -> np.ndarray:
    """Smoothed idf per bucket: ln((1 + n) / (1 + df)) + 1, so unseen buckets weigh most but
    carry no weight (their learnt weight stays zero)."""
    df = np.zeros(BUCKETS)
    for text in texts:
        df[np.unique(np.asarray(ngram_buckets(text), np.int64))] += 1
    return np.log((1 + len(texts)) / (1 + df)) + 1


def train_words(
    features: SparseRows, displeased: np.ndarray, l2: float
) -> tuple[np.ndarray, float]:
    weights, bias = fit_logistic(
        lambda w: features.dot(w[:, 0])[:, None],
        lambda error: np.bincount(
            features.buckets,
            weights=features.values * error[features.rows, 0],
            minlength=BUCKETS,
        )[:, None],
        BUCKETS,
        displeased[:, None].astype(np.float64),
        l2=l2,
        steps=400,
        learning_rate=0.05,
    )
    return weights[:, 0], float(bias[0])


def log(message: str) -> None:
    print(f"displeasure: {message}", file=sys.stderr, flush=True)


def build(goemotions: Path) -> DispleasureModel:
    started = time.monotonic()
    train, dev = read_split(goemotions, "train"), read_split(goemotions, "dev")
    encoder = load_encoder()
    vectors = {
        name: encoder.encode(stand_ins(split.texts))
        for name, split in (("train", train), ("dev", dev))
    }
    encoded = len(train.texts) + len(dev.texts)
    log(f"encoded {encoded} comments in {time.monotonic() - started:.0f}s")
    sentence = train_logistic(
        vectors["train"], train.displeased[:, None].astype(np.float64), l2=SENTENCE_L2
    )
    sentence_dev = sentence.probabilities(vectors["dev"])[:, 0]
    idf = inverse_document_frequency(train.texts)
    train_words_x, dev_words_x = word_features(train.texts, idf), word_features(dev.texts, idf)
    best: tuple[float, float, float, float, float, np.ndarray, float] | None = None
    for l2 in WORD_L2:
        weights, bias = train_words(train_words_x, train.displeased, l2)
        word_dev = sigmoid(dev_words_x.dot(weights) + bias)
        for blend in BLENDS:
            blended = blend * sentence_dev + (1 - blend) * word_dev
            threshold, score = best_threshold(
                blended.tolist(), dev.displeased.tolist(), grid=THRESHOLDS
            )
            log(f"word l2 {l2:g}, sentence share {blend}: dev F1 {score:.3f} at {threshold}")
            if best is None or score > best[0]:
                calm = float(np.median(blended[~dev.displeased]))
                best = (score, l2, blend, calm, threshold, weights, bias)
    assert best is not None
    score, l2, blend, calm, threshold, weights, bias = best
    log(
        f"chosen: word l2 {l2:g}, sentence share {blend}, calm {calm:.3f}, threshold "
        f"{threshold} (dev F1 {score:.3f}) in {time.monotonic() - started:.0f}s"
    )
    return DispleasureModel(
        idf=idf,
        word_weights=weights,
        word_bias=bias,
        sentence=LogisticHead(sentence.weights, sentence.bias),
        blend=blend,
        calm=calm,
        threshold=threshold,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goemotions", type=Path, default=DEFAULT_GOEMOTIONS)
    parser.add_argument("--out", type=Path, default=SHIPPED_WEIGHTS)
    args = parser.parse_args(argv)
    if not (args.goemotions / "train.tsv").is_file():
        print(f"error: no GoEmotions train split in {args.goemotions}", file=sys.stderr)
        return 2
    build(args.goemotions).save(args.out)
    log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
