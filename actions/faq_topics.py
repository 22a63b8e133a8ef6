"""FAQ topics as the rephrase buttons show them: a readable question and a payload that works.

Each `faq/<key>` in data/nlu/faq/*.yml lists its canonical question first. That question is the
button's payload as written (it is a training example, so sending it back is answered with the
same topic far above the fallback threshold; a `/faq/<key>` payload does not work in Rasa 3.6:
the `/intent` shortcut knows only domain intents and never fills the response selector) and,
tidied up, its title: "how long does shipping take" -> "How long does shipping take?".

The files are re-read when they change, so topics an editor publishes show up without a restart.
Where the files are not deployed beside the actions (FAQ_DATA_DIR points elsewhere or nowhere),
the key itself is used: "shipping_time" -> "Shipping time".
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from actions.parsing import topic_title

logger = logging.getLogger(__name__)

DEFAULT_FAQ_DIR = Path(__file__).resolve().parent.parent / "data" / "nlu" / "faq"
FAQ_INTENT_PREFIX = "faq/"


@dataclass(frozen=True)
class FaqTopic:
    """One FAQ topic as a quick-reply button."""

    key: str
    title: str
    payload: str


class FaqTopicCatalogue:
    """Canonical questions of the FAQ topics, read from the FAQ training files on demand."""

    def __init__(self, directory: Path | None = None) -> None:
        configured = os.environ.get("FAQ_DATA_DIR", "").strip()
        self.directory = directory or (Path(configured) if configured else DEFAULT_FAQ_DIR)
        self._questions: dict[str, str] = {}
        self._signature: tuple[tuple[str, float], ...] = ()
        self._lock = threading.Lock()

    def topic(self, key: str) -> FaqTopic:
        """The button for `key` ("shipping_time"); falls back to the key when it is unknown."""
        question = self._current_questions().get(key)
        if question:
            return FaqTopic(key=key, title=topic_title(question), payload=question)
        readable = key.replace("_", " ").strip().capitalize()
        return FaqTopic(key=key, title=readable, payload=readable)

    def _current_questions(self) -> dict[str, str]:
        files = sorted(self.directory.glob("*.yml")) if self.directory.is_dir() else []
        signature = tuple((str(path), path.stat().st_mtime) for path in files)
        with self._lock:
            if signature != self._signature:
                self._questions = _read_canonical_questions(files)
                self._signature = signature
            return self._questions


def _read_canonical_questions(files: list[Path]) -> dict[str, str]:
    questions: dict[str, str] = {}
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            # A file mid-edit must not break the fallback; its topics fall back to their keys.
            logger.warning("cannot read FAQ file %s: %s", path.name, error)
            continue
        for block in content.get("nlu") or []:
            intent = str(block.get("intent", ""))
            if not intent.startswith(FAQ_INTENT_PREFIX):
                continue
            first = _first_example(str(block.get("examples", "")))
            if first:
                questions[intent[len(FAQ_INTENT_PREFIX) :]] = first
    return questions


def _first_example(examples: str) -> str | None:
    for line in examples.splitlines():
        text = line.strip()
        if text.startswith("- "):
            return text[2:].strip() or None
    return None
