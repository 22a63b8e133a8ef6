"""The ``harbor_triage_cues`` pipeline component: finds the cues of :mod:`.cues`.

Importing this module registers the spaCy factory the saved pipeline config names, and the
``Doc._.triage_cues`` extension the component fills; loading or building a pipeline imports it
first. A match is dropped when the words just before it negate it ("i don't need to speak to
anyone"), and "are you a real person?" probes the bot rather than asking for a person.
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from .cue_phrases_service import BARE_PATTERN, BARE_REQUEST
from .cues import CUE_LABELS, DOC_ATTR, FACTORY, PATTERN_TABLES
from .reasons import ANGER, HUMAN_REQUEST

# "i don't need to speak to anyone" is not a request; "why can't i speak to someone" is.
_NEGATORS = frozenset({"not", "n't", "nt", "never", "no", "dont", "without"})
_MODALS = frozenset({"ca", "can", "could", "wo", "why", "wont", "cant", "couldnt"})
_NEGATABLE = frozenset({HUMAN_REQUEST, ANGER})


def _negated(doc: Doc, start: int) -> bool:
    for i in range(max(0, start - 4), start):
        if doc[i].lower_ in _NEGATORS and not (i > 0 and doc[i - 1].lower_ in _MODALS):
            return True
    return False


def _asks_if_bot_is_human(doc: Doc, start: int) -> bool:
    # "are you a real person?" probes the bot; "get me a real person" asks for one.
    return any(doc[i].lower_ in {"you", "u"} for i in range(max(0, start - 2), start))


def _is_bare_request(doc: Doc, matches: Sequence[tuple[int, int, int]]) -> bool:
    words = [t.i for t in doc if not (t.is_punct or t.is_space)]
    if not words or len(words) > 5:
        return False
    return any(start <= words[0] and end > words[-1] for _, start, end in matches)


class TriageCues:
    """Pipeline component: stores the names of the cues found in ``doc._.triage_cues``."""

    def __init__(self, nlp: Language, name: str = FACTORY) -> None:
        self.name = name
        self._matcher = Matcher(nlp.vocab, validate=True)
        self._bare = Matcher(nlp.vocab, validate=True)
        for table in PATTERN_TABLES:
            for cue, patterns in table.items():
                self._matcher.add(cue, patterns)
        self._bare.add(BARE_REQUEST, [BARE_PATTERN])

    def __call__(self, doc: Doc) -> Doc:
        found: set[str] = set()
        for match_id, start, _end in self._matcher(doc):
            cue = doc.vocab.strings[match_id]
            if CUE_LABELS[cue] in _NEGATABLE and _negated(doc, start):
                continue
            if cue == "real_person" and _asks_if_bot_is_human(doc, start):
                continue
            found.add(cue)
        if _is_bare_request(doc, self._bare(doc)):
            found.add(BARE_REQUEST)
        doc._.set(DOC_ATTR, tuple(sorted(found)))
        return doc


if not Doc.has_extension(DOC_ATTR):
    Doc.set_extension(DOC_ATTR, default=())


@Language.factory(FACTORY)
def make_triage_cues(nlp: Language, name: str) -> TriageCues:
    return TriageCues(nlp, name)
