"""Probe: what contrastive tuning of the sentence encoder on the shop's phrasings would give.

Not part of the product: a measurement for choosing the next lever (docs/assistant.md, "What is
still weak"). It needs torch, which neither environment has, so it runs in a scratch one:

    python3.11 -m venv /tmp/tuning && /tmp/tuning/bin/pip install torch==2.13.0 safetensors \
        scikit-learn pyyaml ruamel.yaml
    OPENBLAS_CORETYPE=$(scripts/blas-coretype.sh) /tmp/tuning/bin/python \
        bench/encoder_tuning_probe.py [--steps 400]

It rebuilds all-MiniLM-L6-v2 in torch from the same pinned weights `make setup` extracted, then
tunes it SetFit-style: per training phrasing one pair with another phrasing of its label
(target cosine 1) and one with a phrasing of another label (target 0), mean squared error on
the cosine, AdamW at 2e-5, 16 pairs a step. Before and after, it fits a logistic regression on
the training phrasings' vectors alone (no n-grams, no neighbour view) and scores the
development set (data/dev, written apart; never the held-out sets): top-1, served and wrong at
the configured threshold, and the nearest phrasing's label. Seeds are fixed.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.fallback import configured_fallback  # noqa: E402
from bot.faq.library import parse_examples, without_entity_markup  # noqa: E402
from understanding.standins import with_stand_ins  # noqa: E402
from understanding.weights import installed  # noqa: E402
from understanding.wordpiece import WordPiece  # noqa: E402

HIDDEN, HEADS, LAYERS, MAX_PIECES = 384, 12, 6, 128
THRESHOLD = configured_fallback(ROOT / "config.yml").threshold


class MiniLM(torch.nn.Module):
    """BERT's encoder layers over the safetensors weights, mean-pooled and unit length, as
    understanding/graph.py builds them for onnxruntime."""

    def __init__(self, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterDict(
            {
                name.replace(".", "__"): torch.nn.Parameter(value.float())
                for name, value in weights.items()
                if name != "embeddings.position_ids" and not name.startswith("pooler")
            }
        )

    def _w(self, name: str) -> torch.Tensor:
        return self.weights[name.replace(".", "__")]

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.layer_norm(
            x, (HIDDEN,), self._w(f"{name}.weight"), self._w(f"{name}.bias"), 1e-12
        )

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.linear(x, self._w(f"{name}.weight"), self._w(f"{name}.bias"))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length = ids.shape
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[:length][None]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        blocked = (1.0 - mask[:, None, None, :].float()) * -1e4
        size = HIDDEN // HEADS
        for layer in range(LAYERS):
            at = f"encoder.layer.{layer}."

            def heads(part: str, x: torch.Tensor = x, at: str = at) -> torch.Tensor:
                projected = self._linear(x, f"{at}attention.self.{part}")
                return projected.view(batch, length, HEADS, size).transpose(1, 2)

            scores = heads("query") @ heads("key").transpose(-1, -2) / math.sqrt(size)
            attended = torch.softmax(scores + blocked, -1) @ heads("value")
            attended = attended.transpose(1, 2).reshape(batch, length, HIDDEN)
            x = self._norm(
                x + self._linear(attended, f"{at}attention.output.dense"),
                f"{at}attention.output.LayerNorm",
            )
            inner = torch.nn.functional.gelu(self._linear(x, f"{at}intermediate.dense"))
            x = self._norm(x + self._linear(inner, f"{at}output.dense"), f"{at}output.LayerNorm")
        weights = mask[:, :, None].float()
        pooled = (x * weights).sum(1) / weights.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1)


def read_training() -> list[tuple[str, str]]:
    rows = []
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in item:
                for example in parse_examples(item["examples"]):
                    rows.append((without_entity_markup(example), str(item["intent"])))
    return rows


def read_development() -> list[tuple[str, str]]:
    rows = yaml.safe_load((ROOT / "data/dev/faq_dev.yml").read_text(encoding="utf-8"))
    return [
        (str(r["text"]), r["topic"] if r["topic"] == "out_of_scope" else f"faq/{r['topic']}")
        for r in rows["messages"]
    ]


class Probe:
    def __init__(self, steps: int) -> None:
        folder = installed(None)
        self.model = MiniLM(load_file(str(folder / "model.safetensors")))
        self.pieces = WordPiece(folder / "vocab.txt")
        self.training = read_training()
        self.development = read_development()
        self.steps = steps

    def _batch(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        cls, sep = self.pieces.cls, self.pieces.sep
        rows = [[cls, *self.pieces.encode(with_stand_ins(t))[: MAX_PIECES - 2], sep] for t in texts]
        length = max(map(len, rows))
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return ids, mask

    def save(self, target: Path) -> None:
        """The tuned weights under the names of the original safetensors, beside copies of
        the files the graph builder and the tokenizer read."""
        folder = installed(None)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "vocab.txt", "README.md"):
            shutil.copyfile(folder / name, target / name)
        tensors = {
            name.replace("__", "."): value.detach().contiguous()
            for name, value in self.model.weights.items()
        }
        save_file(tensors, str(target / "model.safetensors"))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with torch.no_grad():
            return torch.cat(
                [self.model(*self._batch(texts[i : i + 64])) for i in range(0, len(texts), 64)]
            ).numpy()

    def score(self, name: str) -> None:
        train_x = self.encode([t for t, _ in self.training])
        dev_x = self.encode([t for t, _ in self.development])
        train_y = [label for _, label in self.training]
        dev_y = np.array([label for _, label in self.development])
        linear = LogisticRegression(C=3.0, max_iter=3000).fit(2.0 * train_x, train_y)
        p = linear.predict_proba(2.0 * dev_x)
        top, sure = linear.classes_[p.argmax(1)], p.max(1) >= THRESHOLD
        nearest = np.array(train_y)[(dev_x @ train_x.T).argmax(1)]
        print(
            f"| {name} | {np.mean(top == dev_y):.1%} | {np.mean((top == dev_y) & sure):.1%} | "
            f"{np.mean((top != dev_y) & sure):.1%} | {np.mean(nearest == dev_y):.1%} |",
            flush=True,
        )

    def tune(self) -> float:
        by_label: dict[str, list[str]] = {}
        for text, label in self.training:
            by_label.setdefault(label, []).append(text)
        labels = sorted(by_label)
        pairs = []
        for text, label in self.training:
            if len(by_label[label]) > 1:
                other = random.choice([t for t in by_label[label] if t != text])
                pairs.append((text, other, 1.0))
            elsewhere = random.choice([x for x in labels if x != label])
            pairs.append((text, random.choice(by_label[elsewhere]), 0.0))
        random.shuffle(pairs)
        optimiser = torch.optim.AdamW(self.model.parameters(), lr=2e-5)
        self.model.train()
        started = time.monotonic()
        for step in range(self.steps):
            at = (step * 16) % len(pairs)
            chunk = pairs[at : at + 16]
            left = self.model(*self._batch([a for a, _, _ in chunk]))
            right = self.model(*self._batch([b for _, b, _ in chunk]))
            target = torch.tensor([same for _, _, same in chunk])
            loss = torch.nn.functional.mse_loss((left * right).sum(-1), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.model.eval()
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument(
        "--save",
        type=Path,
        help="also write the tuned model folder here (config, vocabulary, safetensors), to "
        "build its graphs with understanding.graph and measure the whole assistant on it",
    )
    parser.add_argument("--no-score", action="store_true", help="tune (and save) only")
    args = parser.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    probe = Probe(args.steps)
    print(
        f"{len(probe.training)} training phrasings, {len(probe.development)} development "
        f"messages, threshold {THRESHOLD}, {torch.get_num_threads()} threads\n"
    )
    print("| encoder | top-1 | served right | served wrong | nearest phrasing |")
    print("|---|---|---|---|---|")
    if not args.no_score:
        probe.score("all-MiniLM-L6-v2 untuned (float32)")
    seconds = probe.tune()
    label = (
        f"tuned, {args.steps} steps of 16 pairs "
        f"({seconds:.0f} s, {seconds / args.steps:.2f} s a step)"
    )
    if args.save:
        probe.save(args.save)
    if not args.no_score:
        probe.score(label)
    else:
        print(label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
