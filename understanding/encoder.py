"""all-MiniLM-L6-v2: text in, unit-length sentence vector out.

The forward pass is the standard BERT encoder (embeddings, 6 x [self-attention, GELU
feed-forward, layer norm]), written as an ONNX graph at setup (understanding/graph.py) and run
by onnxruntime, followed by sentence-transformers' mean pooling and L2 normalisation, so a
cosine similarity is a dot product:

    text --WordPiece--> [CLS] pieces [SEP] --BERT--> one vector per piece
         --mean over pieces--> sentence vector --L2--> unit length

No torch, no rasa: the handoff service's environment (numpy 2) and the Rasa one (numpy 1.23)
both run this module unchanged, on the same graph file, so the assistant and triage read a
message the same way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from understanding.graph import (
    BLOCKED,
    HIDDEN,
    INT8,
    PIECE_IDS,
    POSITIONS,
    GraphMissing,
    graph_path,
)
from understanding.weights import installed
from understanding.wordpiece import WordPiece

MAX_PIECES = 256  # sentence-transformers' max_seq_length for this model
# The graph customers' messages go through. int8 weights: five times faster than numpy's
# float32 on this machine and within cosine 0.99 of it; the classifiers are trained on the
# vectors they are served with, and cross-validation chose it (docs/assistant.md).
SERVED_PRECISION = INT8


class SentenceEncoder:
    """all-MiniLM-L6-v2 run by onnxruntime. Deterministic; thread-safe (an onnxruntime session
    may be run from several threads, and the encoder holds no per-call state)."""

    def __init__(self, directory: Path, precision: str = SERVED_PRECISION) -> None:
        import onnxruntime

        path = graph_path(precision, directory)
        if not path.is_file():
            raise GraphMissing(path)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.hidden = int(config["hidden_size"])
        self.precision = precision
        options = onnxruntime.SessionOptions()
        # One thread: every run is one short text, and a second thread mostly waits (the
        # service has other requests for the other core).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about the build machine's CPU are not errors
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = WordPiece(directory / "vocab.txt")

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        """Hidden states (1, length, hidden) of one text's piece ids (1, length)."""
        length = ids.shape[1]
        feed = {
            PIECE_IDS: ids,
            POSITIONS: np.arange(length, dtype=np.int64),
            BLOCKED: np.zeros((1, 1, 1, length), dtype=np.float32),  # no padding to hide
        }
        (hidden,) = self.session.run([HIDDEN], feed)
        return np.asarray(hidden, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence vectors (float32), one row per text; texts longer than
        MAX_PIECES word pieces are cut.

        One text per run, never a padded batch: the int8 graph quantises each product's input
        with one scale for the whole tensor, so a text's vector would depend on the texts
        batched with it, and training would not see what serving sees. Batching a thousand
        short phrasings saves about a third of the time; the same answer every time matters more.
        """
        vectors = np.zeros((len(texts), self.hidden), dtype=np.float32)
        for row, text in enumerate(texts):
            pieces = self.tokenizer.encode(text)[: MAX_PIECES - 2]
            ids = np.array([[self.tokenizer.cls, *pieces, self.tokenizer.sep]], dtype=np.int64)
            # sentence-transformers' mean pooling: over every position, [CLS]/[SEP] included.
            pooled = self._forward(ids)[0].mean(axis=0)
            vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return vectors


# One encoder per model folder and precision for the whole process: the Rasa
# training and serving graphs may create their components more than once, and a session takes
# a second and 60-90 MB to load.
_encoders: dict[tuple[Path, str], SentenceEncoder] = {}
_encoders_lock = threading.Lock()


def load_encoder(
    directory: Path | None = None, precision: str = SERVED_PRECISION
) -> SentenceEncoder:
    """The process's encoder for `directory` (default: the folder `make setup` extracted).

    Raises understanding.weights.EncoderMissing when the weights are not there, and
    understanding.graph.GraphMissing when the graph was not built.
    """
    key = (installed(directory), precision)
    with _encoders_lock:
        if key not in _encoders:
            _encoders[key] = SentenceEncoder(*key)
        return _encoders[key]
