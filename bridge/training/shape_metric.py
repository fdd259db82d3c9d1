"""Fit the taught-shape metric (bridge.core.shape_metric): a small network that says how likely two marks
are the same shape from how their features differ (bridge.core.shapes.pair_features), numpy only.

Trained on pairs (a mark, a taught example) labelled same shape or not; its distance is -log of that
probability. Only differences between two marks go in, never a mark's own features, so it learns what
makes two drawings one shape, not which of the training shapes a drawing is: a shape it never saw is
compared as well (benchmarks/train_shape_metric.py checks it on shapes left out).
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass

import numpy as np

from bridge.core import shape_metric as core_metric


@dataclass(frozen=True)
class Fit:
    """Input standardisation and the layers: (weights, biases) per layer, ReLU between, one logit out."""

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]


def fit(pairs: np.ndarray, same: np.ndarray, *, hidden: tuple[int, ...] = (32, 16), epochs: int = 40,
        batch: int = 512, rate: float = 1e-3, decay: float = 1e-3, seed: int = 0) -> Fit:
    """Binary cross-entropy on (n, P) pair features and their labels (n,) by Adam; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    mean = pairs.mean(axis=0)
    scale = pairs.std(axis=0) + 1e-9
    x_all = ((pairs - mean) / scale).astype(np.float64)
    y_all = same.astype(np.float64)
    sizes = (pairs.shape[1], *hidden, 1)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
        params += [rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    step = 0
    n = len(x_all)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            x, y = x_all[rows], y_all[rows]
            grads = _gradients(params, x, y, decay / n)
            step += 1
            for i, g in enumerate(grads):
                moments[i] = 0.9 * moments[i] + 0.1 * g
                squares[i] = 0.999 * squares[i] + 0.001 * g * g
                corrected = moments[i] / (1 - 0.9**step)
                params[i] -= rate * corrected / (np.sqrt(squares[i] / (1 - 0.999**step)) + 1e-8)
    layers = tuple((params[i], params[i + 1]) for i in range(0, len(params), 2))
    return Fit(mean, scale, layers)


def _gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, decay: float) -> list[np.ndarray]:
    activations = [x]
    count = len(params) // 2
    for i in range(count):
        z = activations[-1] @ params[2 * i] + params[2 * i + 1]
        activations.append(np.maximum(z, 0.0) if i < count - 1 else z)
    logit = activations[-1][:, 0]
    delta = ((1.0 / (1.0 + np.exp(-logit))) - y)[:, None] / len(y)  # d(mean BCE)/d(logit)
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    for i in range(count - 1, -1, -1):
        grads[2 * i] = activations[i].T @ delta + decay * params[2 * i]
        grads[2 * i + 1] = delta.sum(axis=0)
        if i:
            delta = (delta @ params[2 * i].T) * (activations[i] > 0)
    return grads


def logits(model: Fit, pairs: np.ndarray) -> np.ndarray:
    return core_metric.logits(pairs, model.mean, model.scale, model.layers)


def as_module(model: Fit, names: tuple[str, ...], note: str) -> str:
    """The fit as the Python source of bridge/core/shape_metric_weights.py (6 decimals, lines of at most 120)."""
    def value(name: str, a: object) -> str:
        text = f"{name} = {np.round(a, 6).tolist() if isinstance(a, np.ndarray) else a!r}"
        return "\n".join(textwrap.wrap(text, 118, subsequent_indent="    ", break_long_words=False,
                                        break_on_hyphens=False))
    parts = ['"""Weights of bridge.core.shape_metric, written by benchmarks/train_shape_metric.py (do not edit):',
             note, '"""', "", value("PAIR_FEATURES", names), value("MEAN", model.mean), value("SCALE", model.scale)]
    for i, (w, b) in enumerate(model.layers):
        parts += [value(f"WEIGHTS_{i}", w), value(f"BIASES_{i}", b)]
    parts.append(f"LAYERS = [{', '.join(f'(WEIGHTS_{i}, BIASES_{i})' for i in range(len(model.layers)))}]")
    return "\n".join(parts) + "\n"
