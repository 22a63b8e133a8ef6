"""Unanswered questions: customer messages the assistant could not answer, for content editors.

A message is recorded when the assistant asked the customer to rephrase it (the rephrase action
marks its reply with the custom payload `{"unanswered": {...}}`, which the gateway strips) or
when triage escalated it to a person for how it was said (anger, frustration, distress, risk:
often a question the assistant has no topic for). Explicit requests for a person and order
problems are not content gaps and are not recorded.

    {p}:faq:unanswered  stream  text (personal data masked), conversation, kind, reason, at

The stream is capped (MAXLEN ~ UNANSWERED_KEPT), so it never grows without bound. Editors see
the messages grouped by similarity: TF-IDF over words, word pairs and character n-grams, cosine
similarity, and single-linkage grouping of the pairs above a threshold.
Pure Python and numpy; nothing is downloaded or trained ahead of time.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from redis.asyncio import Redis

from handoff.conversations.keys import UNANSWERED_KEPT, Keys
from handoff.conversations.store import now_ms
from vocabulary.pii import mask

# The reply marker the rephrase action (actions/faq_fallback.py) adds to its message.
MARKER = "unanswered"
# Triage reasons whose message is worth an editor's look; a request for a person is not.
RECORDED_ESCALATIONS = frozenset({"anger", "frustration", "distress", "risk"})
# Cosine similarity to a group's leader at which a message joins it. On the tests' known
# messages, paraphrases score 0.3-0.6 with their leader and different questions at most 0.17;
# on the assistant's 1016 labelled FAQ questions it gives groups 71 % pure by topic, where
# 0.2 gives 52 % (bench/unanswered_bench.py): a group an editor turns into a topic should be
# one question, even if that leaves some paraphrases in groups of their own.
GROUP_THRESHOLD = 0.3
# Pseudo-messages added to the idf counts (see _idf).
IDF_PRIOR = 5
# The longest text kept; editors need the question, not an essay.
MAX_TEXT = 500

_WORD = re.compile(r"[a-z0-9']+")
# Words every question shares ("do you", "can I", "is there"): they would make unrelated
# questions look alike, so they are left out when a message has any other words.
_FILLER_WORDS = """
    a an and are can could do does for have how i i'm in is it me my of on or please the there
    to what when where which will with would you your
