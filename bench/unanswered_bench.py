"""How well and how fast the editor's unanswered questions are grouped
(handoff/editor/unanswered.py).

Customers' questions with known topics stand in for unanswered messages: the assistant's FAQ
training phrasings and its held-out paraphrases (tests/nlu/faq_heldout.yml), labelled by topic.
A good grouping puts questions of one topic together (pair recall) and keeps other topics out
(pair precision, purity). Compared in the same run with looser and stricter thresholds and with
plain single linkage (every pair above the threshold joins), which the leader grouping replaced
because chains of loosely related messages snowball into one group.

    .venv-app/bin/python bench/unanswered_bench.py
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_note  # noqa: E402
from handoff.editor.unanswered import (  # noqa: E402 - after the path is set
    GROUP_THRESHOLD,
    QuestionGroup,
    UnansweredMessage,
    group,
    similarities,
)


def labelled_questions() -> list[tuple[str, str]]:
    files = sorted((ROOT / "data" / "nlu" / "faq").glob("*.yml"))
    files.append(ROOT / "tests" / "nlu" / "faq_heldout.yml")
    found = []
    for path in files:
        for block in yaml.safe_load(path.read_text()).get("nlu") or []:
            intent = str(block.get("intent", ""))
            if intent.startswith("faq/"):
                for line in str(block.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        found.append((line.strip()[2:], intent[4:]))
    return found


def single_linkage(messages: list[UnansweredMessage], threshold: float) -> list[QuestionGroup]:
    close = similarities([m.text for m in messages]) >= threshold
    parent = list(range(len(messages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in np.argwhere(np.triu(close, k=1)):
        parent[root(int(a))] = root(int(b))
    groups: dict[int, QuestionGroup] = {}
    for i, message in enumerate(messages):
        groups.setdefault(root(i), QuestionGroup()).messages.append(message)
    return list(groups.values())


def scores(groups: list[QuestionGroup], topic: dict[str, str]) -> dict[str, float]:
    together = same_topic_together = 0
    for g in groups:
        for a, b in itertools.combinations(g.messages, 2):
            together += 1
            same_topic_together += topic[a.id] == topic[b.id]
    per_topic = Counter(topic.values())
    same_topic = sum(n * (n - 1) // 2 for n in per_topic.values())
    majority = sum(Counter(topic[m.id] for m in g.messages).most_common(1)[0][1] for g in groups)
    return {
        "groups": len(groups),
        "largest": max(len(g.messages) for g in groups),
        "purity": majority / len(topic),
        "pair precision": same_topic_together / together if together else 1.0,
        "pair recall": same_topic_together / same_topic,
    }


def main() -> None:
    questions = labelled_questions()
    messages = [
        UnansweredMessage(str(i), text, "c" * 32, "fallback", "", 0)
        for i, (text, _) in enumerate(questions)
    ]
    topic = {m.id: t for m, (_, t) in zip(messages, questions, strict=True)}
    print(f"{len(messages)} questions of {len(set(topic.values()))} topics\n")
    print("| grouping | groups | largest | purity | pair precision | pair recall | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    runs = [
        (f"leader, threshold {t}{' (used)' if t == GROUP_THRESHOLD else ''}", t, False)
        for t in sorted({0.15, 0.2, GROUP_THRESHOLD, 0.4, 0.5})
    ] + [(f"single linkage, threshold {GROUP_THRESHOLD}", GROUP_THRESHOLD, True)]
    for name, threshold, linkage in runs:
        began = time.perf_counter()
        groups = single_linkage(messages, threshold) if linkage else group(messages, threshold)
        seconds = time.perf_counter() - began
        s = scores(groups, topic)
        print(
            f"| {name} | {s['groups']} | {s['largest']} | {s['purity']:.2f} "
            f"| {s['pair precision']:.2f} | {s['pair recall']:.2f} | {seconds:.2f} |"
        )
    print(f"\n{machine_note()}")
    print("\nSpeed (the stored list holds at most 2000 messages):\n")
    print("| messages | seconds (best of 3) |")
    print("|---:|---:|")
    for n in (250, 500, 1000, 2000):
        sample = (messages * (n // len(messages) + 1))[:n]
        best = min(_timed(sample) for _ in range(3))
        print(f"| {n} | {best:.2f} |")
    print(f"\n{machine_note()}")


def _timed(sample: list[UnansweredMessage]) -> float:
    began = time.perf_counter()
    group(sample)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
