"""Which intent (or FAQ topic) a customer message is, with a confidence worth gating on.

Three views of a message, fused:

    text ─┬─ sentence vector (all-MiniLM-L6-v2) ─┬─ linear model ────────────┐
          │                                      └─ nearest training phrasing ┴─ mean ─▶ P(label)
          └─ character n-grams (typos, rare words)┘
    long text: the same for each sentence; the sentence that is surest speaks for the message

* The **linear model** (multinomial logistic regression) sees the sentence vector and character
  n-grams side by side: the vector carries meaning ("the handle snapped off" ≈ damaged), the
  n-grams carry spelling the encoder never saw ("refnd", "shiping").
* The **nearest phrasing** view is the best cosine similarity between the message and each
  label's training phrasings, turned into probabilities by a softmax with a temperature. It
  is sharp for short fragments that match a phrasing closely.
* **Out of scope** is a label like any other (trained on off-topic questions), and a message
  whose sentence vector is far from every in-scope phrasing but near an off-topic one is out
  of scope whatever the linear model says: `oos_similarity` is the floor, chosen with the
  threshold by cross-validation (bot/nlu/calibrate.py). Far from both ("hmm flarp", "asdf"),
  a message is about nothing the assistant knows either way: the views decide, and they are
  unsure, so the customer is asked to rephrase rather than told the question is off-topic.

* An optional **gate** (`Settings.gate`, off in config.yml) turns what the views say about the
  likeliest label (its fused, linear and neighbour probabilities, the margin to the runner-up,
  whether the views agree, similarities, the message's length and parts) into the probability
  that it is the right answer, reported as its confidence: a logistic regression over
  GATE_FEATURES that bot/nlu/calibrate.py fits out of fold. Its features name no label, so a
  topic added later needs no new weights. It serves more of the shop's questions and declines
  fewer off-topic ones, which is why it is off (docs/assistant.md).

No rasa import: bot/nlu/component.py serves this in the Rasa pipeline; the benchmarks and the
calibration train it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from understanding.segments import segments
from understanding.standins import with_stand_ins

Encode = Callable[[Sequence[str]], np.ndarray]
OUT_OF_SCOPE = "out_of_scope"
# The linear model's fit stops when the gradient is this small (scikit-learn's default is
# 1e-4). With C = 30 the fit took 124 iterations to the default and 95 to this, 25 against
# 16 s for 5,190 phrasings, with every training phrasing's probabilities within 3e-4 of the
# default's: the training budget (90 s on an empty cache) had no room for the difference.
FIT_TOLERANCE = 3e-3


@dataclass(frozen=True)
class Settings:
    """The classifier's knobs; defaults chosen by cross-validation (docs/assistant.md)."""

    # The sentence encoders (understanding.weights.MODELS) and each one's share of the
    # similarity: MPNet beside MiniLM served five points more of the training phrasings right
    # out of fold, with fewer wrong answers; MPNet's larger share and the weaker regularisation
    # below were chosen together by cross-validation (docs/assistant.md, "Tuning the head").
    encoders: tuple[tuple[str, float], ...] = (
        ("all-MiniLM-L6-v2", 0.3),
        ("all-mpnet-base-v2", 0.7),
    )
    vector_weight: float = 2.0  # sentence vector's scale beside the unit-length n-gram vector
    regularisation: float = 30.0  # logistic regression's C
    # A label with fewer phrasings than the median label weighs (median / its count) **
    # class_balance per phrasing; others weigh 1. A topic an editor just added has a handful of
    # phrasings beside about eighty for the others; unweighted, its prior is too small to ever
    # answer it. Larger labels (out of scope above all) keep their full weight. 1.0: a new
    # label weighs as much as a median one in all. With 0.5 (until 2026-12-07) a topic published
    # with six phrasings lost its own questions to the 1,372 out-of-scope ones once the other
    # topics had 85 phrasings each; cross-validation scores 1.0 and 0.5 the same.
    class_balance: float = 1.0
    neighbour_weight: float = 0.3  # share of the nearest-phrasing view in the fused probability
    neighbour_temperature: float = 0.05
    oos_similarity: float = 0.0  # below this best in-scope similarity: out of scope (0 = off)
    # The gate's weights, one per GATE_FEATURES, then its intercept; () reports the fused
    # probability itself.
    gate: tuple[float, ...] = ()
    min_ngram: int = 2
    max_ngram: int = 5
    max_ngrams: int = 5000  # the most frequent n-grams; more only slow the fit down
    # Labels that never speak for a long message: in "I moved house and my parcel is going to
    # the old address. What can I do?" the last sentence alone reads as "what can you do",
    # but a story is not told to ask about the assistant's abilities or to say hello. Nor to
    # give an order number: in "is my order late? its HG-10029" the number is a detail of the
    # question beside it (the lookup reads it from the message), and the sentence "its
    # HG-10029" alone is an exact `inform` phrasing that MPNet makes surer than the question.
    conversational: tuple[str, ...] = (
        "inform",
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "bot_challenge",
        "ask_capabilities",
    )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings a config.yml pipeline entry gives (the Rasa component's, or the
        calibration's reading of it): its keys that name a setting, in this class's types
        (YAML gives mappings, lists and ints); other keys are the component's own."""
        defaults = cls()
        values: dict[str, Any] = {}
        for setting in fields(cls):
            if setting.name not in config:
                continue
            value = config[setting.name]
            if setting.name == "encoders":
                value = tuple((str(name), float(share)) for name, share in dict(value).items())
            elif setting.name == "gate":
                value = tuple(float(weight) for weight in value)
            elif setting.name == "conversational":
                value = tuple(str(label) for label in value)
            else:
                value = type(getattr(defaults, setting.name))(value)
            values[setting.name] = value
        return cls(**values)


# What the gate reads about the likeliest label of the part that speaks for a message.
GATE_FEATURES = (
    "fused probability",
    "runner-up's fused probability",
    "margin to the runner-up",
    "linear model's probability",
    "nearest phrasings' probability",
    "linear model and nearest phrasings agree with it",
    "best similarity to any label's phrasings",
    "best similarity to its own phrasings",
    "best similarity to an in-scope phrasing",
    "it is out of scope",
    "parts judged",
    "log(1 + words)",
    "the whole message speaks",
)


@dataclass
class Scores:
    """One message: the probability of every label as reported (the likeliest one's is the
    gate's), its best in-scope and off-topic similarities, what the gate read (GATE_FEATURES)
    and whether the message is far from every shop phrasing and near an off-topic one (out of
    scope, not gated)."""

    probabilities: np.ndarray
    similarity: float
    off_topic_similarity: float
    gate_features: np.ndarray
    far: bool


@dataclass
class PartViews:
    """Each view of a list of texts (rows): the linear model's and the nearest phrasings'
    probabilities, each label's best phrasing similarity, the fused probabilities, and the best
    in-scope similarity. The fusion is what customers get; the parts are for probes of it
    (bench/gate_probe.py)."""

    linear: np.ndarray
    neighbour: np.ndarray
    best_similarity: np.ndarray
    fused: np.ndarray
    in_scope_best: np.ndarray
    off_topic_best: np.ndarray
    far: np.ndarray  # below the floor from the shop, at or above it from off-topic phrasings


@dataclass
class MessageClassifier:
    labels: list[str]
    settings: Settings
    ngrams: TfidfVectorizer
    linear: LogisticRegression
    phrasing_vectors: np.ndarray  # (phrasings, dims), unit length
    phrasing_labels: np.ndarray  # (phrasings,) label index of each phrasing
    in_scope: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.in_scope = self.phrasing_labels != self._oos_index()

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        encode: Encode,
        settings: Settings = Settings(),
        vectors: np.ndarray | None = None,
    ) -> MessageClassifier:
        """Fit on training phrasings. `vectors` may carry the texts' sentence vectors already."""
        texts = [with_stand_ins(text) for text in texts]
        names = sorted(set(labels))
        index = {name: i for i, name in enumerate(names)}
        y = np.array([index[label] for label in labels])
        vectors = encode(texts) if vectors is None else vectors
        ngrams = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(settings.min_ngram, settings.max_ngram),
            sublinear_tf=True,
            lowercase=True,
            min_df=2,
            max_features=settings.max_ngrams,
            dtype=np.float32,
        )
        grams = ngrams.fit_transform(texts)
        counts = np.bincount(y, minlength=len(names))
        weights = np.maximum(1.0, np.median(counts) / counts) ** settings.class_balance
        linear = LogisticRegression(
            C=settings.regularisation,
            max_iter=3000,
            tol=FIT_TOLERANCE,
            class_weight={i: float(w) for i, w in enumerate(weights)},
        )
        linear.fit(_features(vectors, grams, settings), y)
        return cls(names, settings, ngrams, linear, vectors.astype(np.float32), y)

    def scores(self, texts: Sequence[str], encode: Encode) -> list[Scores]:
        """Each text's label probabilities as reported (gated); a long text is judged by its
        surest part."""
        parts = [segments(with_stand_ins(text)) for text in texts]
        flat = [part for group in parts for part in group]
        views = self.part_views(flat, encode(flat))
        results: list[Scores] = []
        start = 0
        for text, group in zip(texts, parts, strict=True):
            k = start + self.surest(views.fused[start : start + len(group)])
            features = self._gate_features(views, k, len(group), len(text.split()))
            fused = views.fused[k]
            far = bool(views.far[k])
            if self.settings.gate and not far:
                fused = gated(fused, gate_probability(self.settings.gate, features))
            similarity, off_topic = float(views.in_scope_best[k]), float(views.off_topic_best[k])
            results.append(Scores(fused, similarity, off_topic, features, far))
            start += len(group)
        return results

    def _gate_features(self, views: PartViews, k: int, parts: int, words: int) -> np.ndarray:
        """GATE_FEATURES of part k's likeliest label."""
        fused = views.fused[k]
        top, second = np.argsort(-fused)[:2]
        agree = np.argmax(views.linear[k]) == top and np.argmax(views.neighbour[k]) == top
        return np.array(
            [
                fused[top],
                fused[second],
                fused[top] - fused[second],
                views.linear[k][top],
                views.neighbour[k][top],
                float(agree),
                views.best_similarity[k].max(),
                views.best_similarity[k][top],
                views.in_scope_best[k],
                float(self.labels[top] == OUT_OF_SCOPE),
                float(parts),
                float(np.log1p(words)),
                float(k == 0 or parts == 1),
            ],
            dtype=np.float64,
        )

    def surest(self, probabilities: np.ndarray) -> int:
        """Which of a long message's parts (rows) speaks for it (see _surest)."""
        return _surest(probabilities, self._silent_labels())

    def _silent_labels(self) -> list[int]:
        """Labels that do not compete when the parts of a long message are compared."""
        silent = {OUT_OF_SCOPE, *self.settings.conversational}
        return [i for i, label in enumerate(self.labels) if label in silent]

    def _oos_index(self) -> int:
        return self.labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.labels else -1

    def part_views(self, texts: Sequence[str], vectors: np.ndarray) -> PartViews:
        """Every view of each text (its parts already cut), fused as customers get it."""
        s = self.settings
        linear = self.linear.predict_proba(_features(vectors, self.ngrams.transform(texts), s))
        similarity = vectors @ self.phrasing_vectors.T  # (texts, phrasings)
        best = np.full((len(texts), len(self.labels)), -1.0, dtype=np.float32)
        for label in range(len(self.labels)):
            mine = self.phrasing_labels == label
            if mine.any():
                best[:, label] = similarity[:, mine].max(axis=1)
        neighbour = _softmax(best / s.neighbour_temperature)
        fused = (1.0 - s.neighbour_weight) * linear + s.neighbour_weight * neighbour
        in_scope_best = (
            similarity[:, self.in_scope].max(axis=1) if self.in_scope.any() else np.ones(len(texts))
        )
        off_topic = ~self.in_scope
        off_topic_best = (
            similarity[:, off_topic].max(axis=1) if off_topic.any() else np.zeros(len(texts))
        )
        far = far_from_shop(in_scope_best, off_topic_best, s.oos_similarity)
        oos = self._oos_index()
        if oos >= 0:
            fused[far] = 0.0
            fused[far, oos] = 1.0
        return PartViews(linear, neighbour, best, fused, in_scope_best, off_topic_best, far)


