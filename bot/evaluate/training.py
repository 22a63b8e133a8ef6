"""Section 1 of the evaluation: a full `rasa train` with an empty training cache, timed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.model import ROOT, data_dirs

CONFIG = ROOT / "config.yml"
DOMAIN = ROOT / "domain.yml"
TRAIN_BUDGET_SECONDS = 90.0  # the understanding issue's budget for a full training, empty cache


def rasa_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "rasa"), *args]


def train_full(out_dir: Path) -> tuple[str, float]:
    """Train config + domain + data into `out_dir` with an empty cache; (model, wall seconds)."""
    data = data_dirs()
    # Empty: Rasa's training cache and the phrasings' vectors (understanding/vector_cache.py).
    env = {
        **os.environ,
        "RASA_CACHE_DIRECTORY": str(out_dir / "cache"),
        "HARBOR_VECTOR_CACHE": str(out_dir / "vectors"),
    }
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    started = time.monotonic()
    subprocess.run(
        rasa_command("train", "--config", str(CONFIG), "--domain", str(DOMAIN), "--data", *data,
                     "--out", str(out_dir), "--fixed-model-name", "evaluated"),
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return str(out_dir / "evaluated.tar.gz"), time.monotonic() - started
