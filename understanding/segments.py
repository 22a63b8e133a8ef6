"""A long customer message cut into the parts its question may hide in.

Customers often tell a story before they ask ("I bought a lamp two weeks ago for my daughter's
new flat. It arrived cracked, what do I do?"). A sentence vector of the whole message blends the
story with the question; the sentences on their own let a classifier find the one that asks.
"""

from __future__ import annotations

import re

# Sentence ends, and line breaks (chat messages often use them instead of full stops). A full
# stop between digits ("4.95") or inside a web address does not end a sentence.
_BOUNDARY = re.compile(r"(?<=[!?])\s*|(?<=[.;])(?!\d)\s+|\s*\n+\s*")
_WORD = re.compile(r"\w+")
MIN_WORDS = 2  # "hi." or "ok so." alone carries no question


def sentences(text: str) -> list[str]:
    """The sentences of `text` with at least MIN_WORDS words, in order."""
    parts = (part.strip() for part in _BOUNDARY.split(text))
    return [part for part in parts if len(_WORD.findall(part)) >= MIN_WORDS]


def segments(text: str) -> list[str]:
    """The whole text first, then, for a message of several sentences, each sentence and the
    last two together (a question often spans them: "...it arrived cracked. what do i do?")."""
    found = sentences(text)
    if len(found) < 2:
        return [text]
    parts = [text, *found, " ".join(found[-2:])]
    return list(dict.fromkeys(parts))
