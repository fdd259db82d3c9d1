"""The image model run on a band of the input's columns: the band holds the ink with its context, and the band
models give the whole model's probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.adapters.image_classifier import DEFAULT_MODEL_DIR, SPEC, ImageClassifier, load_image_classifier
from bridge.adapters.litert_model import LiteRTRunner, load_model_files
from bridge.core.column_bands import band_widths, column_band
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.errors import ModelError
from bridge.core.labels import PALETTE_HEX
from bridge.core.preprocess import preprocess
from bridge.core.raster import CanvasRaster, rasterise

WIDTHS = band_widths(100)  # (28, 52, 76, 100)


def inked(*columns: int) -> np.ndarray:
    x = np.zeros((100, 100, 3), np.float32)
    for column in columns:
        x[50, column, 1] = 0.25
    return x


def test_band_widths_are_odd_numbers_of_places_up_to_the_whole_input():
    assert WIDTHS == (28, 52, 76, 100)
    assert band_widths(50) == (14, 26, 38, 50)


@pytest.mark.parametrize(("columns", "band"), [
    ((), (0, 28)),  # blank: any band gives the blank answer
    ((40,), (32, 28)),  # place 10, pair 5: pairs 4..6 are places 8..13
    ((40, 47), (32, 28)),  # pair 5 still
    ((40, 48), (32, 52)),  # pairs 5..6 need places 8..15
    ((0, 3), (0, 28)),  # at the left edge the band starts there
    ((99,), (72, 28)),  # at the right edge it ends there, starting at a pair
    ((20, 70), (8, 76)),
    ((5, 95), (0, 100)),
])
def test_the_band_holds_the_inked_pairs_of_places_and_one_pair_either_side(columns, band):
    assert column_band(inked(*columns), WIDTHS) == band


def test_without_bands_the_whole_input_is_the_band():
    assert column_band(inked(40), (100,)) == (0, 100)


@pytest.fixture(scope="module")
def classifiers() -> tuple[ImageClassifier, ImageClassifier]:
    """(the committed model with its bands, the same model on whole inputs only)."""
    files = load_model_files(DEFAULT_MODEL_DIR, SPEC)
    whole = ImageClassifier(LiteRTRunner(files.model_bytes, SPEC), files.metadata, "whole")
    return load_image_classifier(), whole


def strokes(seed: int, n: int) -> list[Stroke]:
    """Random strokes anywhere on the canvas, past its edges too: dabs to lines, 1-30 px, palette colours."""
    rng = np.random.default_rng(seed)
    colours = list(PALETTE_HEX.values())
    out = []
    for i in range(n):
        x0, y0 = rng.uniform(-10, 410), rng.uniform(5, 395)
        length, angle = rng.choice([0.0, rng.uniform(5, 60), rng.uniform(60, 300)]), rng.uniform(0, np.pi)
        t = np.linspace(0, 1, 1 if length == 0 else 15)
        points = tuple(Point(float(x0 + length * s * np.cos(angle)), float(y0 + length * s * np.sin(angle)
                                                                           + 6 * np.sin(9 * s)), 10.0 * k)
                       for k, s in enumerate(t))
        out.append(Stroke(points, colours[i % len(colours)], float(rng.uniform(1, 30))))
    return out


def test_the_band_models_give_the_whole_models_probabilities(classifiers):
    banded, whole = classifiers
    used = {width: 0 for width in WIDTHS}
    canvases = [Drawing((stroke,)) for stroke in strokes(seed=3, n=160)]
    # several strokes at once, and lines along a grid line (they change the grid's flat-field)
    canvases += [Drawing(tuple(strokes(seed=s, n=3))) for s in range(20)]
    canvases += [Drawing((Stroke((Point(x, 66.0, 0), Point(x + d, 66.0, 50)), "#000000", 3.0),))
                 for x, d in ((10, 250), (150, 240), (30, 60))]
    for drawing in canvases:
        image = rasterise(drawing)
        a, b = banded.classify(image), whole.classify(image)
        used[column_band(preprocess(image), WIDTHS)[1]] += 1
        for head in ("pitch", "volume", "timbre"):
            pa, pb = getattr(a, f"p_{head}"), getattr(b, f"p_{head}")
            assert np.abs(np.asarray(pa) - np.asarray(pb)).max() <= 1e-4, (drawing, head)
        assert a.labels == b.labels
    assert all(count >= 10 for count in used.values()), used


def test_a_stroke_drawn_live_is_classified_as_its_whole_image(classifiers):
    banded, whole = classifiers
    raster = CanvasRaster()
    stroke = strokes(seed=5, n=1)[0]
    raster.begin_stroke(Stroke(stroke.points[:1], stroke.color, stroke.width_px))
    for point in stroke.points[1:]:
        raster.extend_stroke([point])
        assert banded.classify_raster(raster).labels == whole.classify(raster.image()).labels


def test_a_band_model_that_is_not_the_one_trained_is_refused(tmp_path):
    folder = tmp_path / "image"
    folder.mkdir()
    for path in DEFAULT_MODEL_DIR.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "model_band52.tflite").write_bytes((folder / "model_band28.tflite").read_bytes())
    with pytest.raises(ModelError, match=r"model_band52\.tflite: has sha256 .*replaced after training; "
                                         r"train it with: python run_bridge.py train-image --export-bands"):
        load_image_classifier(folder)
    (folder / "model_band52.tflite").unlink()
    with pytest.raises(ModelError, match=r"model_band52\.tflite: is missing"):
        load_image_classifier(folder)
