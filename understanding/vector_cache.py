"""Sentence vectors of training phrasings, kept on disk between trainings.

Encoding is most of what training the assistant costs (MPNet beside MiniLM: about 50 s for
5,000 phrasings on two cores), and nearly every training sees phrasings an earlier one
encoded: an editor publishing one new topic, a test run after a code change. The vectors are
a pure function of the text and the encoders' graphs, so they are kept in one file per joint
encoder (named after its graphs' keys and shares) under the cache root, read once per cache
object (one training, one calibration), and only texts not seen before are encoded
(`$HARBOR_VECTOR_CACHE` moves the folder: the training benchmark points it at an empty one).
The file is replaced atomically; two trainings at once may each encode what the other did,
never read a half-written file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from understanding.encoder import JointEncoder
from understanding.weights import cache_root

_lock = threading.Lock()


class VectorCache:
    """encode(texts) as the joint encoder gives it, read from disk where it can be."""

    def __init__(self, encoder: JointEncoder, root: Path | None = None) -> None:
        self.encoder = encoder
        folder = os.environ.get("HARBOR_VECTOR_CACHE")
        root = root or (Path(folder) if folder else cache_root() / "vectors")
        self.path = root / f"{encoder.key}.npz"
        self._known: dict[str, np.ndarray] | None = None  # the file, once read

    def _read(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                return dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            return {}  # missing or unreadable: encode again, and write a good one

    def _write(self, known: dict[str, np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(suffix=".npz", dir=self.path.parent)
        with os.fdopen(handle, "wb") as out:
            texts = np.array(list(known), dtype=np.str_)
            np.savez(out, texts=texts, vectors=np.stack(list(known.values())))
        os.replace(staging, self.path)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with _lock:
            if self._known is None:
                self._known = self._read()
            known = self._known
            missing = sorted({text for text in texts if text not in known})
            if missing:
                known.update(zip(missing, self.encoder.encode(missing), strict=True))
                self._write(known)
        vectors = np.zeros((len(texts), self.encoder.hidden), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] = known[text]
        return vectors
