"""The one rasteriser: a drawing -> the 400x400 RGB canvas image with its grid (SPEC §2).

Training, live classification and replay all render through `CanvasRaster`, so a stroke looks the
same to the model wherever it comes from. Strokes are anti-aliased capsules (round caps and joins);
a stroke's coverage is the max over its segments and is composited once over the canvas as it was
before the stroke, so rendering a stroke point by point (live) gives the same pixels as rendering
it whole (replay).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from bridge.core.drawing import Drawing, Point, Stroke, canvas_scale
from bridge.core.labels import BACKGROUND_RGB, CANVAS_SIZE_PX, GRID_RGB, GRID_STEP_PX

Box = tuple[int, int, int, int]  # y0, y1, x0, x1: a pixel box, ends excluded


def background_image(
    *,
    size_px: int = CANVAS_SIZE_PX,
    grid: bool = True,
    grid_rgb: tuple[int, int, int] = GRID_RGB,
    grid_step_px: int = GRID_STEP_PX,
    grid_width_px: int = 1,
    grid_offset_px: int = 0,
) -> np.ndarray:
    """White canvas with light-grey grid lines every `grid_step_px`; float32, shape (size, size, 3)."""
    image = np.empty((size_px, size_px, 3), dtype=np.float32)
    image[:] = BACKGROUND_RGB
    if grid:
        for start in range(grid_step_px + grid_offset_px, size_px, grid_step_px):
            lines = slice(max(start - grid_width_px // 2, 0), start - grid_width_px // 2 + grid_width_px)
            image[lines, :] = grid_rgb
            image[:, lines] = grid_rgb
    return image


class CanvasRaster:
    """A canvas that strokes are drawn into, incrementally or all at once.

    Usage: `begin_stroke(stroke)`, then `extend_stroke(points)` as points arrive (or
    `draw_stroke(stroke)` for a finished one). `image()` returns the uint8 canvas.

    Every step touches only the pixels a stroke reaches: the raster keeps the boxes where its arrays may
    differ (the ink since the last clear, the last stroke's coverage, the canvas as it was before the
    stroke, the uint8 image) and brings them up to date box by box, never the whole 400x400 canvas.

    A reader that follows the canvas as it changes (the model's preprocessing, `read`) is told the box of
    pixels that may have changed since it last read, so it need not compare whole images.
    """

    def __init__(self, background: np.ndarray | None = None) -> None:
        self.background = background_image() if background is None else background.astype(np.float32)
        self.size_px = self.background.shape[0]
        self._canvas = self.background.copy()
        self._before_stroke = self.background.copy()  # the canvas before the stroke, outside _unsynced
        self._coverage = np.zeros(self.background.shape[:2], dtype=np.float32)
        self._image: np.ndarray = np.rint(self.background).astype(np.uint8)  # the canvas as uint8, outside _image_stale
        self._inked: Box | None = None  # where the canvas may differ from the background
        self._unsynced: Box | None = None  # where _before_stroke may differ from the canvas
        self._stroke_box: Box | None = None  # where _coverage may be non-zero
        self._image_stale: Box | None = None  # where _image may differ from the canvas
        self._stroke: Stroke | None = None
        self._ink: np.ndarray | None = None  # the stroke's colour, float32 RGB
        self._last_point: Point | None = None
        self._unread: dict[int, Box | None] = {}  # per reader (by id): where the image changed since it read
        centres = np.arange(self.size_px, dtype=np.float32) + np.float32(0.5)  # pixel centres
        self._px_x = centres[None, :]
        self._px_y = centres[:, None]

    def clear(self) -> None:
        box = self._inked
        if box is not None:
            y0, y1, x0, x1 = box
            self._canvas[y0:y1, x0:x1] = self.background[y0:y1, x0:x1]
            self._unsynced = _union(self._unsynced, box)
            self._mark_changed(box)
            self._inked = None
        self._stroke = None

    def begin_stroke(self, stroke: Stroke) -> None:
        """Start a stroke; its own points (if any) are drawn at once."""
        if self._unsynced is not None:
            y0, y1, x0, x1 = self._unsynced
            self._before_stroke[y0:y1, x0:x1] = self._canvas[y0:y1, x0:x1]
            self._unsynced = None
        if self._stroke_box is not None:
            y0, y1, x0, x1 = self._stroke_box
            self._coverage[y0:y1, x0:x1] = 0.0
            self._stroke_box = None
        self._stroke = stroke
        self._ink = None if stroke.tool == "eraser" else np.array(stroke.rgb, np.float32)  # an eraser: the background
        self._last_point = None
        self.extend_stroke(stroke.points)

    def extend_stroke(self, points: tuple[Point, ...] | list[Point]) -> bool:
        """Add points to the current stroke and update the canvas where they land; whether the canvas may have
        changed. A point where the stroke already is (a pen released where it stopped) adds no ink: the round
        cap of the segment ending there already covers it."""
        if self._stroke is None:
            raise RuntimeError("extend_stroke() before begin_stroke()")
        radius = self._stroke.width_px / 2.0
        changed = False
        for point in points:
            start = self._last_point
            if start is not None and start.x == point.x and start.y == point.y:
                continue
            box = self._stamp_segment(start or point, point, radius)
            self._last_point = point
            if box is not None:
                self._composite(box)
                changed = True
        return changed

    def draw_stroke(self, stroke: Stroke) -> None:
        self.begin_stroke(stroke)

    def draw(self, drawing: Drawing) -> None:
        """Draw every stroke; a drawing saved on another canvas size is scaled to this one."""
        for stroke in scaled_to_canvas(drawing, self.size_px).strokes:
            self.draw_stroke(stroke)

    def image(self) -> np.ndarray:
        """The canvas as uint8 RGB, shape (size, size, 3): a copy the caller may keep."""
        return self.pixels().copy()

    def pixels(self) -> np.ndarray:
        """The canvas as uint8 RGB, shape (size, size, 3): a read-only view, valid until the raster changes."""
        if self._image_stale is not None:
            y0, y1, x0, x1 = self._image_stale
            self._image[y0:y1, x0:x1] = np.rint(self._canvas[y0:y1, x0:x1])
            self._image_stale = None
        view = self._image.view()
        view.flags.writeable = False
        return view

    def read(self, reader: object) -> tuple[np.ndarray, Box | None]:
        """`pixels()` and the box of pixels that may differ from what `reader` saw when it last read this raster:
        the whole canvas at its first read, None when nothing changed. A reader is any object kept alive
        while it follows this raster (its id tells readers apart)."""
        key = id(reader)
        changed = self._unread.get(key, (0, self.size_px, 0, self.size_px))
        self._unread[key] = None
        return self.pixels(), changed

    def stroke_coverage(self) -> np.ndarray:
        """Anti-aliased coverage (0..1) of the current or last stroke; a float32 (size, size) copy."""
        return self._coverage.copy()

    def _stamp_segment(self, p0: Point, p1: Point, radius: float) -> Box | None:
        """Max-accumulate the anti-aliased coverage of one capsule; return its bounding box."""
        reach = radius + 1.0
        x0 = max(math.floor(min(p0.x, p1.x) - reach), 0)
        x1 = min(math.ceil(max(p0.x, p1.x) + reach) + 1, self.size_px)
        y0 = max(math.floor(min(p0.y, p1.y) - reach), 0)
        y1 = min(math.ceil(max(p0.y, p1.y) + reach) + 1, self.size_px)
        if x0 >= x1 or y0 >= y1:
            return None
        px = self._px_x[:, x0:x1] - p0.x  # (1, w) and (h, 1): broadcast to the box
        py = self._px_y[y0:y1] - p0.y
        dx, dy = p1.x - p0.x, p1.y - p0.y
        length_sq = dx * dx + dy * dy
        if length_sq > 0:
            t = np.clip((px * dx + py * dy) / length_sq, 0.0, 1.0)
            px = px - t * dx
            py = py - t * dy
        distance = np.sqrt(px * px + py * py)
        coverage = np.clip(radius - distance + 0.5, 0.0, 1.0)
        np.maximum(self._coverage[y0:y1, x0:x1], coverage, out=self._coverage[y0:y1, x0:x1])
        box = (y0, y1, x0, x1)
        self._stroke_box = _union(self._stroke_box, box)
        return box

    def _composite(self, box: Box) -> None:
        y0, y1, x0, x1 = box
        alpha = self._coverage[y0:y1, x0:x1, None]
        below = self._before_stroke[y0:y1, x0:x1]
        ink = self.background[y0:y1, x0:x1] if self._ink is None else self._ink
        self._canvas[y0:y1, x0:x1] = below + (ink - below) * alpha
        self._inked = _union(self._inked, box)
        self._unsynced = _union(self._unsynced, box)
        self._mark_changed(box)

    def _mark_changed(self, box: Box) -> None:
        """The image differs in `box`: for the next sync and for every reader."""
        self._image_stale = _union(self._image_stale, box)
        for key, unread in self._unread.items():
            self._unread[key] = _union(unread, box)


def _union(a: Box | None, b: Box) -> Box:
    """The smallest box holding both (y0, y1, x0, x1) boxes."""
    if a is None:
        return b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def scaled_to_canvas(drawing: Drawing, size_px: int = CANVAS_SIZE_PX) -> Drawing:
    """The drawing in the px of the size_px square canvas (by `canvas_scale`); itself if already there.

    `classify` (through `CanvasRaster.draw`) and `replay` scale through this, so both see the same strokes."""
    if (drawing.width_px, drawing.height_px) == (size_px, size_px):
        return drawing
    sx, sy, s_pen = canvas_scale(drawing.width_px, drawing.height_px, size_px)
    strokes = tuple(
        Stroke(tuple(Point(p.x * sx, p.y * sy, p.t_ms) for p in s.points), s.color, s.width_px * s_pen, s.tool)
        for s in drawing.strokes
    )
    return replace(drawing, strokes=strokes, width_px=size_px, height_px=size_px)


def rasterise(drawing: Drawing, *, background: np.ndarray | None = None) -> np.ndarray:
    """Render a whole drawing; uint8 RGB of shape (400, 400, 3). Deterministic."""
    raster = CanvasRaster(background)
    raster.draw(drawing)
    return raster.image()


def rasterise_strokes(drawing: Drawing) -> Iterator[tuple[int, np.ndarray]]:
    """(index, image) of every pen stroke drawn alone on an empty canvas: what a stroke voice is classified
    from (the live engine renders the same pixels point by point)."""
    raster = CanvasRaster()
    for index, stroke in enumerate(drawing.strokes):
        if stroke.tool == "pen":
            raster.clear()
            raster.draw(replace(drawing, strokes=(stroke,)))
            yield index, raster.image()
