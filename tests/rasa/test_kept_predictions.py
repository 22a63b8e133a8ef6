"""The held-out gates' parses, kept per model: read again only when something they depend on
changed, and never trusted when the kept file cannot be read."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot import rasa_agent
from bot.prediction import Prediction

ASKED = [("where is my parcel", "faq/track_package"), ("hello there", "greet")]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """Every text Rasa was asked to parse, one list per load of the model; the cache in a
    temporary folder."""
    monkeypatch.setenv("HARBOR_CACHE", str(tmp_path / "cache"))
    asked: list[list[str]] = []

    async def parse(model_path: str, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
        asked.append([text for text, _ in examples])
        label = await asyncio.to_thread(Path(model_path).read_text)
        return [
            Prediction(text, gold, label, 0.9, 0.05, None, 0.0, ("faq/a", "faq/b"), False)
            for text, gold in examples
        ]

    monkeypatch.setattr(rasa_agent, "predict", parse)
    return asked


def test_the_same_model_reads_the_same_messages_once(
    parses: list[list[str]], tmp_path: Path
) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_text("greet")
    first = rasa_agent.kept_predictions(str(model), ASKED)
    again = rasa_agent.kept_predictions(str(model), ASKED)
    assert again == first and again[0].faq_top == ("faq/a", "faq/b")
    assert parses == [["where is my parcel", "hello there"]]
    # Other messages, or another model, are read.
    rasa_agent.kept_predictions(str(model), ASKED[:1])
    model.write_text("faq")
    other = rasa_agent.kept_predictions(str(model), ASKED)
    assert [p.intent for p in other] == ["faq", "faq"]
    assert len(parses) == 3


def test_an_unreadable_kept_file_is_read_again_and_replaced(
    parses: list[list[str]], tmp_path: Path
) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_text("greet")
    rasa_agent.kept_predictions(str(model), ASKED)
    (kept,) = (tmp_path / "cache" / "predictions").iterdir()
    kept.write_text('[{"text": "half')
    assert [p.text for p in rasa_agent.kept_predictions(str(model), ASKED)] == [t for t, _ in ASKED]
    assert len(parses) == 2
    rasa_agent.kept_predictions(str(model), ASKED)
    assert len(parses) == 2  # the replaced file is read
