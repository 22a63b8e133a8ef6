"""Sentence encoders: text in, unit-length sentence vector out.

The forward pass (BERT for all-MiniLM-L6-v2, MPNet for all-mpnet-base-v2: embeddings, then
layers of self-attention and GELU feed-forward) is an ONNX graph built at setup
(understanding/graph.py) and run by onnxruntime, followed by sentence-transformers' mean
pooling and L2 normalisation, so a cosine similarity is a dot product:

    text --WordPiece--> [CLS] pieces [SEP] --encoder--> one vector per piece
         --mean over pieces--> sentence vector --L2--> unit length

`JointEncoder` puts several encoders' vectors side by side (the assistant reads MiniLM and
MPNet together; the triage MiniLM alone).

No torch, no rasa: the handoff service's environment (numpy 2) and the Rasa one (numpy 1.23)
both run this module unchanged, on the same graph file, so the assistant and triage read a
message the same way.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from understanding.graph import (
    BLOCKED,
    BUCKETS,
    FLOAT32,
    HIDDEN,
    INT8,
    PER_PIECE_SCALES,
    PIECE_IDS,
    POSITIONS,
    GraphMissing,
    graph_path,
)
from understanding.weights import MINILM, MODELS, ModelSource, installed
from understanding.wordpiece import WordPiece

# sentence-transformers' max_seq_length for MiniLM (MPNet's is 384): no customer message comes
# near it, and one limit keeps a long text's parts the same for both encoders.
MAX_PIECES = 256
# MPNet's relative-position buckets (its config's relative_attention_num_buckets; the
# distance where the buckets stop growing is fixed in its code).
MAX_DISTANCE = 128
# Texts of one length run together, at most this many: 8-16 took 10.2-11.3 ms a text (MPNet,
# one thread), 64 took 14-17 ms (its activations no longer fit the caches).
BATCH = 16
# The graph customers' messages go through. int8 products: five times faster than numpy's
# float32 on this machine and within cosine 0.98 of it; the classifiers are trained on the
# vectors they are served with, and cross-validation chose it (docs/assistant.md).
SERVED_PRECISION = INT8


def distance_buckets(length: int, buckets: int) -> np.ndarray:
    """MPNet's bucket of each (query, key) pair of positions: half the buckets for keys before
    the query, half for keys after; the first quarter of each half exact, the rest
    logarithmic in the distance up to MAX_DISTANCE. float32 as the reference code computes it,
    so a distance on a bucket's edge falls on the same side."""
    distance = np.arange(length)[:, None] - np.arange(length)[None, :]  # query - key
    half = buckets // 2
    bucket = (distance < 0).astype(np.int64) * half
    distance = np.abs(distance)
    exact = half // 2
    ratio = np.maximum(distance, 1).astype(np.float32) / np.float32(exact)
    scale = np.float32(np.log(MAX_DISTANCE / exact))
    far = exact + (np.log(ratio) / scale * np.float32(half - exact)).astype(np.int64)
    return bucket + np.where(distance < exact, distance, np.minimum(far, half - 1))


