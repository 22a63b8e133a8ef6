"""The assistant's model in this process, through Rasa's Agent.

    use_project_settings()   Rasa's cache and settings as the launcher gives them (bot.model)
    quiet_rasa(level)        Rasa's logs at `level` and above only
    predict(model, examples) every (text, expected label) through the model, as Predictions

Rasa (and TensorFlow under it) is imported inside the functions, never at module level: the
FAQ tool imports this, and its quick commands (`bot faq list`) must start in a fraction of a
second.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence

from bot import model
from bot.prediction import Prediction, to_prediction


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


async def predict(model_path: str, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
    """Load the model and read its parse of every (text, expected label)."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [to_prediction(text, gold, await agent.parse_message(text)) for text, gold in examples]
