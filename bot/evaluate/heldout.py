"""The message sets written apart from the training data, and how they are read.

    tests/nlu/faq_heldout_styles.yml    6 messages per topic in several writing styles (story,
                                        typos, indirect, nonnative, fragment, and one more)
    tests/nlu/faq_heldout.yml           the first held-out paraphrases, 5 per topic (Rasa NLU)
    tests/nlu/out_of_scope_heldout.yml  near-domain and general questions to decline
    CLINC150's oos_test                 1,000 out-of-scope questions (bench/data, or
                                        CLINC150_DATA)

Never trained on, never used to choose anything; data/dev/faq_dev.yml, the development set,
has the styles file's format and is read with the same function. Read with PyYAML alone, so
the sets load without rasa.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.faq.library import parse_examples
from bot.model import ROOT
from bot.prediction import OUT_OF_SCOPE

HELDOUT_DIR = ROOT / "tests" / "nlu"
STYLES_FILE = HELDOUT_DIR / "faq_heldout_styles.yml"
FIRST_HELDOUT_FILE = HELDOUT_DIR / "faq_heldout.yml"
OUT_OF_SCOPE_FILE = HELDOUT_DIR / "out_of_scope_heldout.yml"
CLINC150 = Path(
    os.environ.get("CLINC150_DATA", ROOT / "bench" / "data" / "clinc150" / "data_full.json")
)


@dataclass(frozen=True)
class Message:
    text: str
    expected: str  # faq/<key>, an intent, or out_of_scope
    group: str  # the writing style or kind


def read_topic_messages(path: Path = STYLES_FILE) -> list[Message]:
    """`messages: [{topic, style, text}]`, where a topic is an FAQ key or out_of_scope."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [
        Message(
            str(r["text"]),
            OUT_OF_SCOPE if r["topic"] == OUT_OF_SCOPE else f"faq/{r['topic']}",
            str(r.get("style", "")),
        )
        for r in rows
    ]


def read_nlu_examples(path: Path = FIRST_HELDOUT_FILE) -> list[Message]:
    """A Rasa NLU file read without rasa: `- intent: x` blocks with `examples: |` lines."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        Message(text, str(block["intent"]), "paraphrase")
        for block in document.get("nlu") or []
        if isinstance(block, dict) and "intent" in block
        for text in parse_examples(block.get("examples", ""))
    ]


def read_out_of_scope(path: Path = OUT_OF_SCOPE_FILE) -> list[Message]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [Message(str(r["text"]), OUT_OF_SCOPE, str(r["kind"])) for r in rows]


def read_clinc_oos(path: Path = CLINC150) -> list[Message]:
    """CLINC150's out-of-scope test questions (the benchmark copy must be present)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Message(str(text), OUT_OF_SCOPE, "clinc150_oos_test") for text, _ in data["oos_test"]]
