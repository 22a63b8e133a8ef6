"""Train the triage pipeline from ``data/triage/train.jsonl`` and save it to ``models/triage/``.

    python -m handoff.assistant.triage.train [--if-stale] [--out DIR]

Steps: k-fold cross-validation on the training split to choose the blend of the two
classifiers (bag of words, sentence-vector head) and one threshold per label (the held-out
splits are never read here), then a final fit on the whole training split. The model directory
gets the spaCy pipeline, ``sentence_head.npz`` (the head's weights and the blend),
``thresholds.json`` and ``fingerprint.txt`` (sha256 over the training data, this package's and
the encoder's sources, the encoder's weights and the spaCy version), which ``--if-stale``
compares to skip work when nothing changed. Seeds are fixed, so two runs give the same model.

A trained model is also kept in the per-user cache, under its fingerprint
(``<cache>/triage/<fingerprint>``): a fresh clone, or a checkout that returns to inputs trained
before, copies it in seconds instead of training for two minutes (``ensure_model``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import spacy
from spacy import about
from spacy.language import Language
from spacy.pipeline import MultiLabel_TextCategorizer
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from understanding.encoder import load_encoder
from understanding.linear import LogisticHead, train_logistic
from understanding.weights import MINILM, cache_root

# Registers the harbor_triage_cues factory that build_pipeline adds.
from . import cue_matcher  # noqa: F401
from .config import (
    DEFAULT_MODEL_DIR,
    DISPLEASURE_FILE,
    FINGERPRINT_FILE,
    HEAD_FILE,
    REPO_ROOT,
    THRESHOLDS_FILE,
    TriageThresholds,
)
from .cues import FACTORY
from .displeasure import SHIPPED_WEIGHTS
from .model import TriageModel, normalise
from .reasons import TRIAGE_LABELS
from .sentence_head import SentenceHead, stand_ins
from .thresholds import LabelledMessage, choose_thresholds

DATA_DIR = REPO_ROOT / "data" / "triage"
TRAIN_FILE = DATA_DIR / "train.jsonl"
HELDOUT_FILE = DATA_DIR / "heldout.jsonl"
# Written apart from the training data (not a split of it), in every category of docs/triage.md.
HELDOUT_APART_FILE = DATA_DIR / "heldout_apart.jsonl"
PACKAGE_DIR = Path(__file__).resolve().parent
ENCODER_DIR = REPO_ROOT / "understanding"
VOCABULARY_REASONS = REPO_ROOT / "vocabulary" / "reasons.py"

SEED = 20240611
FOLDS = 5
EPOCHS = 12
BATCH_SIZE = 16
# spaCy's default Adam step (0.001) leaves the label biases near 0.5 after a few hundred
# updates, so unseen words scored ~0.4 for every label; 0.005 converges within the budget.
LEARN_RATE = 0.005
DROPOUT = 0.2
# The sentence-vector head: L2 penalty and the weight of a positive example (labels are rare
# beside routine messages). Chosen by cross-validation on the training split.
HEAD_L2 = 1e-4
HEAD_POSITIVE_WEIGHT = 3.0
# Shares of the head in the blended score tried in cross-validation (0: bag of words alone).
BLENDS = (0.0, 0.3, 0.5, 0.7)
# A bag of unigrams and bigrams. In cross-validation on the training split it matched or beat
# spaCy's default ensemble (bag of words + CNN): with a few hundred examples per label the CNN
# overfit and gave confident scores to short routine messages ("yes", "how much is next day
# delivery"). It also trains in seconds and scores a message in well under a millisecond.
TEXTCAT_MODEL: dict[str, Any] = {
    "@architectures": "spacy.TextCatBOW.v3",
    "exclusive_classes": False,
    "length": 65536,
    "ngram_size": 2,
    "no_output_layer": False,
}


@dataclass
class TrainingReport:
    out_dir: Path
    fingerprint: str
    thresholds: TriageThresholds
    cv_f1: dict[str, float] = field(default_factory=dict)
    cv_escalate: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    seconds: float = 0.0


def read_messages(path: Path) -> list[LabelledMessage]:
    """Read a ``{"text": ..., "labels": [...]}`` JSONL file, rejecting unknown labels."""
    messages: list[LabelledMessage] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            labels = frozenset(row["labels"])
            unknown = labels - set(TRIAGE_LABELS)
            if unknown:
                raise ValueError(f"{path}:{number}: unknown labels {sorted(unknown)}")
            messages.append(LabelledMessage(str(row["text"]), labels))
    return messages


def fingerprint(data_files: Iterable[Path], package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 over the training data, this package's and the encoder's Python sources, the
    shared reasons table, the encoder's weights, the displeasure weights (copied into the model)
    and the spaCy version."""
    digest = hashlib.sha256()
    digest.update(f"spacy {about.__version__}\nencoder {MINILM.key}\n".encode())
    # The label order the head is trained in lives in the shared vocabulary.
    sources = [
        *sorted(package_dir.glob("*.py")),
        *sorted(ENCODER_DIR.glob("*.py")),
        VOCABULARY_REASONS,
        SHIPPED_WEIGHTS,
    ]
    for path in [*sorted(data_files), *sources]:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def build_pipeline(textcat_model: dict[str, Any] | None = None) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe(FACTORY, name="triage_cues")
    textcat = cast(
        MultiLabel_TextCategorizer,
        nlp.add_pipe(
            "textcat_multilabel",
            config={"model": textcat_model or TEXTCAT_MODEL, "threshold": 0.5},
        ),
    )
    for label in TRIAGE_LABELS:
        textcat.add_label(label)
    return nlp


