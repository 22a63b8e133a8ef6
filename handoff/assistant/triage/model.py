"""Escalation triage: should this customer message leave the bot for a person, and how urgently?

The model saved by ``python -m handoff.assistant.triage.train`` has three parts, all run on every
message: the ``harbor_triage_cues`` matcher (see :mod:`.cues`), a
``textcat_multilabel`` bag of words trained on ``data/triage``, and a logistic-regression head
on the message's pretrained sentence vector (:mod:`.sentence_head`), which knows
that "there's no point going on" and "i can't see a way out" mean the same. The two classifiers'
probabilities are blended; a label's score is the larger of that blend and the cue floor; a
label escalates when its score reaches its threshold, and the most urgent escalating label
becomes the reason.

Importing this module is cheap: spaCy and the saved model load in :meth:`TriageModel.load`
(through :mod:`.loading`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DISPLEASURE_FILE, TriageThresholds, model_dir
from .cues import CUE_LABELS, CUE_SCORE, DOC_ATTR, cue_scores
from .displeasure import DISPLEASED_FROM, DispleasureModel, load_displeasure
from .reasons import ANGER, COMPLEX, FRUSTRATION, PRIORITY, TRIAGE_LABELS
from .sentence_head import SentenceHead

if TYPE_CHECKING:
    import numpy as np
    from spacy.language import Language
    from spacy.tokens import Doc

REPEATED_MESSAGE_CUE = "repeated_message"
SHOUTING_CUE = "shouting"
SEVERAL_PROBLEMS_CUE = "several_problems"
# Kinds of things that go wrong with an order. One of them is the bot's job ("my mug arrived
# cracked"); two or more in one message (broken, then the replacement wrong, and charged twice)
# are tangled enough that a person should untangle them.
PROBLEM_KINDS: dict[str, re.Pattern[str]] = {
    "damaged": re.compile(
        r"\b(broken|broke|smashed|cracked|damaged|shattered|dented|snapped|torn)\b"
    ),
    "wrong": re.compile(
        r"\bwrong (item|colou?r|size|product|one|thing|order|parcel)\b|not what i ordered"
    ),
    "charged": re.compile(
        r"\b(charged|billed) (me )?(twice|double|two times|again)\b|\bdouble[- ]charged\b"
        r"|\bovercharged\b"
    ),
    "missing": re.compile(
        r"\bnever (arrived|came|turned up|showed up|got it)\b|\bstill (hasn'?t|has not|not) "
        r"(arrived|come)\b|\bmissing\b|\blost (my|the) (parcel|package|order)\b"
    ),
    "refund": re.compile(
        r"\b(no|never got|still no|still waiting for|haven'?t (got|received)) "
        r"(my |a |the )?refund\b"
    ),
    "ignored": re.compile(
        r"\bno (reply|response|answer)\b|\bignored\b"
        r"|\b(nobody|no one|noone) (replied|answered|got back)\b"
    ),
}
# Some customers type everything in capitals, so capitals alone are not anger; capitals plus
# an exclamation mark or a hint of negativity from the classifier are.
SHOUTING_NEGATIVITY = 0.15
# A customer who sends the same request again is telling us the bot's answer did not help.
# Word overlap must be near-total and the message long enough that "ok" or "yes" never counts.
REPEAT_SIMILARITY = 0.85
REPEAT_MIN_WORDS = 3

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"[a-z0-9']+")
_CAPITALISED_WORDS = re.compile(r"[A-Za-z]{2,}")


class TriageModelMissing(FileNotFoundError):
    """No trained pipeline at the expected place; the message says how to build one."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no trained triage model in {path}: run `make triage-model` "
            "(or `python -m handoff.assistant.triage.train`) first"
        )
        self.path = path


@dataclass(frozen=True)
class Verdict:
    """Triage of one customer message.

    ``scores`` holds a 0..1 score for every triage label, ``cues`` the names of the hand-written
    cues that fired (shown to the agent so they can see why the conversation reached them).
    """

    escalate: bool
    reason: str | None
    priority: int | None
    scores: dict[str, float] = field(default_factory=dict, hash=False)
    cues: tuple[str, ...] = ()
    # How displeased the customer sounds on the mood scale (0 calm .. 1 upset; see
    # .displeasure): what the agent sees, never a reason to escalate by itself.
    displeasure: float = 0.0

    @property
    def displeased(self) -> bool:
        return self.displeasure >= DISPLEASED_FROM

    def to_dict(self) -> dict[str, Any]:
        return {
            "escalate": self.escalate,
            "reason": self.reason,
            "priority": self.priority,
            "scores": dict(self.scores),
            "cues": list(self.cues),
            "displeasure": self.displeasure,
        }


def normalise(text: str) -> str:
    """The form both training and serving feed the pipeline.

    Customers type the same word in any case ("WHERE", "where"); lowercasing keeps the
    bag-of-words features from splitting one signal across spellings.
    """
    return _SPACES.sub(" ", text.translate(_APOSTROPHES)).strip().lower()


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text))


def repeats_earlier_message(text: str, context: Sequence[str]) -> bool:
    """True when ``text`` is (nearly) word-for-word one of the customer's earlier messages."""
    current = _words(normalise(text))
    if len(current) < REPEAT_MIN_WORDS:
        return False
    for earlier in context:
        previous = _words(normalise(earlier))
        if previous and len(current & previous) / len(current | previous) >= REPEAT_SIMILARITY:
            return True
    return False


def has_several_problems(text: str) -> bool:
    """Two or more kinds of order problem in one message."""
    lowered = normalise(text)
    return sum(1 for pattern in PROBLEM_KINDS.values() if pattern.search(lowered)) >= 2


