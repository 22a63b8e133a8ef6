"""The trained assistant model: which inputs it depends on, where it lives, how it is (re)built.

A model is named after a fingerprint of everything that shapes it (config.yml, domain.yml, the
Rasa training data and the Rasa version), so "is the model current?" is a file-exists check:

    models/harbor-<fingerprint>.tar.gz      the model the stack serves
    <cache>/models/harbor-<fingerprint>.tar.gz   the same file, kept outside the clone

The cache outside the clone lets a fresh clone on a machine that trained the same inputs before
start in seconds; Rasa's own incremental-training cache lives beside it for the same reason.
Only the standard library is used so the launcher can import this from either environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from understanding.weights import cache_root

ROOT = Path(__file__).resolve().parent.parent
# Rasa reads exactly these folders; data/triage belongs to the handoff service, not to Rasa.
RASA_DATA_DIRS = ("data/nlu", "data/rules", "data/stories")
RASA_VERSION = "3.6.21"


def cache_dir() -> Path:
    """The per-user cache shared by every clone on this machine."""
    return cache_root()


def training_inputs(root: Path = ROOT) -> list[Path]:
    """Every file whose content changes the trained model, in a stable order."""
    # Custom pipeline components are part of the model too (config.yml names them).
    files = [
        root / "config.yml",
        root / "domain.yml",
        *sorted((root / "bot" / "nlu").glob("*.py")),
        *sorted((root / "understanding").glob("*.py")),
    ]
    for folder in RASA_DATA_DIRS:
        base = root / folder
        if base.is_dir():
            files.extend(
                sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in {".yml", ".yaml"})
            )
    return files


def data_dirs(root: Path = ROOT) -> list[str]:
    """The Rasa data folders that exist (a project may have rules but no stories)."""
    return [str(root / d) for d in RASA_DATA_DIRS if (root / d).is_dir()]


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256(RASA_VERSION.encode())
    for path in training_inputs(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ModelPlan:
    name: str
    path: Path
    cached: Path

    @property
    def current(self) -> bool:
        return self.path.exists()


def plan(root: Path = ROOT, models_dir: Path | None = None) -> ModelPlan:
    name = f"harbor-{fingerprint(root)}"
    out = models_dir or root / "models"
    return ModelPlan(
        name=name, path=out / f"{name}.tar.gz", cached=cache_dir() / "models" / f"{name}.tar.gz"
    )


class TrainingFailed(RuntimeError):
    """Rasa could not train on the current files; the message says what is wrong."""


def rasa_executable(root: Path = ROOT) -> str:
    candidate = root / ".venv-rasa" / "bin" / "rasa"
    return str(candidate) if candidate.exists() else "rasa"


def train_command(model: ModelPlan, root: Path = ROOT) -> list[str]:
    return [
        rasa_executable(root),
        "train",
        "--config",
        str(root / "config.yml"),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        *data_dirs(root),
        "--out",
        str(model.path.parent),
        "--fixed-model-name",
        model.name,
    ]


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RASA_CACHE_DIRECTORY", str(cache_dir() / "rasa-cache"))
    # Rasa phones home and asks questions on first run otherwise; neither is wanted here.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "OPENBLAS_CORETYPE" not in env:
        # The sentence encoder's speed depends on it: see scripts/blas-coretype.sh.
        found = subprocess.run(
            ["sh", str(ROOT / "scripts" / "blas-coretype.sh")],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if found:
            env["OPENBLAS_CORETYPE"] = found
    return env


def ensure_model(root: Path = ROOT, models_dir: Path | None = None, quiet: bool = False) -> Path:
    """Return the current model, training it only when its inputs changed."""
    model = plan(root, models_dir)
    if model.current:
        return model.path
    model.path.parent.mkdir(parents=True, exist_ok=True)
    if model.cached.exists():
        shutil.copy2(model.cached, model.path)
        return model.path
    if not quiet:
        print(f"==> training the assistant model {model.name} (inputs changed)", flush=True)
    log = model.path.parent / f"{model.name}.train.log"
    with log.open("w") as out:
        result = subprocess.run(
            train_command(model, root),
            cwd=root,
            env=rasa_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0 or not model.path.exists():
        raise TrainingFailed(_training_error(log))
    log.unlink(missing_ok=True)
    keep_in_cache(model)
    return model.path


def keep_in_cache(model: ModelPlan) -> None:
    """Copy a trained model into the per-user cache, whole or not at all: a clone or a publish
    that finds it there uses it instead of training, so a half-written file must never be seen
    under its name. A cache that cannot be written costs a later training, never this one."""
    if model.cached.exists():
        return
    with contextlib.suppress(OSError):
        model.cached.parent.mkdir(parents=True, exist_ok=True)
        partial = model.cached.with_name(f".{model.cached.name}.{os.getpid()}")
        try:
            shutil.copy2(model.path, partial)
            os.replace(partial, model.cached)
        finally:
            partial.unlink(missing_ok=True)


def _training_error(log: Path) -> str:
    """The most telling line of a failed training log, for a one-sentence error."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    for marker in ("YamlSyntaxException", "InvalidDomain", "Error", "error"):
        for line in reversed(lines):
            if marker in line:
                return f"{line[:400]} (full log: {log})"
    return f"rasa train failed (full log: {log})"


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args and args[0] == "fingerprint":
        print(plan().name)
        return 0
    try:
        path = ensure_model()
    except TrainingFailed as error:
        print(f"error: the assistant model could not be trained: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