def fit(
    messages: Sequence[LabelledMessage],
    *,
    seed: int = SEED,
    epochs: int = EPOCHS,
    textcat_model: dict[str, Any] | None = None,
) -> Language:
    """Train a fresh pipeline on ``messages``; deterministic for a given seed."""
    fix_random_seed(seed)
    nlp = build_pipeline(textcat_model)
    examples = [
        Example.from_dict(
            nlp.make_doc(normalise(m.text)),
            {"cats": {label: float(label in m.labels) for label in TRIAGE_LABELS}},
        )
        for m in messages
    ]
    nlp.initialize(lambda: examples)
    optimizer = Adam(LEARN_RATE)
    order = random.Random(seed)
    for _ in range(epochs):
        order.shuffle(examples)
        for start in range(0, len(examples), BATCH_SIZE):
            nlp.update(examples[start : start + BATCH_SIZE], sgd=optimizer, drop=DROPOUT)
    return nlp


def _folds(messages: Sequence[LabelledMessage], k: int, seed: int) -> list[list[int]]:
    """Stratified by label set so every fold sees chargebacks, funerals and plain returns."""
    by_signature: dict[tuple[str, ...], list[int]] = {}
    for index, message in enumerate(messages):
        by_signature.setdefault(tuple(sorted(message.labels)), []).append(index)
    shuffle = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    slot = 0
    for signature in sorted(by_signature):
        indices = by_signature[signature]
        shuffle.shuffle(indices)
        for index in indices:
            folds[slot % k].append(index)
            slot += 1
    return folds


def fit_head(vectors: np.ndarray, messages: Sequence[LabelledMessage]) -> LogisticHead:
    """The sentence-vector head: one sigmoid per label over the messages' vectors."""
    targets = np.array([[label in m.labels for label in TRIAGE_LABELS] for m in messages], float)
    return train_logistic(vectors, targets, l2=HEAD_L2, positive_weight=HEAD_POSITIVE_WEIGHT)


def out_of_fold_scores(
    messages: Sequence[LabelledMessage],
    vectors: np.ndarray,
    *,
    folds: int = FOLDS,
    seed: int = SEED,
    blends: Sequence[float] = BLENDS,
    fitter: Callable[[Sequence[LabelledMessage]], Language] | None = None,
) -> dict[float, list[dict[str, float]]]:
    """Score every training message with models that never saw it, for each blend."""
    encoder = load_encoder()
    train_fold = fitter or (lambda part: fit(part, seed=seed))
    scores: dict[float, list[dict[str, float]]] = {b: [{} for _ in messages] for b in blends}
    for held in _folds(messages, folds, seed):
        held_set = set(held)
        kept = [i for i in range(len(messages)) if i not in held_set]
        nlp = train_fold([messages[i] for i in kept])
        head = fit_head(vectors[kept], [messages[i] for i in kept])
        for blend in blends:
            model = TriageModel(
                nlp, TriageThresholds(), sentence_head=SentenceHead(encoder, head, blend)
            )
            verdicts = model.assess_encoded([messages[i].text for i in held], vectors[held])
            for index, verdict in zip(held, verdicts, strict=True):
                scores[blend][index] = verdict.scores
    return scores


