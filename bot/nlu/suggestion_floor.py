"""Choose the confidence floor below which the console suggests no FAQ answer to an agent.

    .venv-rasa/bin/python -m bot.nlu.suggestion_floor [--model models/<name>.tar.gz]

The agent console offers up to three FAQ answers for the customer's latest message
(handoff/console/reply_aids.py), each with the confidence Rasa's parse gives its topic. A
suggestion below the floor is not shown: a wrong one costs the agent a read and may be sent by
mistake, and "none" is better than noise. Every message of the development set
(data/dev/faq_dev.yml: written apart from the training data, never trained on, there to choose
settings; never the held-out sets in tests/) goes through the real model, and each candidate
floor is scored as

    utility = suggestions that are the message's own topic - suggestions that are not

so a floor is worth having where a suggestion shown above it is more often right than wrong.
Two scores are compared for the same ranking: the topic's confidence given that the message is
an FAQ question (what the ResponseSelector reports), and that times the confidence that it is an
FAQ question at all (so an order complaint, an off-topic question or a demand for a person does
not get FAQ answers because some topic is the least unlikely). The highest utility wins; on a
tie, the lower floor (it shows more).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.model import ensure_model
from bot.prediction import FAQ

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "data" / "dev" / "faq_dev.yml"
FLOORS = tuple(round(0.05 * n, 2) for n in range(1, 19))
SHOWN = 3  # reply_aids.MAX_SUGGESTIONS


@dataclass(frozen=True)
class Candidate:
    """One suggestion the console could show for a message."""

    topic_confidence: float  # P(topic | FAQ), the ResponseSelector's
    joint_confidence: float  # P(FAQ) x P(topic | FAQ)
    right: bool


def candidates(parse: dict[str, Any], gold: str) -> list[Candidate]:
    """The top SHOWN suggestions of a parse, each marked right if it is the message's topic."""
    faq = next(
        (
            float(i.get("confidence") or 0)
            for i in parse.get("intent_ranking") or []
            if i.get("name") == FAQ
        ),
        0.0,
    )
    selector = (parse.get("response_selector") or {}).get(FAQ) or {}
    ranking = sorted(
        selector.get("ranking") or [], key=lambda r: float(r.get("confidence") or 0), reverse=True
    )
    return [
        Candidate(
            topic_confidence=float(r.get("confidence") or 0),
            joint_confidence=faq * float(r.get("confidence") or 0),
            right=str(r.get("intent_response_key")) == gold,
        )
        for r in ranking[:SHOWN]
    ]


def utility(
    all_candidates: Sequence[Sequence[Candidate]], floor: float, joint: bool
) -> tuple[int, int, int]:
    """(utility, right shown, wrong shown) at `floor`."""
    right = wrong = 0
    for shown in all_candidates:
        for c in shown:
            if (c.joint_confidence if joint else c.topic_confidence) >= floor:
                right += c.right
                wrong += not c.right
    return right - wrong, right, wrong


async def parses(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent  # deferred: rasa takes seconds to import

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", help="a trained model (default: the current one)")
    args = parser.parse_args(argv)
    messages = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["messages"]
    golds = [
        f"faq/{m['topic']}" if m["topic"] != "out_of_scope" else "out_of_scope" for m in messages
    ]
    parsed = asyncio.run(parses(args.model or str(ensure_model()), [m["text"] for m in messages]))
    found = [candidates(p, g) for p, g in zip(parsed, golds, strict=True)]
    off_topic = golds.count("out_of_scope")
    print(
        f"{len(messages)} development messages ({off_topic} off-topic), {SHOWN} suggestions each\n"
    )
    print("| floor | topic confidence: utility (right / wrong) | joint: utility (right / wrong) |")
    print("|---|---|---|")
    best: tuple[int, float, float, bool] = (-(10**9), 0.0, 0.0, False)
    for floor in FLOORS:
        cells = []
        for joint in (False, True):
            score, right, wrong = utility(found, floor, joint)
            cells.append(f"{score} ({right} / {wrong})")
            if score > best[0]:
                best = (score, -floor, floor, joint)
        print(f"| {floor:.2f} | {cells[0]} | {cells[1]} |")
    score, _, floor, joint = best
    none_right = sum(1 for shown in found for c in shown if c.right)
    score_name = "joint" if joint else "topic"
    print(f"\nchosen: floor {floor:.2f} on the {score_name} confidence, utility {score}")
    print(f"every suggestion shown: utility {utility(found, 0.0, joint)[0]}")
    print(f"right answers among the candidates: {none_right}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
