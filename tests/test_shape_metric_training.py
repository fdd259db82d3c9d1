"""bridge.training.shape_metric: the fit is deterministic, learns a rule, and the module it writes holds it."""

from __future__ import annotations

import numpy as np

from bridge.training import shape_metric


def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = rng.uniform(0, 1, (2000, 3))
    return pairs, (pairs[:, 0] + 0.5 * pairs[:, 2] < 0.6)  # one shape when these two differences are small


def test_the_fit_learns_which_pairs_are_one_shape_and_is_deterministic():
    pairs, same = data(0)
    model = shape_metric.fit(pairs, same, hidden=(8,), epochs=60, rate=0.01)
    again = shape_metric.fit(pairs, same, hidden=(8,), epochs=60, rate=0.01)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(model.layers, again.layers))
    test, truth = data(1)
    assert np.mean((shape_metric.logits(model, test) > 0) == truth) > 0.95


def test_the_written_module_gives_the_same_logits():
    pairs, same = data(2)
    model = shape_metric.fit(pairs, same, hidden=(4, 3), epochs=2)
    namespace: dict = {}
    exec(shape_metric.as_module(model, ("a", "b", "c"), "a test"), namespace)
    assert namespace["PAIR_FEATURES"] == ("a", "b", "c")
    h = (pairs - np.array(namespace["MEAN"])) / np.array(namespace["SCALE"])
    for i, (w, b) in enumerate(namespace["LAYERS"]):
        h = h @ np.array(w) + np.array(b)
        h = np.maximum(h, 0) if i < len(namespace["LAYERS"]) - 1 else h
    assert np.allclose(h[:, 0], shape_metric.logits(model, pairs), atol=1e-3)
    assert all(len(line) <= 120 for line in shape_metric.as_module(model, ("a",), "n").splitlines())
