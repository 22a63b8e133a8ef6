"""Reading a trained triage model from disk: the spaCy pipeline and the sentence head.

This is where spaCy, numpy and the encoder's weights come in: :meth:`TriageModel.load` imports
this module when it is called, never when :mod:`handoff.assistant.triage` is imported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import spacy
from spacy.language import Language

from understanding.encoder import load_encoder
from understanding.linear import LogisticHead

# Registers the harbor_triage_cues factory that the saved pipeline config names.
from . import cue_matcher  # noqa: F401
from .config import HEAD_FILE
from .reasons import TRIAGE_LABELS
from .sentence_head import SentenceHead


def load_pipeline(directory: Path) -> tuple[Language, SentenceHead | None]:
    """The spaCy pipeline saved in ``directory``, and its sentence head if one was saved."""
    nlp = spacy.load(directory)
    head = load_sentence_head(directory / HEAD_FILE) if (directory / HEAD_FILE).is_file() else None
    return nlp, head


def load_sentence_head(path: Path) -> SentenceHead:
    """The head's weights and blend from ``path``, with the encoder (understanding.weights
    .EncoderMissing if its weights were never set up)."""
    with np.load(path) as saved:
        labels = [str(label) for label in saved["labels"]]
        if labels != list(TRIAGE_LABELS):
            raise ValueError(f"{path} was trained for labels {labels}: retrain it")
        head = LogisticHead.from_arrays(saved["weights"], saved["bias"])
        blend = float(saved["blend"])
    return SentenceHead(load_encoder(), head, blend)
