"""The synthetic hands of tests/shape_drawings.py move as a hand can: they slow into a corner."""

from __future__ import annotations

import numpy as np
import pytest
from shape_drawings import STYLES, shape_drawing


def _corner_speed_ratio(kind: str, seed: int, index: int, hand: str) -> float:
    """The speed over the two moves around the stroke's sharpest turn (the slower), over its median speed."""
    points = shape_drawing(kind, seed=seed, index=index, style=STYLES[hand]).strokes[0].points[:-1]
    xy = np.array([(p.x, p.y) for p in points])
    t_ms = np.array([p.t_ms for p in points])
    moves = np.diff(xy, axis=0)
    speed = np.linalg.norm(moves, axis=1) / np.diff(t_ms)
    heading = np.arctan2(moves[:, 1], moves[:, 0])
    turn = np.abs((np.diff(heading) + np.pi) % (2 * np.pi) - np.pi)
    sharpest = int(np.argmax(turn))
    return float(min(speed[sharpest], speed[sharpest + 1]) / np.median(speed))


@pytest.mark.parametrize("hand", sorted(STYLES))
def test_every_hand_slows_into_a_zigzag_s_corner(hand: str):
    ratios = np.array([_corner_speed_ratio("zigzag", 3, i, hand) for i in range(30)])
    assert ratios.max() < 1.0, ratios  # no corner passed at full speed
    assert np.median(ratios) < 0.5, ratios
