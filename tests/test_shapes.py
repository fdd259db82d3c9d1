"""bridge.core.shapes: what the features of a mark do not change with, the number of a pattern's repetitions
(a zigzag's teeth, a wave's periods, a spiral's turns) above all."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bridge.core import shape_metric, shapes


def zigzag(segments: int, height: float = 0.5) -> list[np.ndarray]:
    x = np.linspace(0.0, 1.0, segments + 1)
    y = np.where(np.arange(segments + 1) % 2 == 0, height / 2, -height / 2)
    corners = np.stack([x, y], axis=1)
    dense = np.concatenate([a + np.linspace(0, 1, 40, endpoint=False)[:, None] * (b - a)
                            for a, b in itertools.pairwise(corners)] + [corners[-1:]])
    return [100.0 * dense + 50.0]


def wave(periods: float, height: float = 0.3) -> list[np.ndarray]:
    x = np.linspace(0.0, 1.0, 400)
    return [100.0 * np.stack([x, height / 2 * np.sin(2 * math.pi * periods * x)], axis=1) + 50.0]


def spiral(turns: float) -> list[np.ndarray]:
    s = np.linspace(0.0, 1.0, 800)
    angle = 2 * math.pi * turns * s
    return [100.0 * (0.05 + 0.45 * s)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1) + 100.0]


def features(strokes: list[np.ndarray]) -> shapes.Features:
    found = shapes.outline(strokes)
    assert found is not None
    return shapes.features(found)


def test_a_zigzag_runs_straight_between_its_turning_points_whatever_its_teeth():
    """However many teeth or periods: a zigzag (of any height) about 0; a wave (its crests up to a fifth of
    its wavelength above and below its middle, as waves are drawn) 0.04 or more."""
    zigzags = [features(zigzag(n, h)).ease for n in (3, 4, 6, 8) for h in (0.3, 0.6)]
    waves = [features(wave(p, 0.4 / p * steepness)).ease for p in (1.0, 1.5, 2.0, 3.0) for steepness in (0.5, 1.0)]
    assert max(zigzags) < 0.02, zigzags
    assert min(waves) > 0.04, waves


@pytest.mark.parametrize(("teeth", "periods"), [(3, 3.0), (6, 1.5), (8, 1.0)])
def test_a_zigzag_is_nearer_a_zigzag_than_a_wave_of_its_own_number_of_turns(teeth: int, periods: float):
    """A zigzag of `teeth` segments against a zigzag of 4 and a wave with as many turning points as it has: the
    zigzag is nearer, however many teeth either has; and the same for a wave."""
    templates = shapes.TemplateSet.of([features(zigzag(4)), features(wave(teeth / 2))])
    assert np.argmin(shapes.distances(features(zigzag(teeth)), templates)) == 0
    templates = shapes.TemplateSet.of([features(zigzag(round(2 * periods))), features(wave(2.0))])
    assert np.argmin(shapes.distances(features(wave(periods)), templates)) == 1


def test_a_spiral_of_two_or_three_turns_winds_as_much_and_a_circle_once():
    assert features(spiral(2.2)).winding == features(spiral(3.0)).winding == shapes.WINDING_RANGE[1]
    circle = [100.0 * np.stack([np.cos(a), np.sin(a)], axis=1) + 100.0 for a in [np.linspace(0, 2 * math.pi, 300)]]
    assert features(circle).winding == pytest.approx(1.0, abs=0.1)
    assert features(spiral(1.6)).winding > 1.4


def circle(turns: float = 1.0, stretch: float = 1.0) -> list[np.ndarray]:
    a = np.linspace(0, 2 * math.pi * turns, 400)
    return [100.0 * np.stack([stretch * np.cos(a), np.sin(a)], axis=1) + 200.0]


def test_a_loose_spiral_grows_from_its_centre_and_a_circle_or_ellipse_does_not():
    """However few turns: a spiral's distance from its centre grows along it and one end is near the centre;
    a circle's or an ellipse's (stretched 1.4 times, run a little past its start) does neither."""
    for turns in (1.4, 2.0, 3.0):
        found = features(spiral(turns))
        assert found.radius_trend > 0.7 and found.inner_end < 0.3, (turns, found)
    for turns, stretch in ((1.0, 1.0), (1.05, 1.4), (0.95, 0.7)):
        found = features(circle(turns, stretch))
        assert found.radius_trend < 0.4 and found.inner_end > 0.5, (turns, stretch, found)


def test_a_corner_is_as_sharp_over_a_short_span_as_over_a_long_one_whatever_the_teeth():
    """`corner` at the scale of each stretch: a zigzag about 1, a wave well below, however many teeth."""
    zigzags = [features(zigzag(n, h)).corner for n in (3, 4, 7) for h in (0.3, 0.6)]
    waves = [features(wave(p, 0.4 / p * steepness)).corner for p in (1.0, 2.0, 3.0) for steepness in (0.5, 1.0)]
    assert min(zigzags) > 0.9, zigzags
    assert max(waves) < 0.85, waves


def test_a_spiral_of_few_turns_is_nearer_a_spiral_of_more_than_a_circle():
    templates = shapes.TemplateSet.of([features(spiral(2.5)), features(circle())])
    for turns in (1.4, 1.7):
        assert np.argmin(shapes.distances(features(spiral(turns)), templates)) == 0, turns


def test_the_metric_takes_the_pair_features_the_shapes_give():
    assert shape_metric.PAIR_FEATURES == shapes.PAIR_FEATURES
    pairs = shapes.pair_features(features(zigzag(4)), shapes.TemplateSet.of([features(zigzag(4)), features(wave(2))]))
    assert pairs.shape == (2, len(shapes.PAIR_FEATURES)) and pairs[0, 0] < pairs[1, 0]
    near, far = shape_metric.distances(pairs)
    assert 0 <= near < far
