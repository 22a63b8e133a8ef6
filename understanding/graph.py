"""The encoders' forward passes as ONNX graphs, built once at setup from the checked weights.

    python -m understanding.graph --build    build every model's graphs if missing; print where

all-MiniLM-L6-v2 is a 6-layer BERT; all-mpnet-base-v2 a 12-layer MPNet, the same encoder but
for three things: no segment embedding, positions counted from 2 (its padding index + 1), and
a learned bias on every attention score by the distance between the two pieces, put in one of
32 buckets (exact up to 8 pieces either way, logarithmic up to 128). The bucket of each pair
of positions is an input (understanding/encoder.py computes it), the bias per head a weight.
This module writes either as ONNX operators, node by node, from the safetensors `make setup`
checked (understanding/weights.py), then quantises every linear layer to int8: its weights
with one scale per output channel, its input with one scale per piece computed as the text
runs (MPNet, `quantise`) or one for the whole input (MiniLM, onnxruntime's dynamic
quantisation; PER_PIECE_SCALES says why). onnxruntime runs the graphs in both environments
(understanding/encoder.py).

Why a graph and not numpy: the numpy forward pass spent 15-18 ms on a 20-piece message on one
core of this machine, most of it in BLAS on skinny matrices; onnxruntime runs the same float32
graph in 9 ms and the int8 one in 3.5 ms (`make bench-encoder` prints the current
figures). The vectors of the int8 graph stay within cosine 0.98 of the float32 ones, and the
classifiers are trained on the int8 vectors they are served with.

Why built here and not downloaded: no published ONNX export of the model is on the package
registry; building from the checked weights keeps one source of truth. Building needs the
`onnx` package, which only the handoff service's environment has (Rasa pins an older protobuf
than `onnx` accepts), so `make setup` builds with that environment and both read the files.
The files are named after this module's source and the weights' checksum, so a change to
either builds new ones and an old file is never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from understanding.weights import (
    MINILM,
    MODELS,
    EncoderMissing,
    ModelSource,
    installed,
    read_safetensors,
)

FLOAT32 = "float32"
INT8 = "int8"
PRECISIONS = (FLOAT32, INT8)
OPSET = 17  # LayerNormalization is an operator from 17 on
# Inputs and output of the graph (understanding/encoder.py feeds them).
PIECE_IDS, POSITIONS, BLOCKED, HIDDEN = "piece_ids", "positions", "blocked", "hidden"
BUCKETS = "distance_buckets"  # MPNet only: (length, length) bucket of each pair of positions


@dataclass(frozen=True)
class Layout:
    """Where one architecture keeps each layer's weights, and how it embeds a piece."""

    query: str
    key: str
    value: str
    attended: str
    attention_norm: str
    segment_embedding: bool
    relative_bias: bool


LAYOUTS = {
    "bert": Layout(
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "attention.output.LayerNorm",
        segment_embedding=True,
        relative_bias=False,
    ),
    "mpnet": Layout(
        "attention.attn.q",
        "attention.attn.k",
        "attention.attn.v",
        "attention.attn.o",
        "attention.LayerNorm",
        segment_embedding=False,
        relative_bias=True,
    ),
}


def graph_key(source: ModelSource = MINILM) -> str:
    """What the built files depend on: this builder's source and the checked weights."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(source.key.encode())
    return digest.hexdigest()[:12]


def graph_path(precision: str, directory: Path | None = None, source: ModelSource = MINILM) -> Path:
    """Where the graph of one precision lives, beside the weights it was built from."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return installed(directory, source) / f"encoder-{graph_key(source)}-{precision}.onnx"


class GraphMissing(EncoderMissing):
    """The graph has not been built; the message names the command that builds it. An
    EncoderMissing, so whoever handles a missing encoder handles this too."""

    def __init__(self, path: Path) -> None:
        FileNotFoundError.__init__(
            self,
            f"the sentence encoder's graph {path} is not built: run `make setup` "
            "(or `.venv-app/bin/python -m understanding.graph --build`)",
        )
        self.path = path


