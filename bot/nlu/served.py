"""What customers get from the trained assistant on messages it never saw, by writing style.

    .venv-rasa/bin/python -m bot.nlu.served [--model models/<name>.tar.gz]

Every message goes through the real model (Rasa's Agent: the whole NLU pipeline, fallback
included) and is counted as served right (the right answer, or an off-topic question
declined), served wrong (another answer, or a shop question declined) or "please rephrase".
The sets are read, never trained on (tests/nlu/, written apart from data/nlu/):

    tests/nlu/faq_heldout_styles.yml    6 messages per topic in five styles (story, typos,
                                        indirect, nonnative, fragment, and one more)
    tests/nlu/faq_heldout.yml           the first held-out paraphrases, 5 per topic
    tests/nlu/out_of_scope_heldout.yml  near-domain and general questions to decline
    CLINC150's oos_test                 1,000 out-of-scope questions (bench/data)

tests/rasa/test_understanding_gates.py holds these figures to the goals in docs/assistant.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.calibrate import is_right
from bot.nlu.classifier import OUT_OF_SCOPE

ROOT = Path(__file__).resolve().parents[2]
HELDOUT_DIR = ROOT / "tests" / "nlu"
STYLES_FILE = HELDOUT_DIR / "faq_heldout_styles.yml"
FIRST_HELDOUT_FILE = HELDOUT_DIR / "faq_heldout.yml"
OUT_OF_SCOPE_FILE = HELDOUT_DIR / "out_of_scope_heldout.yml"
CLINC150 = ROOT / "bench" / "data" / "clinc150" / "data_full.json"
FALLBACK = "nlu_fallback"
DECLINE = "decline"
REPHRASE = "rephrase"


@dataclass(frozen=True)
class Message:
    text: str
    expected: str  # faq/<key>, an intent, or out_of_scope
    group: str  # the writing style or kind


@dataclass
class Tally:
    right: int = 0
    wrong: int = 0
    rephrase: int = 0
    declined: int = 0  # of all messages, how many got the out-of-scope decline
    misses: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.rephrase

    def share(self, count: int) -> float:
        return 100.0 * count / self.total if self.total else 0.0


def read_styles(path: Path = STYLES_FILE) -> list[Message]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [Message(str(r["text"]), f"faq/{r['topic']}", str(r["style"])) for r in rows]


def read_rasa_examples(path: Path = FIRST_HELDOUT_FILE) -> list[Message]:
    """A Rasa NLU file read without rasa: `- intent: x` then `examples: |` lines."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    messages: list[Message] = []
    for block in loaded.get("nlu") or []:
        for line in str(block.get("examples") or "").splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                messages.append(Message(text, str(block["intent"]), "paraphrase"))
    return messages


def read_out_of_scope(path: Path = OUT_OF_SCOPE_FILE) -> list[Message]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]
    return [Message(str(r["text"]), OUT_OF_SCOPE, str(r["kind"])) for r in rows]


def read_clinc_oos(path: Path = CLINC150) -> list[Message]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Message(str(text), OUT_OF_SCOPE, "clinc150_oos_test") for text, _ in data["oos_test"]]


def answer(parsed: dict[str, Any]) -> str:
    """What the assistant does with a parse: rephrase, decline, an FAQ topic or an intent."""
    intent = str((parsed.get("intent") or {}).get("name") or "")
    if intent == FALLBACK:
        return REPHRASE
    if intent == OUT_OF_SCOPE:
        return DECLINE
    if intent == "faq":
        selected = ((parsed.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        return str(selected.get("intent_response_key") or "faq")
    return intent


def tally(messages: Sequence[Message], parses: Sequence[dict[str, Any]]) -> dict[str, Tally]:
    """Per group, and "all"."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for message, parsed in zip(messages, parses, strict=True):
        got = answer(parsed)
        for key in (message.group, "all"):
            t = tallies[key]
            t.declined += got == DECLINE
            if got == REPHRASE:
                t.rephrase += 1
            elif (got == DECLINE and message.expected == OUT_OF_SCOPE) or is_right(
                got, message.expected
            ):
                t.right += 1
            else:
                t.wrong += 1
                if key == "all":
                    t.misses.append(f"{message.expected} -> {got}: {message.text}")
    return dict(tallies)


async def parse_all(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def evaluate(model_path: str) -> dict[str, dict[str, Tally]]:
    """Every held-out set through the model: {set name: {group: Tally}}."""
    sets = {
        "styles": read_styles(),
        "paraphrases": read_rasa_examples(),
        "out_of_scope": read_out_of_scope(),
        "clinc150": read_clinc_oos(),
    }
    everything = [m for messages in sets.values() for m in messages]
    parses = asyncio.run(parse_all(model_path, [m.text for m in everything]))
    results: dict[str, dict[str, Tally]] = {}
    start = 0
    for name, messages in sets.items():
        results[name] = tally(messages, parses[start : start + len(messages)])
        start += len(messages)
    return results


def table(results: dict[str, dict[str, Tally]]) -> str:
    lines = [
        "| set | group | messages | served right | served wrong | please rephrase | declined |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, groups in results.items():
        for group in sorted(groups, key=lambda g: (g == "all", g)):
            t = groups[group]
            cells = " ".join(
                f"{t.share(count):.1f} % |" for count in (t.right, t.wrong, t.rephrase, t.declined)
            )
            lines.append(f"| {name} | {group} | {t.total} | {cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from bot.model import ensure_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", help="a trained model (default: the current one)")
    parser.add_argument("--misses", action="store_true", help="list every wrong answer")
    args = parser.parse_args(argv)
    model = args.model or str(ensure_model())
    results = evaluate(model)
    print(table(results))
    if args.misses:
        for name, groups in results.items():
            for miss in groups["all"].misses:
                print(f"{name}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
