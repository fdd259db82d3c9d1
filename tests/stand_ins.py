"""The tests' one stand-in for the image model and one for the matcher, where the real ones are not the point.

`InkClassifier` reads the labels the way SPEC §2 defines them, from the pixels: pitch from the mean
row of the ink, volume from how many rows it covers (a horizontal line's thickness), timbre from the
ink's mean colour. `fail` (or `fail_after`: that many classifications first) and `nan` make it raise or
return NaN (an untrained model), and `calls` counts classifications.
"""

from __future__ import annotations

import numpy as np

from bridge.core.bank import Match, Sample
from bridge.core.labels import PITCHES, TIMBRES, Overrides, Prediction, band_for_y, timbre_for_rgb
from bridge.core.raster import CanvasRaster

INK_BELOW = 200  # a channel darker than this is ink; the grid and the white background are lighter


class InkClassifier:
    version = "test-ink-classifier"

    def __init__(self) -> None:
        self.fail = False
        self.fail_after: int | None = None
        self.nan = False
        self.calls = 0

    def classify(self, image: np.ndarray) -> Prediction:
        self.calls += 1
        if self.fail or (self.fail_after is not None and self.calls > self.fail_after):
            raise RuntimeError("injected classifier failure")
        prediction = ink_prediction(image)
        if self.nan:
            return Prediction.from_probabilities([float("nan")] * 12, prediction.p_volume, prediction.p_timbre)
        return prediction

    def classify_raster(self, raster: CanvasRaster) -> Prediction:
        return self.classify(raster.pixels())


def ink_prediction(image: np.ndarray) -> Prediction:
    """image: uint8 (400, 400, 3) canvas -> the labels of its ink (uniform when there is none)."""
    ink = image.min(axis=2) < INK_BELOW
    rows = np.flatnonzero(ink.any(axis=1))
    if not rows.size:
        return Prediction.from_probabilities([1 / 12] * 12, [1 / 3] * 3, [1 / 8] * 8)
    p_pitch, p_volume, p_timbre = np.full(12, 0.01), np.full(3, 0.05), np.full(8, 0.01)
    p_pitch[PITCHES.index(80 - band_for_y(float(rows.mean())))] = 0.89
    p_volume[0 if rows.size < 10 else 1 if rows.size <= 20 else 2] = 0.9
    rgb = tuple(int(c) for c in image[ink].mean(axis=0))
    p_timbre[TIMBRES.index(timbre_for_rgb(rgb))] = 0.93
    return Prediction.from_probabilities(p_pitch, p_volume, p_timbre)


def label_matcher(prediction: Prediction, overrides: Overrides, *, rotation: int, register: int = 4,
                  unpitched: bool = True) -> Match:
    """A matcher over an imaginary complete bank: one file per label cell and rotation parity (in one register,
    all pitched)."""
    labels = overrides.apply(prediction.labels)
    path = f"/bank/{labels.pitch}-{labels.volume}-{labels.timbre}-{rotation % 2}.wav"
    return Match(Sample(path, labels), 1.0)
