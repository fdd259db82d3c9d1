"""The training-data generator's width sampling: boundary widths for the training split only."""

from __future__ import annotations

import dataclasses

import numpy as np

from bridge.core.labels import VOLUMES, volume_for_width
from bridge.training.image_data import DataRecipe, generate_sample, sample_boundary_width

RANGES = DataRecipe().width_ranges_px


def _near_a_boundary(width: float) -> bool:
    return any(abs(width - edge) <= 1.5 for edge in (9.0, 10.0, 20.0, 21.0))


def test_boundary_widths_keep_their_class_and_sit_next_to_a_boundary():
    rng = np.random.default_rng(0)
    for volume in VOLUMES:
        widths = np.array([sample_boundary_width(rng, volume, ranges_px=RANGES) for _ in range(500)])
        assert all(volume_for_width(w) == volume for w in widths), volume
        assert all(_near_a_boundary(w) for w in widths), volume
        assert np.isin(widths, np.arange(1, 31)).mean() > 0.2  # whole px too, as the slider gives
    med = np.array([sample_boundary_width(rng, "med", ranges_px=RANGES) for _ in range(500)])
    assert (med <= 11.5).any() and (med >= 18.5).any()  # both of med's boundaries


def _pen_widths(seed: int, recipe: DataRecipe, n: int) -> list[float]:
    return [s.width_px for i in range(n) for s in generate_sample(seed, i, recipe).drawing.strokes if s.tool == "pen"]


def test_only_the_training_split_leans_on_boundary_widths():
    plain = dataclasses.replace(DataRecipe(), train_boundary_share=0.0)
    leaning = dataclasses.replace(DataRecipe(), train_boundary_share=0.6)
    for i in range(8):  # the validation split is the same drawing for drawing
        a, b = generate_sample(plain.val_seed, i, plain), generate_sample(leaning.val_seed, i, leaning)
        assert np.array_equal(a.image, b.image)
    near_plain = np.mean([_near_a_boundary(w) for w in _pen_widths(plain.train_seed, plain, 60)])
    near_leaning = np.mean([_near_a_boundary(w) for w in _pen_widths(leaning.train_seed, leaning, 60)])
    assert near_leaning > near_plain + 0.2, (near_plain, near_leaning)