class SentenceEncoder:
    """One encoder run by onnxruntime. Deterministic; thread-safe (an onnxruntime session
    may be run from several threads, and the encoder holds no per-call state)."""

    def __init__(
        self, directory: Path, precision: str = SERVED_PRECISION, source: ModelSource = MINILM
    ) -> None:
        import onnxruntime

        path = graph_path(precision, directory, source)
        if not path.is_file():
            raise GraphMissing(path)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.mpnet = config.get("model_type") == "mpnet"
        self.hidden = int(config["hidden_size"])
        self.precision = precision
        self.graph = path  # its name carries the builder's and the weights' keys
        # MPNet counts positions from its padding index + 1 and biases attention by distance.
        self.first_position = int(config["pad_token_id"]) + 1 if self.mpnet else 0
        self.buckets = int(config.get("relative_attention_num_buckets", 0))
        together = precision == FLOAT32 or source.name in PER_PIECE_SCALES
        self.batch = BATCH if together else 1  # texts of one length run together (batches)
        options = onnxruntime.SessionOptions()
        # One thread: every run is one short text, and a second thread mostly waits (the
        # service has other requests for the other core).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about the build machine's CPU are not errors
        # No memory arena: it keeps the largest activations of any text seen, per session, for
        # good. Without it MPNet's process holds 306 MiB instead of 396, at the same speed
        # (19.2 against 19.0 ms a 15-word question; bench/encoder_bench.py).
        options.enable_cpu_mem_arena = False
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        # MPNet's vocabulary has BERT's [CLS]/[SEP] too, but it was trained with <s> and </s>.
        ends = ("<s>", "</s>") if self.mpnet else ("[CLS]", "[SEP]")
        self.tokenizer = WordPiece(directory / "vocab.txt", *ends)

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        """Hidden states (texts, length, hidden) of texts of one length's piece ids."""
        count, length = ids.shape
        feed = {
            PIECE_IDS: ids,
            POSITIONS: np.arange(length, dtype=np.int64) + self.first_position,
            BLOCKED: np.zeros((count, 1, 1, length), dtype=np.float32),  # no padding to hide
        }
        if self.buckets:
            feed[BUCKETS] = distance_buckets(length, self.buckets)
        (hidden,) = self.session.run([HIDDEN], feed)
        return np.asarray(hidden, dtype=np.float32)

    def batches(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        """The texts' piece ids in runs of texts of one length: (rows, ids).

        Texts of one length need no padding, and where the int8 graph scales each piece's
        input on its own (understanding/graph.py, PER_PIECE_SCALES) a text's vector is the same
        to the bit alone or in a run, so up to BATCH run together: training encodes thousands
        of phrasings, and runs of 16 took 10.2 ms a text against 17.9 ms one at a time (MPNet,
        one thread, 400 phrasings). Elsewhere one scale covers the whole input, a batch-mate
        would change a text's vector, and training would not see what serving sees: each text
        runs alone."""
        by_length: dict[int, list[int]] = {}
        pieces: list[list[int]] = []
        for row, text in enumerate(texts):
            cut = self.tokenizer.encode(text)[: MAX_PIECES - 2]
            pieces.append([self.tokenizer.cls, *cut, self.tokenizer.sep])
            by_length.setdefault(len(pieces[-1]), []).append(row)
        runs = []
        for rows in by_length.values():
            for start in range(0, len(rows), self.batch):
                run = rows[start : start + self.batch]
                runs.append((run, np.array([pieces[row] for row in run], dtype=np.int64)))
        return runs

    def run(self, ids: np.ndarray) -> np.ndarray:
        """Unit-length sentence vectors of one run of piece ids (texts, length)."""
        # sentence-transformers' mean pooling: over every position, [CLS]/[SEP] included.
        pooled = self._forward(ids).mean(axis=1)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def encode(self, texts: Sequence[str], pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        """Unit-length sentence vectors (float32), one row per text; texts longer than
        MAX_PIECES word pieces are cut. `pool` runs the batches side by side."""
        vectors = np.zeros((len(texts), self.hidden), dtype=np.float32)
        runs = self.batches(texts)
        ids = [piece_ids for _, piece_ids in runs]
        results = pool.map(self.run, ids) if pool and len(runs) > 1 else map(self.run, ids)
        for (rows, _), run_vectors in zip(runs, results, strict=True):
            vectors[rows] = run_vectors
        return vectors


# One encoder per model folder and precision for the whole process: the Rasa
# training and serving graphs may create their components more than once, and a session takes
# a second and 60-90 MB to load (MPNet: 110 MB).
_encoders: dict[tuple[Path, str, ModelSource], SentenceEncoder] = {}
_encoders_lock = threading.Lock()


def load_encoder(
    directory: Path | None = None,
    precision: str = SERVED_PRECISION,
    source: ModelSource = MINILM,
) -> SentenceEncoder:
    """The process's encoder for `directory` (default: the folder `make setup` extracted for
    `source`).

    Raises understanding.weights.EncoderMissing when the weights are not there, and
    understanding.graph.GraphMissing when the graph was not built.
    """
    key = (installed(directory, source), precision, source)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = SentenceEncoder(*key)
        return _encoders[key]


class JointEncoder:
    """Several encoders' vectors side by side, each scaled by the square root of its share:
    the joint vector is unit length, and a cosine between two joint vectors is the
    share-weighted mean of the encoders' cosines.

    Runs of texts are spread over WORKERS threads (onnxruntime releases the interpreter while
    it runs): training encodes thousands of phrasings, and a long message's parts are encoded
    together."""

    WORKERS = 2  # the machines we run on have two cores or more

    def __init__(self, encoders: Sequence[SentenceEncoder], shares: Sequence[float]) -> None:
        if len(encoders) != len(shares) or not encoders:
            raise ValueError("one share per encoder, at least one encoder")
        total = float(sum(shares))
        self.encoders = list(encoders)
        self.scales = [float(np.sqrt(share / total)) for share in shares]
        self.hidden = sum(encoder.hidden for encoder in encoders)
        # What its vectors depend on: each graph (named after its builder and weights) and share.
        described = "\n".join(
            f"{e.graph.name} {s:.6f}" for e, s in zip(encoders, self.scales, strict=True)
        )
        self.key = hashlib.sha256(described.encode()).hexdigest()[:16]
        self._pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="encoder")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length joint vectors (float32), one row per text; a text's vector never
        depends on the texts beside it (SentenceEncoder.batches)."""
        return np.hstack(
            [
                scale * e.encode(texts, self._pool)
                for e, scale in zip(self.encoders, self.scales, strict=True)
            ]
        ).astype(np.float32)


_joint: dict[tuple[tuple[str, float], ...], JointEncoder] = {}


def load_joint(shares: Sequence[tuple[str, float]]) -> JointEncoder:
    """The process's joint encoder of the named models (understanding.weights.MODELS), each
    with its share of the similarity."""
    key = tuple((name, float(share)) for name, share in shares)
    with _encoders_lock:
        found = _joint.get(key)
    if found is None:
        unknown = [name for name, _ in key if name not in MODELS]
        if unknown:
            raise ValueError(f"unknown encoders {unknown}: known are {sorted(MODELS)}")
        encoders = [load_encoder(source=MODELS[name]) for name, _ in key]
        found = JointEncoder(encoders, [share for _, share in key])
        with _encoders_lock:
            found = _joint.setdefault(key, found)
    return found
