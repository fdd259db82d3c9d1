"""`Preprocessor` (the live path: only what changed is computed again) gives the model exactly what
`preprocess` (training, `classify`) gives it: the same float32 bits, on many random strokes."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.core.drawing import Point, Stroke
from bridge.core.preprocess import INPUT_SIZE_PX, Preprocessor, preprocess
from bridge.core.raster import CanvasRaster, background_image

COLORS = ("#000000", "#FF69B4", "#1E90FF", "#228B22", "#FFD700", "#6A0DAD")


class CountingPreprocessor(Preprocessor):
    """Counts the calls that ran the page, grid and gain steps on every block (the slow path)."""

    def __init__(self, size_px: int) -> None:
        super().__init__(size_px)
        self.full = 0

    def _flat_field_all(self) -> None:
        self.full += 1
        super()._flat_field_all()


def same_bits(fast: np.ndarray, reference: np.ndarray) -> bool:
    return fast.dtype == reference.dtype == np.float32 and fast.shape == reference.shape and \
        np.array_equal(fast.view(np.uint32), reference.view(np.uint32))


def random_stroke(rng: np.random.Generator, index: int) -> tuple[Stroke, list[Point]]:
    """A pen (or now and then eraser) stroke of random width, and its points as they arrive."""
    width = float(rng.choice([rng.uniform(1, 20), rng.uniform(20, 80), rng.uniform(150, 260)], p=[0.6, 0.3, 0.1]))
    tool = "eraser" if rng.random() < 0.15 else "pen"
    x, y = rng.uniform(-30, 430, 2)
    points = []
    for i in range(int(rng.integers(1, 30))):
        x, y = x + rng.normal(0, 9), y + rng.normal(0, 9)
        points.append(Point(float(x), float(y), float(i)))
    return Stroke((), COLORS[index % len(COLORS)], width, tool), points


@pytest.mark.parametrize("size_px", [INPUT_SIZE_PX, 50, 200, 25])
def test_the_fast_path_equals_preprocess_on_random_strokes(size_px):
    rng = np.random.default_rng(size_px)
    fast = CountingPreprocessor(size_px)
    raster = CanvasRaster()
    checked = 0
    for index in range(80):
        if rng.random() < 0.5:  # stroke mode clears before each voice; canvas mode keeps the picture
            raster.clear()
        stroke, points = random_stroke(rng, index)
        raster.begin_stroke(stroke)
        for point in points:
            raster.extend_stroke([point])
            if rng.random() < 0.35:
                image = raster.image()
                assert same_bits(fast(image), preprocess(image, size_px=size_px)), (index, point)
                checked += 1
    assert checked > 300
    assert 1 < fast.full < checked / 2  # both paths ran: the box alone, and every block again


def test_reading_rasters_equals_preprocess_whichever_raster_it_last_read():
    """`read(raster)` takes the changed box from the raster: the same bits as `preprocess`, while one
    preprocessor follows two rasters in turn (as the engine's voice and score rasters share one model), is
    also given plain images in between, and a second reader follows one of the rasters."""
    rng = np.random.default_rng(11)
    fast, other_reader = CountingPreprocessor(INPUT_SIZE_PX), Preprocessor()
    rasters = [CanvasRaster(), CanvasRaster()]
    checked = 0
    for index in range(120):
        raster = rasters[int(rng.integers(0, 2))]
        if rng.random() < 0.4:
            raster.clear()
        stroke, points = random_stroke(rng, index)
        raster.begin_stroke(stroke)
        for point in points:
            raster.extend_stroke([point])
            roll = rng.random()
            if roll < 0.3:
                assert same_bits(fast.read(raster), preprocess(raster.image())), (index, point)
                checked += 1
            elif roll < 0.35:
                image = rasters[0].image()
                assert same_bits(fast(image), preprocess(image))
            elif roll < 0.45:
                assert same_bits(other_reader.read(rasters[1]), preprocess(rasters[1].image()))
    assert checked > 300
    assert 1 < fast.full < checked / 2


def test_a_raster_tells_each_reader_what_changed_since_it_read():
    raster, first, second = CanvasRaster(), object(), object()
    pixels, changed = raster.read(first)
    assert changed == (0, 400, 0, 400) and not pixels.flags.writeable
    assert raster.read(first)[1] is None
    raster.begin_stroke(Stroke((Point(100.0, 50.0, 0.0), Point(140.0, 60.0, 8.0)), "#000000", 10.0, "pen"))
    pixels, changed = raster.read(first)
    y0, y1, x0, x1 = changed
    differs = np.argwhere((pixels != background_image().astype(np.uint8)).any(axis=2))
    assert differs.size and (differs.min(axis=0) >= (y0, x0)).all() and (differs.max(axis=0) < (y1, x1)).all()
    assert raster.read(second)[1] == (0, 400, 0, 400)
    raster.clear()  # the stroke's pixels go back to the background
    assert raster.read(first)[1] == changed
    assert raster.read(first)[1] is None


def test_the_fast_path_follows_any_change_of_the_canvas():
    """Other backgrounds (page colour, grid shade and width), unrelated images one after the other, a repeated
    image, random pixel edits and an image that is not C-contiguous."""
    rng = np.random.default_rng(7)
    fast = Preprocessor()
    images = [background_image(grid_rgb=(150, 150, 150), grid_width_px=3, grid_offset_px=1),
              background_image(grid=False) * np.float32(0.9), background_image()]
    for background in images:
        raster = CanvasRaster(background)
        for index in range(6):
            stroke, points = random_stroke(rng, index)
            raster.begin_stroke(Stroke(tuple(points), stroke.color, stroke.width_px, stroke.tool))
            image = raster.image()
            assert same_bits(fast(image), preprocess(image))
            assert same_bits(fast(image), preprocess(image))  # unchanged
    image = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 400, 2)
        h, w = rng.integers(1, 60, 2)
        image[y : y + h, x : x + w] = rng.integers(0, 256, 3, dtype=np.uint8)
        image[rng.integers(0, 400), rng.integers(0, 400), rng.integers(0, 3)] ^= 1  # a single byte
        assert same_bits(fast(image), preprocess(image))
    strided = np.asfortranarray(image[::-1])
    assert not strided.flags.c_contiguous
    assert same_bits(fast(strided), preprocess(strided))


def test_the_output_is_the_callers_own():
    fast = Preprocessor()
    blank = background_image().astype(np.uint8)
    first = fast(blank)
    first[:] = 0.5
    assert same_bits(fast(blank), preprocess(blank))


def test_bad_input_is_refused_like_preprocess():
    with pytest.raises(ValueError, match="size_px must divide 400"):
        Preprocessor(33)
    with pytest.raises(ValueError, match=r"uint8 image of shape \(400, 400, 3\), got float32 \(400, 400, 3\)"):
        Preprocessor()(np.zeros((400, 400, 3), np.float32))
    with pytest.raises(ValueError, match=r"got uint8 \(200, 200, 3\)"):
        Preprocessor()(np.zeros((200, 200, 3), np.uint8))
