"""The words the cue phrase tables are written in: one spaCy ``Matcher`` token at a time.

A pattern is a list of token specs; these helpers keep the tables readable, so a legal threat
reads ``[in_("lawyer lawyers solicitor")]`` rather than a nest of dicts. Plain data, no spaCy:
the matcher (:mod:`handoff.assistant.triage.cue_matcher`) is what compiles the patterns.
"""

from __future__ import annotations

from typing import Any

Pattern = list[dict[str, Any]]


def in_(words: str, op: str | None = None) -> dict[str, Any]:
    """One token whose lowercase form is one of the space-separated ``words``."""
    token: dict[str, Any] = {"LOWER": {"IN": words.split()}}
    if op:
        token["OP"] = op
    return token


def fuzzy(words: str) -> dict[str, Any]:
    # One edit catches "humn", "agnet", "persn" without letting "human" match "woman".
    return {"LOWER": {"FUZZY1": {"IN": words.split()}}}


def gap(most: int) -> dict[str, Any]:
    """Up to ``most`` tokens of anything."""
    return {"OP": f"{{0,{most}}}"}
