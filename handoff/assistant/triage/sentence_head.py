"""The sentence-vector classifier: a logistic-regression head on the message's pretrained
sentence vector (:mod:`understanding`), which knows that "there's no point going on" and "i
can't see a way out" mean the same, and its share of the blended score.

Plain code over what it is given; reading one from disk (numpy, the encoder's weights) is
:func:`handoff.assistant.triage.loading.load_sentence_head`, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from understanding.standins import with_stand_ins

if TYPE_CHECKING:
    import numpy as np

    from understanding.encoder import SentenceEncoder
    from understanding.linear import LogisticHead


@dataclass(frozen=True)
class SentenceHead:
    """The sentence-vector classifier and how much of the blended score it gives."""

    encoder: SentenceEncoder
    head: LogisticHead
    blend: float  # share of the head in the blend; the bag of words gives the rest

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' sentence vectors, as the head reads them."""
        return self.encoder.encode(stand_ins(texts))


def stand_ins(texts: Iterable[str]) -> list[str]:
    """What the sentence head reads: order numbers and emails as one stand-in each, so "HG-10001"
    or an email typed in answer to the bot's question is not read as a feeling."""
    return [with_stand_ins(text) for text in texts]
