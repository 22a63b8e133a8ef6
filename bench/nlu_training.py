"""The NLU benchmark's pipeline and training: the benchmark pipeline derived from a Rasa config,
`rasa train` in a child process from an empty cache with its wall time, CPU time and peak memory
measured, and prediction with a trained model. Used by bench/nlu_bench.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.nlu_data import Example
from bot.model import ROOT
from bot.prediction import Prediction
from bot.rasa_agent import predict as predict_all

# Components that work on the `faq` retrieval intent only (see bench/nlu_bench.py's docstring).
# Components that only pick a topic inside a retrieval intent (none in config.yml today: its
# classifier treats every FAQ topic as a label of its own, and works on data without any).
FAQ_ONLY_COMPONENTS = ("ResponseSelector",)
FALLBACK_COMPONENT = "FallbackClassifier"


@dataclass(frozen=True)
class Pipeline:
    """The benchmark pipeline derived from a Rasa config, and the fallback setting it had."""

    source: Path
    config: dict[str, Any]
    dropped: tuple[str, ...]
    threshold: float
    ambiguity: float


def benchmark_pipeline(config_path: Path) -> Pipeline:
    """The config's pipeline without the FAQ-only components and the FallbackClassifier."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    fallback: dict[str, Any] = {}
    for component in config["pipeline"]:
        name = component["name"]
        if name == FALLBACK_COMPONENT:
            fallback = component
        elif name in FAQ_ONLY_COMPONENTS:
            dropped.append(name)
        else:
            kept.append(component)
    derived = {
        "recipe": config.get("recipe", "default.v1"),
        "language": config["language"],
        "pipeline": kept,
        "policies": [],
    }
    return Pipeline(
        source=config_path,
        config=derived,
        dropped=tuple(dropped),
        threshold=float(fallback.get("threshold", 0.3)),
        ambiguity=float(fallback.get("ambiguity_threshold", 0.1)),
    )


@dataclass(frozen=True)
class Training:
    model: str
    seconds: float
    cpu_seconds: float  # user + system of the training process tree: robust to a busy machine
    peak_rss_mib: float


def tree_rss_kib(root_pid: int) -> int:
    """Resident set of a process and all its descendants, from /proc (kB)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    total = 0
    for pid in family:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(
    command: Sequence[str], env: dict[str, str], log: Path
) -> tuple[float, float, float]:
    """Run a command to completion; (wall seconds, CPU seconds, peak RSS of its process tree
    in MiB). The CPU time is that of every descendant the command waited for."""
    peak = 0
    cpu_before = cpu_of_children()
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, tree_rss_kib(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = process.wait()
        finally:  # interrupted (Ctrl-C, SIGTERM): stop the training too
            if process.poll() is None:
                process.kill()
                process.wait()
            done.set()
            sampler.join()
    seconds = time.monotonic() - started
    cpu = cpu_of_children() - cpu_before
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} failed (exit {code}):\n{tail}")
    return seconds, cpu, peak / 1024


def write_nlu(examples: Sequence[Example], path: Path) -> None:
    """Rasa YAML training data, written by Rasa's own writer so texts are quoted correctly."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": label}) for text, label in examples]
    RasaYAMLWriter().dump(path, TrainingData(training_examples=messages))


def training_env(workdir: Path) -> dict[str, str]:
    """A fresh Rasa cache and vector cache (training from scratch; the benchmarks' texts stay
    out of the assistant's vector cache), and `bot` importable for custom components."""
    python_path = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "RASA_CACHE_DIRECTORY": str(workdir / "cache"),
        "HARBOR_VECTOR_CACHE": str(workdir / "vectors"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join(p for p in python_path if p),
    }


def rasa_train(workdir: Path, name: str, arguments: Sequence[str]) -> Training:
    """`rasa train <arguments>` into workdir/<name>.tar.gz from an empty cache, measured."""
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        *arguments,
        "--out",
        str(workdir),
        "--fixed-model-name",
        name,
    ]
    seconds, cpu, peak = run_measured(command, training_env(workdir), workdir / f"{name}.log")
    return Training(str(workdir / f"{name}.tar.gz"), seconds, cpu, peak)


def train(pipeline: Pipeline, examples: Sequence[Example], workdir: Path, name: str) -> Training:
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(pipeline.config, sort_keys=False), encoding="utf-8")
    data_path = workdir / "nlu.yml"
    write_nlu(examples, data_path)
    return rasa_train(workdir, name, ["nlu", "--config", str(config_path), "--nlu", str(data_path)])


def predict(model: str, examples: Sequence[Example]) -> list[Prediction]:
    # Rasa prints some messages' texts while parsing; the report is stdout, so keep them out.
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        return asyncio.run(predict_all(model, examples))
