"""What customers get from the trained assistant on messages it never saw, by writing style.

    .venv-rasa/bin/python -m bot.nlu.served [--model models/<name>.tar.gz]

Every message goes through the real model (Rasa's Agent: the whole NLU pipeline, fallback
included) and is counted as served right (the right answer, or an off-topic question
declined), served wrong (another answer, or a shop question declined) or "please rephrase".
The sets are read, never trained on (bot/evaluate/heldout.py lists them): the styles, the
first held-out paraphrases, the out-of-scope questions and CLINC150's oos_test.

tests/nlu/test_understanding_gates.py holds these figures to the goals in docs/assistant.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from bot.evaluate.heldout import (
    Message,
    read_clinc_oos,
    read_nlu_examples,
    read_out_of_scope,
    read_topic_messages,
)
from bot.evaluate.tally import Tally, is_right
from bot.model import ensure_model
from bot.prediction import OUT_OF_SCOPE, Prediction
from bot.rasa_agent import kept_predictions, predict, quiet_rasa

DECLINE = "decline"
REPHRASE = "rephrase"


def served_as(prediction: Prediction) -> str:
    """What the assistant did: rephrase, decline, an FAQ topic or an intent."""
    if prediction.fell_back:
        return REPHRASE
    if prediction.answer == OUT_OF_SCOPE:
        return DECLINE
    return prediction.answer


def tally(messages: Sequence[Message], predictions: Sequence[Prediction]) -> dict[str, Tally]:
    """Per group, and "all"."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for message, prediction in zip(messages, predictions, strict=True):
        got = served_as(prediction)
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


def evaluate(model_path: str, keep: bool = False) -> dict[str, dict[str, Tally]]:
    """Every held-out set through the model: {set name: {group: Tally}}. With `keep`, the
    model's parses are read from the per-user cache when it has read these messages before
    (bot/rasa_agent.py `kept_predictions`)."""
    sets = {
        "styles": read_topic_messages(),
        "paraphrases": read_nlu_examples(),
        "out_of_scope": read_out_of_scope(),
        "clinc150": read_clinc_oos(),
    }
    everything = [m for messages in sets.values() for m in messages]
    asked = [(m.text, m.expected) for m in everything]
    predictions = (
        kept_predictions(model_path, asked) if keep else asyncio.run(predict(model_path, asked))
    )
    results: dict[str, dict[str, Tally]] = {}
    start = 0
    for name, messages in sets.items():
        results[name] = tally(messages, predictions[start : start + len(messages)])
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", help="a trained model (default: the current one)")
    parser.add_argument("--misses", action="store_true", help="list every wrong answer")
    args = parser.parse_args(argv)
    model = args.model or str(ensure_model())
    quiet_rasa(logging.ERROR)  # the output is its table, not a debug line per parsed message
    results = evaluate(model)
    print(table(results))
    if args.misses:
        for name, groups in results.items():
            for miss in groups["all"].misses:
                print(f"{name}: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