class _Builder:
    """Collects nodes and constants while the layers are written out."""

    def __init__(self) -> None:
        import onnx.helper
        import onnx.numpy_helper

        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        self.nodes: list[Any] = []
        self.constants: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        self.constants.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: Sequence[str], output: str, **attributes: Any) -> str:
        # Named after its output: the int8 graph names what replaces a product after it.
        node = self.helper.make_node(kind, list(inputs), [output], name=output, **attributes)
        self.nodes.append(node)
        return output

    def linear(self, x: str, name: str, weight: np.ndarray, bias: np.ndarray) -> str:
        """x @ weight.T + bias; stored transposed so MatMul reads it as (in, out)."""
        w = self.constant(name + ".w", weight.T)
        b = self.constant(name + ".b", bias)
        return self.op("Add", [self.op("MatMul", [x, w], name + ".mm"), b], name)

    def layer_norm(
        self, x: str, name: str, weight: np.ndarray, bias: np.ndarray, eps: float
    ) -> str:
        w = self.constant(name + ".w", weight)
        b = self.constant(name + ".b", bias)
        return self.op("LayerNormalization", [x, w, b], name, axis=-1, epsilon=eps)


def build_float32(directory: Path) -> Any:
    """The float32 ModelProto: piece ids (batch, length), their positions (length), the
    attention mask as additive scores (batch, 1, 1, length) and, for MPNet, the distance
    buckets (length, length) in; hidden states out."""
    import onnx

    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    layout = LAYOUTS[str(config["model_type"])]
    layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
    hidden, eps = int(config["hidden_size"]), float(config["layer_norm_eps"])
    size = hidden // heads
    w = read_safetensors(directory / "model.safetensors")
    g = _Builder()
    words = g.constant("words", w["embeddings.word_embeddings.weight"])
    places = g.constant("places", w["embeddings.position_embeddings.weight"])
    embedded = g.op(
        "Add",
        [
            g.op("Gather", [words, PIECE_IDS], "e.words"),
            g.op("Gather", [places, POSITIONS], "e.at"),
        ],
        "e.sum",
    )
    if layout.segment_embedding:
        segment = g.constant("segment", w["embeddings.token_type_embeddings.weight"][0])
        embedded = g.op("Add", [embedded, segment], "e")
    x = g.layer_norm(
        embedded,
        "e.norm",
        w["embeddings.LayerNorm.weight"],
        w["embeddings.LayerNorm.bias"],
        eps,
    )
    split_heads = g.constant("split_heads", np.array([0, 0, 3, heads, size], dtype=np.int64))
    join_heads = g.constant("join_heads", np.array([0, 0, hidden], dtype=np.int64))
    first = g.constant("first_axis", np.array([0], dtype=np.int64))
    scale = g.constant("scale", np.array(1.0 / np.sqrt(size), dtype=np.float32))
    half = g.constant("half", np.array(0.5, dtype=np.float32))
    one = g.constant("one", np.array(1.0, dtype=np.float32))
    root_half = g.constant("root_half", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    blocked = BLOCKED
    if layout.relative_bias:
        # (buckets, heads) gathered to (length, length, heads), then (1, heads, length, length):
        # one bias for every layer, added to the mask once.
        table = g.constant("distance_bias", w["encoder.relative_attention_bias.weight"])
        bias = g.op("Gather", [table, BUCKETS], "bias.gathered")
        bias = g.op("Transpose", [bias], "bias.t", perm=[2, 0, 1])
        bias = g.op("Unsqueeze", [bias, first], "bias")
        blocked = g.op("Add", [BLOCKED, bias], "blocked.biased")
    for layer in range(layers):
        n = f"l{layer}."

        def param(name: str, layer: int = layer) -> np.ndarray:
            return w[f"encoder.layer.{layer}.{name}"]

        def add_and_norm(x: str, update: str, norm: str, name: str) -> str:
            """The residual step: x + update, normalised by the block's LayerNorm."""
            summed = g.op("Add", [update, x], name + ".sum")
            return g.layer_norm(summed, name, param(norm + ".weight"), param(norm + ".bias"), eps)

        # Query, key and value in one product, then split per head:
        # (batch, length, 3 x hidden) -> (3, batch, heads, length, size).
        parts = [layout.query, layout.key, layout.value]
        qkv = g.linear(
            x,
            n + "qkv",
            np.concatenate([param(part + ".weight") for part in parts]),
            np.concatenate([param(part + ".bias") for part in parts]),
        )
        qkv = g.op("Reshape", [qkv, split_heads], n + "qkv.r")
        qkv = g.op("Transpose", [qkv], n + "qkv.t", perm=[2, 0, 3, 1, 4])
        g.nodes.append(g.helper.make_node("Split", [qkv], [n + "q3", n + "k3", n + "v3"], axis=0))
        q, k, v = (g.op("Squeeze", [n + part + "3", first], n + part) for part in "qkv")
        k_t = g.op("Transpose", [k], n + "k.t", perm=[0, 1, 3, 2])
        scores = g.op("Mul", [g.op("MatMul", [q, k_t], n + "qk"), scale], n + "scaled")
        scores = g.op("Add", [scores, blocked], n + "masked")
        attention = g.op("Softmax", [scores], n + "attention", axis=-1)
        context = g.op("MatMul", [attention, v], n + "context")
        context = g.op("Transpose", [context], n + "context.t", perm=[0, 2, 1, 3])
        context = g.op("Reshape", [context, join_heads], n + "context.r")
        attended = g.linear(
            context,
            n + "attended",
            param(layout.attended + ".weight"),
            param(layout.attended + ".bias"),
        )
        x = add_and_norm(x, attended, layout.attention_norm, n + "norm1")
        inner = g.linear(
            x, n + "inner", param("intermediate.dense.weight"), param("intermediate.dense.bias")
        )
        # The exact GELU BERT was trained with: x/2 (1 + erf(x / sqrt 2)).
        erf = g.op("Erf", [g.op("Mul", [inner, root_half], n + "gelu.s")], n + "gelu.erf")
        gelu = g.op(
            "Mul",
            [g.op("Mul", [inner, half], n + "gelu.h"), g.op("Add", [erf, one], n + "gelu.1")],
            n + "gelu",
        )
        out = g.linear(gelu, n + "out", param("output.dense.weight"), param("output.dense.bias"))
        x = add_and_norm(x, out, "output.LayerNorm", n + "norm2")
    g.op("Identity", [x], HIDDEN)
    tensor = onnx.TensorProto
    inputs = [
        g.helper.make_tensor_value_info(PIECE_IDS, tensor.INT64, ["batch", "length"]),
        g.helper.make_tensor_value_info(POSITIONS, tensor.INT64, ["length"]),
        g.helper.make_tensor_value_info(BLOCKED, tensor.FLOAT, ["batch", 1, 1, "length"]),
    ]
    if layout.relative_bias:
        inputs.append(g.helper.make_tensor_value_info(BUCKETS, tensor.INT64, ["length", "length"]))
    graph = g.helper.make_graph(
        g.nodes,
        directory.name,
        inputs,
        [g.helper.make_tensor_value_info(HIDDEN, tensor.FLOAT, ["batch", "length", hidden])],
        g.constants,
    )
    model = g.helper.make_model(graph, opset_imports=[g.helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by onnxruntime 1.14 and later
    onnx.checker.check_model(model)
    return model


# Models whose int8 graph scales each piece's input on its own (`quantise`); the others use
# onnxruntime's dynamic quantisation, one scale per product's whole input. Per piece, MPNet
# needs no float32 layer and runs faster (17.0 against 20.5 ms a text alone, and batches,
# 10.5 ms a text); MiniLM, whose vectors were fine either way (cosine ≥ 0.97 of float32),
# runs alone 30-40 % slower per piece (3.3 against 2.3 ms a 15-word message: the extra
# element-wise steps that onnxruntime's fused kernel does not need), and the triage, which
# reads it for every customer message, has a 10 ms p99 budget.
PER_PIECE_SCALES = frozenset({"all-mpnet-base-v2"})


def quantise(model: Any) -> Any:
    """The int8 graph, per piece: every product of an input with a constant weight matrix
    (the linear layers; attention's products of two inputs stay float32) becomes an integer
    product.

    The weight gets one symmetric int8 scale per output channel. The input gets one symmetric
    scale per row, that is per piece of each text, computed as the text runs: x / s rounded to
    -127..127, shifted by 128 into uint8 (onnxruntime's fast integer product is uint8 × int8;
    the shift is its zero point), and the int32 sums are scaled back by s × the weight's scale.

    Why per piece. onnxruntime's dynamic quantisation (MPNet's until 2026-12-07, MiniLM's
    still) scales a product's whole input at once. MPNet's feed-forward output products read
    GELU outputs where a few pieces carry huge values; one scale for the tensor flattened every
    other piece, its vectors fell to cosine 0.80-0.94 of float32, and five of its layers had to
    stay float32. Per piece, a large value costs only its own piece's precision: every layer
    is int8 and the vectors are closer to float32 than before (MPNet cosine ≥ 0.985 against
    ≥ 0.94; docs/assistant.md). And since no scale is shared between texts, a text's vector is
    the same whether it runs alone or in a batch (understanding/encoder.py batches texts of
    one length)."""
    import onnx

    constants = {tensor.name: tensor for tensor in model.graph.initializer}
    g = _Builder()
    for name, value in (("q.tiny", 1e-12), ("q.steps", 127.0), ("q.shift", 128.0)):
        g.constant(name, np.array(value, dtype=np.float32))
    g.constant("q.zero", np.array(128, dtype=np.uint8))
    replaced: set[str] = set()
    for node in model.graph.node:
        weight = constants.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            g.nodes.append(node)
            continue
        w = g.numpy_helper.to_array(weight).astype(np.float32)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        n, x = node.name + ".", node.input[0]
        g.constant(n + "w8", np.clip(np.round(w / w_scale), -127, 127).astype(np.int8))
        g.constant(n + "ws", w_scale.astype(np.float32))
        replaced.add(weight.name)
        peak = g.op("ReduceMax", [g.op("Abs", [x], n + "abs")], n + "peak", axes=[-1], keepdims=1)
        scale = g.op("Div", [g.op("Max", [peak, "q.tiny"], n + "peak1"), "q.steps"], n + "xs")
        steps = g.op("Round", [g.op("Div", [x, scale], n + "x.s")], n + "x.r")
        shifted = g.op("Add", [steps, "q.shift"], n + "x.u")
        x8 = g.op("Cast", [shifted], n + "x8", to=onnx.TensorProto.UINT8)
        sums = g.op("MatMulInteger", [x8, n + "w8", "q.zero"], n + "sums")
        back = g.op("Cast", [sums], n + "sums.f", to=onnx.TensorProto.FLOAT)
        # The product's own output name, so the nodes that read it are unchanged.
        g.op("Mul", [g.op("Mul", [back, scale], n + "row"), n + "ws"], node.output[0])
    kept = [tensor for tensor in model.graph.initializer if tensor.name not in replaced]
    graph = g.helper.make_graph(
        g.nodes, model.graph.name, model.graph.input, model.graph.output, kept + g.constants
    )
    quantised = g.helper.make_model(graph, opset_imports=model.opset_import)
    quantised.ir_version = model.ir_version
    onnx.checker.check_model(quantised)
    return quantised


def build(directory: Path | None = None, source: ModelSource = MINILM) -> dict[str, Path]:
    """Both graphs for one model's installed weights, built if missing; {precision: path}."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser advises "pre-processing" (shape inference) on the root logger; this graph
    # has no shapes left to infer, so the advice is noise in `make setup`'s output.
    logging.getLogger().setLevel(logging.ERROR)

    folder = installed(directory, source)
    paths = {precision: graph_path(precision, folder, source) for precision in PRECISIONS}
    if all(path.is_file() for path in paths.values()):
        return paths
    # Write beside the target and rename, so a crash never leaves a file that looks complete.
    staging = paths[FLOAT32].with_suffix(".partial")
    exact = build_float32(folder)
    onnx.save(exact, str(staging))
    quantised = paths[INT8].with_suffix(".partial")
    if source.name in PER_PIECE_SCALES:
        onnx.save(quantise(exact), str(quantised))
    else:
        quantize_dynamic(
            staging,
            quantised,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],  # only products with a constant weight
            per_channel=True,  # one scale per output channel: cosine 0.994 to float32, 0.96 without
        )
    staging.rename(paths[FLOAT32])
    quantised.rename(paths[INT8])
    # Graphs of an earlier builder are never read again (the name carries the key); 150 MB each.
    for old in folder.glob("encoder-*.onnx"):
        if old not in paths.values():
            old.unlink(missing_ok=True)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--build", action="store_true", help="build the graphs if missing")
    parser.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="only these (default: all)"
    )
    args = parser.parse_args(argv)
    for source in (MODELS[name] for name in args.model or MODELS):
        if args.build:
            for precision, path in build(source=source).items():
                print(f"{source.name} {precision}: {path}")
            continue
        for precision in PRECISIONS:
            path = graph_path(precision, source=source)
            print(f"{source.name} {precision}: {path}" + ("" if path.is_file() else " (not built)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