def _write_model(
    nlp: Language,
    head: LogisticHead,
    blend: float,
    thresholds: TriageThresholds,
    digest: str,
    out_dir: Path,
) -> None:
    # Build next to the target and swap in at the end, so a running service or a concurrent
    # --if-stale never sees a half-written model.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the service may run as another user
        nlp.to_disk(staging)
        np.savez(
            staging / HEAD_FILE,
            labels=np.array(TRIAGE_LABELS),
            blend=np.array(blend),
            weights=head.weights,
            bias=head.bias,
        )
        (staging / THRESHOLDS_FILE).write_text(
            json.dumps(thresholds.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        shutil.copyfile(SHIPPED_WEIGHTS, staging / DISPLEASURE_FILE)
        (staging / FINGERPRINT_FILE).write_text(digest + "\n", encoding="utf-8")
        _swap_in(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _swap_in(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)


def _copy_model(source: Path, out_dir: Path) -> None:
    """Copy a complete model folder to `out_dir`, swapped in whole like a trained one."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        staging.chmod(0o755)
        _swap_in(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def cached_model_dir(digest: str) -> Path:
    """Where the model trained from inputs with this fingerprint is kept outside the clone."""
    return cache_root() / "triage" / digest


def is_stale(out_dir: Path, data_files: Sequence[Path] = (TRAIN_FILE,)) -> bool:
    stored = out_dir / FINGERPRINT_FILE
    if not all((out_dir / name).is_file() for name in (FINGERPRINT_FILE, "config.cfg", HEAD_FILE)):
        return True
    return stored.read_text(encoding="utf-8").strip() != fingerprint(data_files)


def train(
    out_dir: Path = DEFAULT_MODEL_DIR,
    train_file: Path = TRAIN_FILE,
    *,
    folds: int = FOLDS,
    seed: int = SEED,
    log: Callable[[str], None] = print,
) -> TrainingReport:
    started = time.perf_counter()
    messages = read_messages(train_file)
    log(f"triage: {len(messages)} training messages from {train_file}")
    vectors = load_encoder().encode(stand_ins(m.text for m in messages))
    oof = out_of_fold_scores(messages, vectors, folds=folds, seed=seed)
    # The blend whose cross-validated escalate decision is best (F1), then its thresholds.
    choices = {blend: choose_thresholds(messages, scores) for blend, scores in oof.items()}
    blend = max(choices, key=lambda b: (round(choices[b][2]["f1"], 4), b))
    thresholds, f1s, escalate = choices[blend]
    log(
        "triage: cross-validated escalate F1 by blend "
        + ", ".join(f"{b}={choices[b][2]['f1']:.3f}" for b in sorted(choices))
        + f"; chosen {blend}"
    )
    log(f"triage: {folds}-fold thresholds {json.dumps(thresholds.to_dict())}")
    log(
        "triage: cross-validated F1 "
        + ", ".join(f"{label}={value:.3f}" for label, value in f1s.items())
        + f"; escalate P={escalate['precision']:.3f} R={escalate['recall']:.3f}"
        f" F1={escalate['f1']:.3f}, routine escalated {escalate['routine_escalated']:.3f}"
    )
    nlp = fit(messages, seed=seed)
    head = fit_head(vectors, messages)
    digest = fingerprint([train_file])
    _write_model(nlp, head, blend, thresholds, digest, out_dir)
    seconds = time.perf_counter() - started
    log(f"triage: model written to {out_dir} in {seconds:.1f}s")
    return TrainingReport(out_dir, digest, thresholds, f1s, escalate, len(messages), seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handoff.assistant.triage.train", description=__doc__
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model directory")
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="do nothing when the model's fingerprint matches the data and code",
    )
    args = parser.parse_args(argv)
    if args.if_stale:
        ensure_model(args.out)
    else:
        train(args.out)
    return 0


def ensure_model(out_dir: Path = DEFAULT_MODEL_DIR, log: Callable[[str], None] = print) -> str:
    """Make `out_dir` hold the model of the current inputs: keep it when it is up to date, else
    copy it from the cache, else train it (and keep a copy in the cache). Returns what it did."""
    if not is_stale(out_dir):
        log(f"triage: model in {out_dir} is up to date")
        return "up to date"
    digest = fingerprint([TRAIN_FILE])
    cached = cached_model_dir(digest)
    if not is_stale(cached):
        _copy_model(cached, out_dir)
        log(f"triage: model copied from the cache ({cached})")
        return "from cache"
    train(out_dir, log=log)
    # The cache gets its copy only after a complete training; a stale or half copy is replaced.
    _copy_model(out_dir, cached)
    return "trained"


if __name__ == "__main__":
    sys.exit(main())
