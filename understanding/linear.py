"""Independent yes/no classifiers over sentence vectors (one-vs-rest logistic regression).

The handoff service's environment has numpy but neither scipy nor scikit-learn, and a few
thousand 384-dimensional vectors need nothing more: full-batch gradient descent with Adam on the
L2-regularised log loss converges in a few hundred steps and well under a second. Each label is
its own sigmoid, so a message can be angry *and* a legal risk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogisticHead:
    """weights (dims, labels) and bias (labels,): P(label | x) = sigmoid(x @ weights + bias)."""

    weights: np.ndarray
    bias: np.ndarray

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        return sigmoid(vectors @ self.weights + self.bias)

    @classmethod
    def from_arrays(cls, weights: np.ndarray, bias: np.ndarray) -> LogisticHead:
        return cls(np.asarray(weights, np.float32), np.asarray(bias, np.float32))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def train_logistic(
    vectors: np.ndarray,
    targets: np.ndarray,
    *,
    l2: float = 1e-3,
    steps: int = 600,
    learning_rate: float = 0.05,
    positive_weight: float = 1.0,
) -> LogisticHead:
    """Fit one sigmoid per column of `targets` (0/1, shape (examples, labels)).

    `positive_weight` > 1 counts each positive example more: the labels are rare beside the
    routine messages, and a missed escalation costs more than a needless one.
    Deterministic: no sampling, zeros to start.
    """
    x = np.asarray(vectors, np.float64)
    weights, bias = fit_logistic(
        lambda w: x @ w,
        lambda error: x.T @ error,
        x.shape[1],
        targets,
        l2=l2,
        steps=steps,
        learning_rate=learning_rate,
        positive_weight=positive_weight,
    )
    return LogisticHead(weights.astype(np.float32), bias.astype(np.float32))


def fit_logistic(
    product: Callable[[np.ndarray], np.ndarray],
    transposed_product: Callable[[np.ndarray], np.ndarray],
    dims: int,
    targets: np.ndarray,
    *,
    l2: float,
    steps: int,
    learning_rate: float,
    positive_weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch Adam on the L2-regularised mean log loss, for any design matrix X given by
    `product(w) = X @ w` and `transposed_product(e) = X.T @ e` (dense vectors here, hashed
    sparse n-grams in the triage's displeasure model). Returns (weights, bias) in float64."""
    y = np.asarray(targets, np.float64)
    n = y.shape[0]
    weights = np.zeros((dims, y.shape[1]))
    bias = np.zeros(y.shape[1])
    sample = np.where(y > 0, positive_weight, 1.0)
    sample /= sample.mean(axis=0, keepdims=True)
    moments = [np.zeros_like(weights), np.zeros_like(bias)]
    squares = [np.zeros_like(weights), np.zeros_like(bias)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        error = (sigmoid(product(weights) + bias) - y) * sample / n
        grads = [transposed_product(error) + l2 * weights, error.sum(axis=0)]
        for i, (param, grad) in enumerate(zip((weights, bias), grads, strict=True)):
            moments[i] = beta1 * moments[i] + (1 - beta1) * grad
            squares[i] = beta2 * squares[i] + (1 - beta2) * grad * grad
            corrected = moments[i] / (1 - beta1**step)
            scale = np.sqrt(squares[i] / (1 - beta2**step)) + eps
            param -= learning_rate * corrected / scale
    return weights, bias
