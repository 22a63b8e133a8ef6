"""The classifier's knobs by cross-validation on the training data, one setting a row.

    .venv-rasa/bin/python bench/head_sweep.py regularisation=10 "regularisation=30,minilm=0.3"

Each argument is a setting: `bot/nlu/classifier.py` Settings fields (and `minilm`, MiniLM's
share of the similarity, MPNet having the rest) changed from config.yml's, comma-separated.
The first row is config.yml's own. Every row runs bot/nlu/calibrate.py's folds, floor and
threshold rule on the training phrasings and prints the utility at the threshold it would
choose, with what the development set (data/dev, written apart) gets at that threshold. The
held-out sets are never read. The joint vectors come from the vector cache and each encoder's
half is rescaled for its share, so only the fits are repeated (1.5-2.5 minutes a row).
bench/results/2026-12-07-head-tuning.md is its output and the rule that read it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.evaluate.heldout import read_topic_messages
from bot.evaluate.tally import is_right, lowest_within
from bot.nlu import calibrate
from bot.nlu.classifier import OUT_OF_SCOPE, Settings
from understanding.standins import with_stand_ins
from understanding.vector_cache import VectorCache

MINILM = "all-MiniLM-L6-v2"


class Reshared:
    """The configured joint vectors with MiniLM's half given another share of the cosine."""

    def __init__(self, cache: VectorCache, settings: Settings, minilm: float) -> None:
        shares = dict(settings.encoders)
        if set(shares) != {MINILM, "all-mpnet-base-v2"}:
            raise SystemExit("the sweep rescales MiniLM beside MPNet: config.yml has others")
        total = sum(shares.values())
        self.cache = cache
        self.width = cache.encoder.encoders[0].hidden
        self.scales = (
            np.sqrt(minilm / (shares[MINILM] / total)),
            np.sqrt((1.0 - minilm) / (1.0 - shares[MINILM] / total)),
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.cache.encode(texts).copy()
        vectors[:, : self.width] *= self.scales[0]
        vectors[:, self.width :] *= self.scales[1]
        return vectors


def parse(setting: str, base: Settings) -> tuple[Settings, float | None]:
    """A row's Settings and MiniLM share (None: as configured)."""
    settings, minilm = base, None
    for part in filter(None, setting.split(",")):
        name, _, value = part.partition("=")
        if name == "minilm":
            minilm = float(value)
        elif name in Settings.__dataclass_fields__ and name not in ("encoders", "gate"):
            settings = replace(settings, **{name: type(getattr(base, name))(float(value))})
        else:
            raise SystemExit(f"unknown setting {name!r}")
    return settings, minilm


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("settings", nargs="*", help="name=value[,name=value]")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    base, _, ambiguity = calibrate.configured()
    examples = calibrate.training_examples()
    texts, gold = [t for t, _ in examples], [g for _, g in examples]
    dev = read_topic_messages(calibrate.ROOT / "data" / "dev" / "faq_dev.yml")
    cache = calibrate.cached_encoder(base)
    cache.encode([with_stand_ins(t) for t in texts] + [m.text for m in dev])
    configured_minilm = dict(base.encoders)[MINILM] / sum(dict(base.encoders).values())
    print(
        "| setting | floor | threshold | CV utility | CV shop right / wrong % | "
        "off-topic answered % | CV top-1, shop % | dev right / wrong % | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    for row in ["config.yml", *args.settings]:
        started = time.monotonic()
        settings, minilm = parse("" if row == "config.yml" else row, base)
        encoder = Reshared(cache, base, configured_minilm if minilm is None else minilm)
        trial = replace(settings, oos_similarity=0.0, gate=())
        oof = calibrate.out_of_fold(examples, trial, args.folds, encoder)
        floor = calibrate.choose_floor(list(oof.similarity), gold)
        served = calibrate.floored_predictions(oof, gold, floor)
        utilities = calibrate.utility_by_threshold(served, ambiguity)
        threshold = lowest_within(utilities, calibrate.UTILITY_TIE)
        shop = calibrate.serve([p for p in served if p.gold != OUT_OF_SCOPE], threshold, ambiguity)
        off = calibrate.serve([p for p in served if p.gold == OUT_OF_SCOPE], threshold, ambiguity)
        top = [
            is_right(oof.labels[int(np.argmax(p))], g)
            for p, g in zip(oof.probabilities, gold, strict=True)
            if g != OUT_OF_SCOPE
        ]
        trained = replace(settings, oos_similarity=floor, gate=())
        on_dev = calibrate.serve(
            calibrate.development_predictions(examples, trained, encoder, dev), threshold, ambiguity
        )
        print(
            f"| {row} | {floor} | {threshold} | {utilities[threshold]:.0f} | "
            f"{shop.share(shop.right):.1f} / {shop.share(shop.wrong):.1f} | "
            f"{off.share(off.wrong):.1f} | {100 * np.mean(top):.1f} | "
            f"{on_dev.share(on_dev.right):.1f} / {on_dev.share(on_dev.wrong):.1f} | "
            f"{time.monotonic() - started:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
