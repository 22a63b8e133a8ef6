"""Probe: what one step of contrastive tuning costs each sentence encoder on this machine.

Not part of the product: the measurement behind docs/assistant.md's "What is still weak" (why
the encoders are not tuned on the shop's phrasings). It runs in the scratch environment of
bench/encoder_tuning_probe.py, with transformers added:

    python3.11 -m venv /tmp/tuning && /tmp/tuning/bin/pip install torch==2.13.0 safetensors \
        scikit-learn pyyaml ruamel.yaml transformers
    OPENBLAS_CORETYPE=$(scripts/blas-coretype.sh) /tmp/tuning/bin/python bench/tuning_step_cost.py

A step is SetFit's: 16 pairs of training phrasings, both sides through the encoder, mean
pooled, the squared error of their cosine against a same/different target, AdamW at 2e-5;
once with every weight trained and once with only the last two layers (the rest frozen, but
still run forward). Two threads, as the machine has two cores; the median of five steps after
one warm-up. The pinned weights are the ones `make setup` extracted.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.encoder_tuning_probe import read_training  # noqa: E402
from understanding.weights import MINILM, MPNET, ModelSource, installed  # noqa: E402
from understanding.wordpiece import WordPiece  # noqa: E402

PAIRS, STEPS, MAX_PIECES = 16, 6, 128


def batch(tokenizer: WordPiece, texts: list[str], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Word-piece ids padded to the longest text, and the mask of real pieces."""
    ids = [tokenizer.encode(text)[:MAX_PIECES] for text in texts]
    width = max(map(len, ids))
    padded = [row + [pad] * (width - len(row)) for row in ids]
    mask = [[1] * len(row) + [0] * (width - len(row)) for row in ids]
    return torch.tensor(padded), torch.tensor(mask)


def step_seconds(source: ModelSource, tune_last: int | None, texts: list[str]) -> float:
    """Median seconds of a tuning step; `tune_last` layers trained (None: all)."""
    folder = installed(source=source)
    mpnet = source is MPNET
    model = AutoModel.from_pretrained(str(folder))
    tokenizer = WordPiece(folder / "vocab.txt", *(("<s>", "</s>") if mpnet else ("[CLS]", "[SEP]")))
    pad = 1 if mpnet else 0
    layers = list(model.encoder.layer)
    frozen = [] if tune_last is None else [model.embeddings, *layers[: len(layers) - tune_last]]
    for part in frozen:
        part.requires_grad_(False)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
    rng = random.Random(20261207)
    seconds = []
    for _ in range(STEPS):
        pairs = rng.sample(texts, PAIRS) + rng.sample(texts, PAIRS)
        target = torch.tensor([float(rng.random() < 0.5) for _ in range(PAIRS)])
        started = time.perf_counter()
        ids, mask = batch(tokenizer, pairs, pad)
        states = model(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask[:, :, None].float()
        pooled = torch.nn.functional.normalize((states * weights).sum(1) / weights.sum(1), dim=-1)
        cosine = (pooled[:PAIRS] * pooled[PAIRS:]).sum(-1)
        loss = ((cosine - target) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        seconds.append(time.perf_counter() - started)
    return sorted(seconds[1:])[len(seconds[1:]) // 2]


def main() -> int:
    torch.set_num_threads(2)
    torch.manual_seed(20261207)
    texts = [text for text, _ in read_training()]
    print("| encoder | weights trained | seconds a step of 16 pairs | 400 steps, minutes |")
    print("|---|---|---|---|")
    for source in (MINILM, MPNET):
        for tune_last in (2, None):
            seconds = step_seconds(source, tune_last, texts)
            trained = "all" if tune_last is None else f"last {tune_last} layers"
            print(f"| {source.name} | {trained} | {seconds:.2f} | {400 * seconds / 60:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
