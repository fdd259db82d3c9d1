"""How likely two marks are one shape, from how they differ (bridge.core.shapes.pair_features): a small
network (two ReLU layers) fitted on drawings of hands A, B and C of tests/shape_drawings.py by
benchmarks/train_shape_metric.py (bridge.training.shape_metric), its weights in shape_metric_weights.py.
Only differences go in, never a mark's own features: it weighs them as a person would, it does not know
the shapes it was trained on (one left out of training is told apart as well). Pure numpy."""

from __future__ import annotations

import numpy as np

from bridge.core import shape_metric_weights as weights

_MEAN = np.array(weights.MEAN)
_SCALE = np.array(weights.SCALE)
_LAYERS = tuple((np.array(w), np.array(b)) for w, b in weights.LAYERS)
PAIR_FEATURES: tuple[str, ...] = tuple(weights.PAIR_FEATURES)


def logits(pairs: np.ndarray, mean: np.ndarray, scale: np.ndarray,
           layers: tuple[tuple[np.ndarray, np.ndarray], ...]) -> np.ndarray:
    """(M, P) pair features -> (M,) logits of "one shape" through standardisation and the layers (ReLU between)."""
    h = (pairs - mean) / scale
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    found: np.ndarray = h[:, 0]
    return found


def distances(pairs: np.ndarray) -> np.ndarray:
    """(M, P) pair features -> (M,) distances: -log(probability of one shape), >= 0 (0: surely one shape)."""
    found: np.ndarray = np.logaddexp(0.0, -logits(pairs, _MEAN, _SCALE, _LAYERS))
    return found