def far_from_shop(
    in_scope: np.ndarray | float, off_topic: np.ndarray | float, floor: float
) -> np.ndarray:
    """Out of scope by similarity alone: below the floor from every shop phrasing and at or
    above it from some off-topic one (floor 0: never)."""
    shop, off = np.asarray(in_scope), np.asarray(off_topic)
    return (floor > 0) & (shop < floor) & (off >= floor)


def gate_probability(gate: Sequence[float], features: np.ndarray) -> float:
    """The gate's probability that the likeliest label is right."""
    weights = np.asarray(gate[:-1], dtype=np.float64)
    return float(1.0 / (1.0 + np.exp(-(features @ weights + gate[-1]))))


def gated(probabilities: np.ndarray, confidence: float) -> np.ndarray:
    """The likeliest label's probability replaced by the gate's `confidence`. The others share
    what is left in their own proportions, but never reach it: a label the gate doubts must not
    let the runner-up through in its place."""
    top = int(np.argmax(probabilities))
    rest = 1.0 - float(probabilities[top])
    share = (1.0 - confidence) / rest if rest > 0 else 0.0
    scale = min(share, confidence / float(probabilities[top]))
    result = probabilities * scale
    result[top] = confidence
    return result


def _features(vectors: np.ndarray, grams: sparse.spmatrix, settings: Settings) -> np.ndarray:
    """The linear model's input: the scaled sentence vector beside the n-grams, dense. Half
    the columns are dense anyway; as one sparse matrix the fit took twice as long (38 against
    18 s for 5,190 phrasings, the same weights to 1e-10)."""
    return np.hstack([vectors * settings.vector_weight, grams.toarray()]).astype(np.float64)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _surest(probabilities: np.ndarray, silent: list[int]) -> int:
    """The part whose best substantive label is likeliest; the whole text (row 0) on a tie.
    Out of scope and small talk do not compete: one off-topic sentence of a story must not
    decline it, nor "what can I do?" at its end turn it into a question about the assistant."""
    if len(probabilities) == 1:
        return 0
    substantive = probabilities.copy()
    substantive[:, silent] = 0.0
    return int(np.argmax(substantive.max(axis=1)))


@dataclass(frozen=True)
class IntentView:
    """Label probabilities as Rasa's components report them: intents ranked (FAQ topics folded
    into the retrieval intent, scored by the best topic) and the FAQ topics ranked."""

    intents: list[tuple[str, float]]
    topics: list[tuple[str, float]]


def intent_view(
    labels: Sequence[str], probabilities: np.ndarray, retrieval_intent: str
) -> IntentView:
    """Fold FAQ topics into their retrieval intent and rank both.

    Out of scope keeps its own probability, gated like any answer: a question the classifier
    clearly knows is off-topic ("what's the weather") is declined, while gibberish, which no
    label claims, falls back to "please rephrase".
    """
    prefix = retrieval_intent + "/"
    intents: dict[str, float] = {}
    topics: list[tuple[str, float]] = []
    for label, probability in zip(labels, probabilities, strict=True):
        p = float(probability)
        if label.startswith(prefix):
            topics.append((label, p))
            intents[retrieval_intent] = max(intents.get(retrieval_intent, 0.0), p)
        else:
            intents[label] = p
    ranking = sorted(intents.items(), key=lambda item: -item[1])
    topics.sort(key=lambda item: -item[1])
    return IntentView(ranking, topics)