def is_shouting(text: str) -> bool:
    """At least three words and nearly every letter upper case."""
    letters = [c for c in text if c.isalpha()]
    if len(_CAPITALISED_WORDS.findall(text)) < 3 or len(letters) < 12:
        return False
    return sum(c.isupper() for c in letters) >= 0.9 * len(letters)


class TriageModel:
    """A loaded triage pipeline plus the thresholds it decides with."""

    def __init__(
        self,
        nlp: Language,
        thresholds: TriageThresholds,
        path: Path | None = None,
        sentence_head: SentenceHead | None = None,
        displeasure: DispleasureModel | None = None,
    ) -> None:
        self._nlp = nlp
        self.thresholds = thresholds
        self.path = path
        self.sentence_head = sentence_head
        self.displeasure = displeasure

    @classmethod
    def load(cls, path: Path | None = None) -> TriageModel:
        """Load the trained pipeline from ``path``, ``$TRIAGE_MODEL_DIR`` or ``models/triage/``.

        Thresholds come from the dataclass defaults, then ``thresholds.json`` next to the
        model, then ``TRIAGE_THRESHOLD_<LABEL>`` environment variables. The sentence head and
        the encoder's weights load with it (understanding.weights.EncoderMissing if the
        weights were never set up), and so does the displeasure model training copied there.
        """
        directory = Path(path) if path is not None else model_dir()
        if not (directory / "config.cfg").is_file():
            raise TriageModelMissing(directory)
        # deferred: importing this package (the service does, at start-up) must not load spaCy.
        from .loading import load_pipeline

        nlp, head = load_pipeline(directory)
        displeasure = load_displeasure(directory / DISPLEASURE_FILE)
        return cls(nlp, TriageThresholds.resolve(directory), directory, head, displeasure)

    def assess(self, text: str, context: Sequence[str] = ()) -> Verdict:
        """Triage one message; ``context`` is the customer's earlier messages, oldest first."""
        doc = self._nlp(normalise(text))
        extra = (REPEATED_MESSAGE_CUE,) if repeats_earlier_message(text, context) else ()
        heads, moods = self._sentence_views([text], None)
        return self._verdict(text, doc, extra, heads[0], moods[0])

    def assess_many(self, texts: Iterable[str], batch_size: int = 128) -> list[Verdict]:
        """Triage messages without conversation context, batched for throughput."""
        originals = list(texts)
        docs = self._nlp.pipe((normalise(t) for t in originals), batch_size=batch_size)
        heads, moods = self._sentence_views(originals, None)
        return [
            self._verdict(t, doc, (), head, mood)
            for t, doc, head, mood in zip(originals, docs, heads, moods, strict=True)
        ]

    def assess_encoded(self, texts: Sequence[str], vectors: np.ndarray) -> list[Verdict]:
        """As assess_many, with the texts' sentence vectors already computed (training scores
        the same messages under several blends and folds)."""
        docs = self._nlp.pipe(normalise(t) for t in texts)
        heads, moods = self._sentence_views(texts, vectors)
        return [
            self._verdict(t, d, (), h, m)
            for t, d, h, m in zip(texts, docs, heads, moods, strict=True)
        ]

    def _sentence_views(
        self, texts: Sequence[str], vectors: np.ndarray | None
    ) -> tuple[list[Any], list[float]]:
        """Per text, the sentence head's label probabilities (None without a head) and the
        displeasure score, from one encoding of the texts."""
        if self.sentence_head is None or not texts:
            return [None] * len(texts), [0.0] * len(texts)
        if vectors is None:
            vectors = self.sentence_head.vectors(texts)
        heads = list(self.sentence_head.head.probabilities(vectors))
        if self.displeasure is None:
            return heads, [0.0] * len(texts)
        moods = self.displeasure.scores(texts, vectors)
        return heads, [round(float(m), 4) for m in moods]

    def _verdict(
        self,
        text: str,
        doc: Doc,
        extra_cues: tuple[str, ...],
        head: np.ndarray | None,
        displeasure: float,
    ) -> Verdict:
        cues: tuple[str, ...] = tuple(doc._.get(DOC_ATTR)) + extra_cues
        classifier = {label: float(doc.cats.get(label, 0.0)) for label in TRIAGE_LABELS}
        if head is not None and self.sentence_head is not None:
            blend = self.sentence_head.blend
            classifier = {
                label: blend * float(head[i]) + (1.0 - blend) * classifier[label]
                for i, label in enumerate(TRIAGE_LABELS)
            }
        if is_shouting(text) and (
            "!" in text or max(classifier[ANGER], classifier[FRUSTRATION]) >= SHOUTING_NEGATIVITY
        ):
            cues += (SHOUTING_CUE,)
        floors = cue_scores([c for c in cues if c in CUE_LABELS])
        if has_several_problems(text):
            cues += (SEVERAL_PROBLEMS_CUE,)
            floors[COMPLEX] = CUE_SCORE
        if REPEATED_MESSAGE_CUE in cues:
            floors[FRUSTRATION] = CUE_SCORE
        if SHOUTING_CUE in cues:
            floors[ANGER] = CUE_SCORE
        scores = {
            label: round(max(classifier[label], floors.get(label, 0.0)), 4)
            for label in TRIAGE_LABELS
        }
        margins = {
            label: scores[label] - self.thresholds.for_label(label)
            for label in TRIAGE_LABELS
            if scores[label] >= self.thresholds.for_label(label)
        }
        if not margins:
            return Verdict(False, None, None, scores, cues, displeasure)
        # Most urgent first; between equally urgent labels (anger/frustration) the clearer one.
        reason = min(margins, key=lambda label: (PRIORITY[label], -margins[label]))
        return Verdict(True, reason, PRIORITY[reason], scores, cues, displeasure)
