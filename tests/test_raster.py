"""The one rasteriser: deterministic, and drawing point by point (live) equals drawing whole (replay)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.labels import BACKGROUND_RGB, GRID_RGB, PALETTE_RGB
from bridge.core.raster import CanvasRaster, background_image, rasterise


def wobbly(y: float, *, color: str = "#000000", width: float = 8.0, t0: float = 0.0, n: int = 40) -> Stroke:
    xs = np.linspace(15, 385, n)
    return Stroke(tuple(Point(x, y + 7 * np.sin(x / 37), t0 + 10 * i) for i, x in enumerate(xs)), color, width)


def scene() -> Drawing:
    eraser = Stroke((Point(100, 150, 900), Point(140, 190, 930)), "#FFFFFF", 18.0, "eraser")
    tap = Stroke((Point(300.4, 60.6, 1200),), "#228B22", 5.5)
    return Drawing((wobbly(170), wobbly(190, color="#FF69B4", width=21.5, t0=500), eraser, tap))


def test_rasterise_is_deterministic():
    first = rasterise(scene())
    assert first.shape == (400, 400, 3) and first.dtype == np.uint8
    for _ in range(2):
        assert np.array_equal(rasterise(scene()), first)
    assert np.array_equal(rasterise(drawing_from_json(scene().to_json())), first)  # a saved drawing too


@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_incremental_drawing_equals_whole_drawing(chunk):
    whole = rasterise(scene())
    live = CanvasRaster()
    for stroke in scene().strokes:
        live.begin_stroke(Stroke(stroke.points[:1], stroke.color, stroke.width_px, stroke.tool))
        rest = stroke.points[1:]
        for i in range(0, len(rest), chunk):
            live.extend_stroke(rest[i:i + chunk])
            assert live.image().shape == (400, 400, 3)
    assert np.array_equal(live.image(), whole)


def test_an_empty_stroke_then_points_equals_the_whole_stroke():
    stroke = wobbly(250, color="#6A0DAD", width=13.0)
    live = CanvasRaster()
    live.begin_stroke(Stroke((), stroke.color, stroke.width_px))
    for point in stroke.points:
        live.extend_stroke([point])
    assert np.array_equal(live.image(), rasterise(Drawing((stroke,))))


def test_a_point_where_the_stroke_already_is_adds_no_ink():
    raster = CanvasRaster()
    raster.begin_stroke(Stroke((Point(100, 100, 0),), "#D00000", 9.0))
    assert raster.extend_stroke([Point(140.5, 120.25, 10)])
    before = raster.image()
    assert not raster.extend_stroke([Point(140.5, 120.25, 20), Point(140.5, 120.25, 30)])  # a pen resting, released
    assert np.array_equal(raster.image(), before)
    assert raster.extend_stroke([Point(140.5, 120.25, 40), Point(141.0, 120.25, 50)])  # moving on draws again
    assert not np.array_equal(raster.image(), before)


def test_background_and_grid():
    blank = rasterise(Drawing())
    assert tuple(blank[10, 10]) == BACKGROUND_RGB
    assert tuple(blank[33, 10]) == GRID_RGB and tuple(blank[10, 66]) == GRID_RGB
    assert tuple(blank[34, 10]) == BACKGROUND_RGB
    assert np.all(rasterise(Drawing(), background=background_image(grid=False)) == 255)
    dark = background_image(grid_rgb=(150, 150, 150), grid_width_px=3, grid_offset_px=1)
    assert np.all(dark[33:36, 5] == 150) and np.all(dark[32, 5] == 255) and np.all(dark[36, 5] == 255)


def test_stroke_pixels_coverage_and_eraser():
    stroke = Stroke((Point(100, 200.5, 0), Point(300, 200.5, 100)), "#1E90FF", 10.0)
    raster = CanvasRaster(background_image(grid=False))
    raster.draw_stroke(stroke)
    image = raster.image()
    assert tuple(image[200, 200]) == PALETTE_RGB["flute"]  # full coverage in the middle
    assert tuple(image[200, 50]) == BACKGROUND_RGB
    coverage = raster.stroke_coverage()
    assert coverage.dtype == np.float32 and coverage.min() >= 0 and coverage.max() == 1
    capsule_area = 200 * 10 + np.pi * 5**2
    assert coverage.sum() == pytest.approx(capsule_area, rel=0.01)  # anti-aliased area = geometric area
    edge = image[195, 200]  # the edge row is half covered: between paper and ink
    assert BACKGROUND_RGB != tuple(edge) != PALETTE_RGB["flute"]
    raster.draw_stroke(Stroke((Point(200, 190, 200), Point(200, 210, 210)), "#FFFFFF", 30.0, "eraser"))
    assert tuple(raster.image()[200, 200]) == BACKGROUND_RGB


def test_a_drawing_saved_on_another_canvas_size_is_scaled():
    small = Drawing((Stroke((Point(50, 100, 0), Point(150, 100, 50)), "#000000", 4.0),), width_px=200, height_px=200)
    big = Drawing((Stroke((Point(100, 200, 0), Point(300, 200, 50)), "#000000", 8.0),))
    assert np.array_equal(rasterise(small), rasterise(big))


def test_extend_before_begin_is_an_error():
    with pytest.raises(RuntimeError):
        CanvasRaster().extend_stroke([Point(1, 1, 0)])