"""
_FILLER = frozenset(_FILLER_WORDS.split())


@dataclass(frozen=True)
class UnansweredMessage:
    id: str
    text: str
    conversation: str
    kind: str
    reason: str
    at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "conversation": self.conversation,
            "kind": self.kind,
            "reason": self.reason,
            "at": self.at,
        }


@dataclass
class QuestionGroup:
    """Messages that ask much the same thing, newest first."""

    messages: list[UnansweredMessage] = field(default_factory=list)
    # The message the others resemble; its text names the group.
    leader: UnansweredMessage | None = None

    def to_json(self, examples: int = 5) -> dict[str, Any]:
        leader = self.leader or self.messages[0]
        return {
            "id": leader.id,
            "count": len(self.messages),
            "text": leader.text,
            "last_at": max(m.at for m in self.messages),
            "ids": [m.id for m in self.messages],
            "examples": [m.to_json() for m in self.messages[:examples]],
            "kinds": dict(Counter(m.kind for m in self.messages)),
        }


def worth_recording(text: str) -> bool:
    """Button payloads (`/affirm`) and empty messages say nothing about a missing topic."""
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("/")


async def record(
    redis: Redis, keys: Keys, cid: str, text: str, kind: str, reason: str = ""
) -> str | None:
    """Keep one unanswered message (masked); returns its id, or None if it is not worth it."""
    if not worth_recording(text):
        return None
    entry_id = await redis.xadd(
        keys.faq_unanswered,
        {
            "text": mask(text.strip())[:MAX_TEXT],
            "conversation": cid,
            "kind": kind,
            "reason": reason,
            "at": str(now_ms()),
        },
        maxlen=UNANSWERED_KEPT,
        approximate=True,
    )
    return str(entry_id)


def _message(entry_id: Any, values: dict[str, Any]) -> UnansweredMessage:
    return UnansweredMessage(
        id=str(entry_id),
        text=str(values.get("text", "")),
        conversation=str(values.get("conversation", "")),
        kind=str(values.get("kind", "")),
        reason=str(values.get("reason", "")),
        at=int(values.get("at") or 0),
    )


async def read(redis: Redis, keys: Keys, limit: int = UNANSWERED_KEPT) -> list[UnansweredMessage]:
    """The recorded messages, newest first."""
    raw = cast(list[Any], await redis.xrevrange(keys.faq_unanswered, count=limit) or [])
    return [_message(entry_id, values) for entry_id, values in raw]


async def dismiss(redis: Redis, keys: Keys, ids: list[str]) -> int:
    """Forget these messages (dismissed, or turned into a phrasing); returns how many went."""
    if not ids:
        return 0
    return int(await redis.xdel(keys.faq_unanswered, *ids))


def features(text: str) -> Counter[str]:
    """Words, word stems, word pairs and character 3-5-grams of the words that carry meaning:
    paraphrases ("gift wrap" / "gift wrapping") and typos ("canda") share many of them."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _FILLER] or _WORD.findall(
        text.lower()
    )
    grams: Counter[str] = Counter(f"w:{w}" for w in words)
    grams.update(f"b:{a} {b}" for a, b in itertools.pairwise(words))
    grams.update(f"s:{w[:5]}" for w in words if len(w) > 3)
    for word in words:
        padded = f" {word} "
        for n in (3, 4, 5):
            grams.update(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    return grams


def _idf(total: int, containing: int) -> float:
    # Smoothed as if IDF_PRIOR more messages without the feature had been seen: with only a
    # handful of messages, raw idf would rate a word rare or common by chance.
    return math.log((1 + total + IDF_PRIOR) / (1 + containing + IDF_PRIOR)) + 1.0


def similarities(texts: list[str]) -> np.ndarray:
    """Cosine similarities of the texts' TF-IDF vectors (sublinear tf, smoothed idf).

    The vectors are sparse (a message has a few dozen of the many thousand features), so the
    products are summed feature by feature over the messages that have it, instead of
    multiplying mostly-zero dense matrices.
    """
    counted = [features(t) for t in texts]
    documents: Counter[str] = Counter()
    for grams in counted:
        documents.update(grams.keys())
    total = len(texts)
    postings: dict[str, tuple[list[int], list[float]]] = {}
    for row, grams in enumerate(counted):
        weights = {
            gram: (1.0 + math.log(count)) * _idf(total, documents[gram])
            for gram, count in grams.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for gram, weight in weights.items():
            rows, values = postings.setdefault(gram, ([], []))
            rows.append(row)
            values.append(weight / norm)
    matrix = np.zeros((total, total), dtype=np.float32)
    for rows, values in postings.values():
        if len(rows) > 1:
            index = np.array(rows)
            vector = np.array(values, dtype=np.float32)
            matrix[np.ix_(index, index)] += np.outer(vector, vector)
    np.fill_diagonal(matrix, 1.0)
    return matrix


def group(
    messages: list[UnansweredMessage], threshold: float = GROUP_THRESHOLD
) -> list[QuestionGroup]:
    """Groups of similar messages, the largest first (ties: the one with the newest message).

    The message most others resemble (at least `threshold` cosine similarity) leads a group and
    takes every ungrouped message that resembles it; then the next most-resembled ungrouped
    message, and so on. Each group is a ball around its leader, so a chain of loosely related
    messages cannot snowball into one group, and the result does not depend on arrival order.
    Messages keep their order (newest first) inside a group; the leader's text names it.
    """
    if not messages:
        return []
    # Identical texts (common: the same question from many customers) are compared once.
    distinct = list(dict.fromkeys(m.text.lower().strip() for m in messages))
    position = {text: i for i, text in enumerate(distinct)}
    of_message = np.array([position[m.text.lower().strip()] for m in messages])
    close = (similarities(distinct) >= threshold)[np.ix_(of_message, of_message)]
    neighbours = close.sum(axis=1)
    # Most neighbours first; among equals the newest (messages come newest first).
    leaders = sorted(range(len(messages)), key=lambda i: (-int(neighbours[i]), i))
    grouped = np.zeros(len(messages), dtype=bool)
    groups: list[tuple[int, QuestionGroup]] = []
    for leader in leaders:
        if grouped[leader]:
            continue
        members = np.flatnonzero(close[leader] & ~grouped)
        grouped[members] = True
        found = QuestionGroup([messages[int(i)] for i in members])
        found.leader = messages[leader]
        groups.append((int(members.min()), found))
    groups.sort(key=lambda pair: (-len(pair[1].messages), pair[0]))
    return [g for _, g in groups]
