"""The assistant's model in this process, through Rasa's Agent.

    use_project_settings()   Rasa's cache and settings as the launcher gives them (bot.model)
    quiet_rasa(level)        Rasa's logs at `level` and above only
    predict(model, examples) every (text, expected label) through the model, as Predictions
    kept_predictions(...)    the same, read from the per-user cache when nothing they depend on
                             changed (the held-out gates in make test)

Rasa (and TensorFlow under it) is imported inside the functions, never at module level: the
FAQ tool imports this, and its quick commands (`bot faq list`) must start in a fraction of a
second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from bot import model
from bot import prediction as prediction_code
from bot.faq.library import atomic_write
from bot.prediction import Prediction, to_prediction

# What a model's parse of a message depends on besides the model file and the message: the code
# that reads it, the libraries that run it, and the CPU (onnxruntime's int8 kernels differ in the
# last bits between CPU families, which can flip a borderline message).
PARSING_LIBRARIES = ("rasa", "onnxruntime", "tensorflow", "numpy", "scipy", "scikit-learn")


def use_project_settings() -> None:
    """Rasa's cache folder and settings as the launcher sets them, where the environment does
    not set them already. Call before Rasa is imported: TensorFlow reads its log level then."""
    os.environ.update({k: v for k, v in model.rasa_env().items() if k not in os.environ})


def quiet_rasa(level: int = logging.WARNING) -> None:
    """Keep Rasa's debug logs (one line per parsed message, seconds of a check's time) out.

    At ERROR, Python's warnings go too: a benchmark's output is its tables.
    """
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(level)
    configure_structlog(level)
    if level >= logging.ERROR:
        warnings.filterwarnings("ignore")
        # Loading a model imports TensorFlow, whose import puts its own warning filters in
        # front of these (a benchmark report then carried SQLAlchemy's and jax's deprecation
        # notes between its tables); routed to a logger at ERROR, they stay out whatever
        # filters come later.
        logging.captureWarnings(True)
        logging.getLogger("py.warnings").setLevel(logging.ERROR)


async def predict(model_path: str, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
    """Load the model and read its parse of every (text, expected label)."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [to_prediction(text, gold, await agent.parse_message(text)) for text, gold in examples]


def kept_predictions(model_path: str, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
    """`predict`, kept in the per-user cache (<cache>/predictions/) under everything the result
    depends on: the model file's bytes, the examples, the parsing code, the libraries' versions
    and the CPU. The held-out gates read 1,500 messages through the model (over a minute on two
    cores); a `make test` whose model did not change reads them once. An unreadable entry is
    computed again and replaced."""
    digest = hashlib.sha256()
    with Path(model_path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    for code in (Path(__file__), Path(prediction_code.__file__)):
        digest.update(code.read_bytes())
    for library in PARSING_LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}\0".encode())
    digest.update(_cpu_description().encode())
    digest.update(json.dumps(list(examples)).encode())
    path = model.cache_dir() / "predictions" / f"{digest.hexdigest()[:24]}.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return [Prediction(**{**p, "faq_top": tuple(p["faq_top"])}) for p in kept]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    predictions = asyncio.run(predict(model_path, examples))
    atomic_write(path, json.dumps([dataclasses.asdict(p) for p in predictions]))
    return predictions


def _cpu_description() -> str:
    """The CPU's model name and feature flags (Linux), or nothing where they cannot be read."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    wanted = ("model name", "flags")
    return "\n".join(next((line for line in lines if line.startswith(w)), "") for w in wanted)
