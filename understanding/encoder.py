"""all-MiniLM-L6-v2 in numpy: text in, unit-length sentence vector out.

The forward pass is the standard BERT encoder (embeddings, 6 × [self-attention, GELU
feed-forward, layer norm]) followed by sentence-transformers' mean pooling and L2
normalisation, so a cosine similarity is a dot product:

    text ──WordPiece──▶ [CLS] pieces [SEP] ──BERT──▶ one vector per piece
         ──mean over pieces──▶ sentence vector ──L2──▶ unit length

Only numpy: the handoff service's environment has numpy 2 and no scipy, the Rasa environment
numpy 1.23; both run this module unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from understanding.weights import installed, read_safetensors
from understanding.wordpiece import WordPiece

MAX_PIECES = 256  # sentence-transformers' max_seq_length for this model


@dataclass(frozen=True)
class Encoded:
    """One text's output: a unit-length sentence vector and one vector per word piece (in the
    order of the piece ids given, [CLS] and [SEP] excluded)."""

    sentence: np.ndarray  # (384,)
    pieces: np.ndarray  # (number of pieces, 384)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.2e-7 (Numerical Recipes' erfc by Chebyshev fit), so the
    exact GELU BERT was trained with needs no scipy. float32 rounding is larger than the error."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))  # fmt: skip
    return np.sign(x) * (1.0 - t * np.exp(poly))


_blas_controller: object | None = None


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread while encoding. The matrices of a batch of short messages are small, and
    with more threads OpenBLAS spends its time spin-waiting (measured on this 2-core machine:
    9.8 ms of CPU per message with one thread, 17.2 ms with two, and four times less wall time).
    threadpoolctl is optional (the handoff service's environment sets OPENBLAS_NUM_THREADS=1
    instead); its controller is built once, as inspecting the loaded libraries takes a while."""
    global _blas_controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        yield
        return
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    controller = _blas_controller
    assert isinstance(controller, ThreadpoolController)
    with controller.limit(limits=1, user_api="blas"):
        yield


class SentenceEncoder:
    """all-MiniLM-L6-v2 in numpy. Deterministic; thread-safe (holds no per-call state)."""

    def __init__(self, directory: Path) -> None:
        import json

        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = read_safetensors(directory / "model.safetensors")
        # Linear layers stay as stored, (out, in) and contiguous, and are applied as
        # W @ h.T: for a short message BLAS then streams each weight matrix once instead of
        # repacking it (1.6x faster per product with OpenBLAS 0.3.20 at 3-18 pieces). The query,
        # key and value projections are stacked: one product instead of three.
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}.attention.self."
            parts = ("query", "key", "value")
            self.weights[p + "qkv.weight"] = np.ascontiguousarray(
                np.concatenate([self.weights.pop(p + n + ".weight") for n in parts], axis=0)
            )
            self.weights[p + "qkv.bias"] = np.concatenate(
                [self.weights.pop(p + n + ".bias") for n in parts]
            )
        self.tokenizer = WordPiece(directory / "vocab.txt")

    @property
    def dimensions(self) -> int:
        return self.hidden

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states (batch, length, hidden) of padded piece ids; mask is 1 for real pieces."""
        batch, length = ids.shape
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[np.arange(length)][None]
            + self._w("embeddings.token_type_embeddings.weight")[0][None, None]
        )
        x = _layer_norm(
            x,
            self._w("embeddings.LayerNorm.weight"),
            self._w("embeddings.LayerNorm.bias"),
            self.eps,
        )
        head = self.hidden // self.heads
        # Padding gets a large negative score, so softmax gives it (numerically) zero weight.
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def project(name: str, h: np.ndarray, prefix: str = p) -> np.ndarray:
                flat = (self._w(prefix + name + ".weight") @ h.reshape(-1, h.shape[-1]).T).T
                return (flat + self._w(prefix + name + ".bias")).reshape(batch, length, -1)

            qkv = project("attention.self.qkv", x).reshape(batch, length, 3, self.heads, head)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = _layer_norm(
                x + project("attention.output.dense", context),
                self._w(p + "attention.output.LayerNorm.weight"),
                self._w(p + "attention.output.LayerNorm.bias"),
                self.eps,
            )
            inner = project("intermediate.dense", x)
            inner = 0.5 * inner * (1.0 + _erf(inner / np.float32(np.sqrt(2.0))))  # exact GELU
            x = _layer_norm(
                x + project("output.dense", inner),
                self._w(p + "output.LayerNorm.weight"),
                self._w(p + "output.LayerNorm.bias"),
                self.eps,
            )
        return x.astype(np.float32, copy=False)

    def encode_pieces(self, batch: Sequence[Sequence[int]], batch_size: int = 64) -> list[Encoded]:
        """Encode texts given as piece ids (without [CLS]/[SEP]; cut to fit MAX_PIECES)."""
        rows = [[self.tokenizer.cls, *list(p)[: MAX_PIECES - 2], self.tokenizer.sep] for p in batch]
        results: list[Encoded | None] = [None] * len(rows)
        # Similar lengths together: less padding, same results (padding is masked out).
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(rows[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                ids[row, : len(rows[i])] = rows[i]
                mask[row, : len(rows[i])] = 1.0
            with _one_blas_thread():
                hidden = self._forward(ids, mask)
            # sentence-transformers' mean pooling: over every real position, [CLS]/[SEP] included.
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for row, i in enumerate(chunk):
                size = len(rows[i])
                results[i] = Encoded(pooled[row].copy(), hidden[row, 1 : size - 1].copy())
        return [r for r in results if r is not None]

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length sentence vectors (float32), one row per text."""
        encoded = self.encode_pieces([self.tokenizer.encode(t) for t in texts], batch_size)
        if not encoded:
            return np.zeros((0, self.hidden), dtype=np.float32)
        return np.stack([e.sentence for e in encoded]).astype(np.float32, copy=False)


# One encoder per model folder for the whole process: the Rasa training and serving graphs may
# create their components more than once, and the weights take a second and 90 MB to load.
_encoders: dict[Path, SentenceEncoder] = {}
_encoders_lock = threading.Lock()


def load_encoder(directory: Path | None = None) -> SentenceEncoder:
    """The process's encoder for `directory` (default: the folder `make setup` extracted).

    Raises understanding.weights.EncoderMissing when the weights are not there.
    """
    path = installed(directory)
    with _encoders_lock:
        if path not in _encoders:
            _encoders[path] = SentenceEncoder(path)
        return _encoders[path]
