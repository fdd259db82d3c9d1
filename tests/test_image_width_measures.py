"""The image model's pen-width measures: fixed cross-section sums in the right channels and directions."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds the Keras network (imports TensorFlow)

MEASURES = ("cross_width", "cross_width_diagonal", "least", "v", "h", "d", "a")


def test_a_horizontal_band_reads_its_thickness_across_and_the_window_along():
    import keras

    from bridge.training.image_train import WIDTH_PX, build_model, width_window

    model = build_model(100)
    probe = keras.Model(model.input, [model.get_layer("coverage_coarse").output, model.get_layer("measures").output])
    x = np.zeros((1, 100, 100, 3), np.float32)
    x[0, 48:52] = 0.9  # a black band 16 canvas px thick: 2 whole pixels at the measures' 50 px
    coverage, measures = (t[0] for t in probe.predict(x, verbose=0))
    c = float(coverage[25, 25, 0])  # the (untrained) coverage of one full pixel of the band
    assert c > 0 and np.allclose(coverage[24:26, 10:40], c)
    read = dict(zip(MEASURES, measures[25, 25], strict=True))
    window = width_window(WIDTH_PX)
    assert read["v"] == pytest.approx(2 * c, rel=1e-4)  # straight across the band: its thickness
    assert read["h"] == pytest.approx(window * c, rel=1e-4)  # along it: the whole window
    assert read["d"] == pytest.approx(2 * math.sqrt(2) * c, rel=1e-4)  # 2 diagonal steps of sqrt 2
    assert read["a"] == pytest.approx(read["d"], rel=1e-4)
    assert read["least"] == pytest.approx(read["v"], rel=1e-4)
    assert read["cross_width"] == pytest.approx(2 * window * c / math.hypot(2, window), rel=1e-4)
    assert read["cross_width_diagonal"] == pytest.approx(read["d"] / math.sqrt(2), rel=1e-4)
    assert np.allclose(measures[10, 25], 0)  # paper far from the band reads nothing
