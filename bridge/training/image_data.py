"""Synthetic, hand-like drawings labelled by the SPEC §2 rules, for training the image model.

Every drawing is a real `Drawing` (strokes of timestamped points) rendered by the one rasteriser
(`bridge.core.raster.CanvasRaster`) over a randomised grid, so the model sees exactly what the canvas
shows. Labels come from ink mass (the multi-stroke rule, see `ink_shares`), not from the last point.

Reproducible: sample `i` of a split is built from `numpy.random.default_rng((seed, i))` alone, so the
result does not depend on how many worker processes share the work.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.labels import (
    BAND_HEIGHT_PX,
    CANVAS_SIZE_PX,
    CLASSES,
    GRID_STEP_PX,
    HEADS,
    PALETTE_RGB,
    PITCHES,
    TIMBRES,
    VOLUMES,
    band_for_y,
    format_hex_color,
    timbre_for_rgb,
    volume_for_width,
)
from bridge.core.preprocess import INPUT_SIZE_PX, PREPROCESSING_VERSION, preprocess
from bridge.core.raster import CanvasRaster, background_image

log = logging.getLogger(__name__)

DATA_VERSION = "hand-strokes-v5"  # bump when the generator's output changes
_PALETTE = np.array([PALETTE_RGB[t] for t in TIMBRES], dtype=np.float64)  # (8, 3)
_ROW_BAND = np.array([band_for_y(y + 0.5) for y in range(CANVAS_SIZE_PX)])  # pixel row -> pitch band


@dataclass(frozen=True)
class DataRecipe:
    """Everything that determines a generated split; recorded in the model's metadata."""

    n_train: int = 96_000
    n_val: int = 6_000
    train_seed: int = 1
    val_seed: int = 2  # a different seed: no drawing is shared with the training split
    sizes_px: tuple[int, ...] = (50, INPUT_SIZE_PX)  # input sizes made (the resolution study compares them)
    # Pen widths per class (px). The canvas slider moves in whole px, so no width strictly between 9 and 10
    # or between 20 and 21 is drawn: the learned boundaries sit half-way, at ~9.5 and ~20.5 px.
    width_ranges_px: tuple[tuple[float, float], ...] = ((1.0, 9.0), (10.0, 20.0), (21.0, 30.0))
    # Training split only: this share of pens takes a width within 1.5 px of a class boundary, where the
    # width is hardest to read. The validation split keeps the plain widths above.
    train_boundary_share: float = 0.5
    min_ink_px2: float = 3.0  # drawings with less visible ink (a 1 px tap, all erased) are redrawn
    min_visible: float = 0.4  # ... and drawings with a pen stroke less visible than this (mostly erased)
    min_colour_ratio: float = 0.75  # off-palette colours: nearest distance <= ratio * second nearest
    data_version: str = DATA_VERSION
    preprocessing_version: str = PREPROCESSING_VERSION

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def key(self, split: str) -> str:
        n, seed = (self.n_train, self.train_seed) if split == "train" else (self.n_val, self.val_seed)
        text = json.dumps({**self.as_dict(), "split": split, "n": n, "seed": seed}, sort_keys=True)
        return f"{split}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


@dataclass
class LabelledDrawing:
    """One generated example: the drawing, its canvas image and the ink share of every class per head."""

    drawing: Drawing
    image: np.ndarray  # uint8 (400, 400, 3)
    shares: dict[str, np.ndarray]  # head -> float (n_classes,), sums to 1
    info: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------- labels from ink mass


@dataclass
class InkReport:
    """A rendered drawing and where its visible ink is."""

    image: np.ndarray  # uint8 (400, 400, 3)
    shares: dict[str, np.ndarray]  # head -> share of the visible ink per class, sums to 1
    ink_px2: float  # visible ink (coverage) in px^2
    least_visible: float  # the smallest fraction of a pen stroke's own ink still visible (1 = none hidden)


def ink_shares(drawing: Drawing, *, background: np.ndarray | None = None) -> InkReport:
    """Render a drawing and share its visible ink among the classes of each head.

    The multi-stroke rule: a pixel's ink is the anti-aliased coverage of each pen stroke that is still
    visible there (not painted over by a later stroke, not erased). A stroke's visible ink counts for
    the pitch band of each pixel's row, for the stroke's width class and for its colour's timbre.
    The label of a head is the class with the largest share.
    """
    raster = CanvasRaster(background)
    coverages = []
    for stroke in drawing.strokes:
        raster.draw_stroke(stroke)
        coverages.append(raster.stroke_coverage())
    shares = {head: np.zeros(len(CLASSES[head]), dtype=np.float64) for head in HEADS}
    hidden = np.zeros((raster.size_px, raster.size_px), dtype=np.float32)  # how much later strokes cover
    least_visible = 1.0
    for stroke, coverage in zip(reversed(drawing.strokes), reversed(coverages)):
        if stroke.tool == "pen":
            rows = (coverage * (1.0 - hidden)).sum(axis=1, dtype=np.float64)
            mass = rows.sum()
            least_visible = min(least_visible, mass / max(float(coverage.sum()), 1e-9))
            # band 0 (top) is note 80, class index 11
            shares["pitch"] += np.bincount(_ROW_BAND, weights=rows, minlength=len(PITCHES))[::-1]
            shares["volume"][VOLUMES.index(volume_for_width(stroke.width_px))] += mass
            shares["timbre"][TIMBRES.index(timbre_for_rgb(stroke.rgb))] += mass
        hidden += coverage * (1.0 - hidden)
    total = shares["volume"].sum()
    if total > 0:
        shares = {head: s / total for head, s in shares.items()}
    return InkReport(raster.image(), shares, float(total), least_visible)


def labels_from_shares(shares: dict[str, np.ndarray]) -> dict[str, object]:
    return {"pitch": PITCHES[int(np.argmax(shares["pitch"]))], "volume": VOLUMES[int(np.argmax(shares["volume"]))],
            "timbre": TIMBRES[int(np.argmax(shares["timbre"]))]}


def margins(shares: dict[str, np.ndarray]) -> dict[str, float]:
    """Per head: share of the leading class minus share of the runner-up (0 = a tie)."""
    out = {}
    for head in HEADS:
        top = np.sort(shares[head])[::-1]
        out[head] = float(top[0] - top[1])
    return out


# ---------------------------------------------------------------- colours and widths


def sample_width(rng: np.random.Generator, volume: str, *, ranges_px: tuple[tuple[float, float], ...]) -> float:
    """A pen width of one volume class: a whole px (as the slider gives) or any value in the class range."""
    low, high = ranges_px[VOLUMES.index(volume)]
    if rng.random() < 0.4:
        return float(rng.integers(math.ceil(low), math.floor(high) + 1))
    return round(float(rng.uniform(low, high)), 2)


def sample_boundary_width(rng: np.random.Generator, volume: str, *,
                          ranges_px: tuple[tuple[float, float], ...]) -> float:
    """A pen width of one volume class within 1.5 px of one of its class boundaries."""
    low, high = ranges_px[VOLUMES.index(volume)]
    edges = [(low, +1.0)] if volume != VOLUMES[0] else []
    edges += [(high, -1.0)] if volume != VOLUMES[-1] else []
    edge, inward = edges[int(rng.integers(0, len(edges)))]
    if rng.random() < 0.4:
        return edge + inward * float(rng.integers(0, 2))
    return round(edge + inward * float(rng.uniform(0, 1.5)), 2)


def _absorption_direction(rgb: np.ndarray) -> np.ndarray:
    a = 1.0 - np.asarray(rgb, dtype=np.float64) / 255.0
    return a / max(np.linalg.norm(a, axis=-1, keepdims=True).min(), 1e-9)


_PALETTE_DIRECTIONS = np.stack([_absorption_direction(c) for c in _PALETTE])
_PALETTE_WEIGHTS = np.full(len(TIMBRES), 1.0)
_PALETTE_WEIGHTS[TIMBRES.index("keyboard")] = 2.0  # black is the default pen
_PALETTE_WEIGHTS /= _PALETTE_WEIGHTS.sum()


def sample_colour(rng: np.random.Generator, *, min_ratio: float) -> tuple[int, int, int]:
    """A pen colour: mostly a palette colour with jitter, else an off-palette colour.

    Off-palette colours are kept only if their timbre is decidable: the nearest palette colour is clearly
    nearer than the second (`min_ratio`), the colour is visible on white, and a thin anti-aliased stroke
    (the same colour diluted with white) points at the same timbre as the full colour.
    """
    if rng.random() < 0.6:
        base = _PALETTE[rng.choice(len(TIMBRES), p=_PALETTE_WEIGHTS)]
        rgb = np.clip(np.rint(base + rng.normal(0.0, 6.0, 3)), 0, 255)
        return tuple(int(v) for v in rgb)  # type: ignore[return-value]
    while True:
        rgb = rng.integers(0, 256, 3)
        if rgb.min() > 200:
            continue  # too faint to see on white
        dist = np.linalg.norm(_PALETTE - rgb, axis=1)
        first, second = np.sort(dist)[:2]
        if first > min_ratio * second:
            continue
        by_direction = int(np.argmax(_PALETTE_DIRECTIONS @ _absorption_direction(rgb)))
        if by_direction != int(np.argmin(dist)):
            continue
        return tuple(int(v) for v in rgb)  # type: ignore[return-value]


# ---------------------------------------------------------------- stroke paths (dense polylines, px)


def _line_path(rng: np.random.Generator, y0: float, pen_px: float, *, x0: float | None = None,
               length: float | None = None) -> np.ndarray:
    """A left-right gesture around height y0 with drift, wobble and tremor; (n, 2) dense points.

    Wobble wavelengths are >= 4 pen widths, so a thick pen does not fold over itself into a wider band.
    """
    if length is None:
        kind = rng.random()
        length = rng.uniform(300, 440) if kind < 0.45 else rng.uniform(80, 300) if kind < 0.8 else rng.uniform(12, 80)
    if x0 is None:
        x0 = rng.uniform(-15, max(CANVAS_SIZE_PX + 15 - length, -14))
    x = np.linspace(x0, x0 + length, max(int(length), 2))
    slope = math.tan(math.radians(rng.normal(0, 3) if rng.random() < 0.85 else rng.uniform(-30, 30)))
    amplitude = rng.choice([0.0, rng.uniform(0, 3), rng.uniform(2, 8), rng.uniform(6, 14)], p=[0.15, 0.4, 0.35, 0.1])
    wobble = np.zeros_like(x)
    for _ in range(rng.integers(1, 4)):
        wavelength = rng.uniform(max(30.0, 4 * pen_px), 400)
        wobble += np.sin(2 * np.pi * x / wavelength + rng.uniform(0, 2 * np.pi))
    wobble *= amplitude / max(np.abs(wobble).max(), 1e-9)
    drift = np.cumsum(rng.normal(0, 0.15, x.size))  # slow random walk
    y = y0 + slope * (x - x.mean()) + wobble + drift - drift.mean()
    path = np.stack([x, y], axis=1)
    return path[::-1] if rng.random() < 0.25 else path


def _partial_path(rng: np.random.Generator, x0: float, y0: float) -> np.ndarray:
    """A tap or the first few points of a stroke: 1-6 points along a short dash."""
    n = int(rng.integers(1, 7))
    angle = rng.normal(0, 0.4) + (np.pi if rng.random() < 0.3 else 0.0)
    along = np.concatenate([[0.0], np.cumsum(rng.uniform(0.5, 4.0, n - 1))])
    across = rng.normal(0, 0.3, n)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([x0 + along * c - across * s, y0 + along * s + across * c], axis=1)


def _scribble_path(rng: np.random.Generator, x0: float, y0: float, pen_px: float) -> np.ndarray:
    """A zigzag scribble, its passes far enough apart (a period >= 6 pen widths + 8 px) that the pen width
    stays visible instead of filling a band."""
    period = 6 * pen_px + 8
    height = rng.uniform(2 * pen_px + 4, max(2 * pen_px + 5, 40))
    width = rng.uniform(period, max(period + 1, 200))
    turns = rng.uniform(1, max(width / period, 1.01))
    s = np.linspace(0, 1, max(int(width * 2), 10))
    x = x0 + width * s + rng.uniform(0, 8) * np.sin(2 * np.pi * turns * s * 0.5)
    y = y0 + height / 2 * np.sin(2 * np.pi * turns * s + rng.uniform(0, 2 * np.pi))
    return np.stack([x, y], axis=1)


def _curve_path(rng: np.random.Generator, x0: float, y0: float, pen_px: float) -> np.ndarray:
    """An arc or circle (radius >= 1.5 pen widths: not a filled disc), or a vertical-ish tick crossing bands."""
    if rng.random() < 0.5:
        radius = rng.uniform(1.5 * pen_px + 3, max(1.5 * pen_px + 4, 120))
        start = rng.uniform(0, 2 * np.pi)
        sweep = rng.uniform(0.5, 2 * np.pi) * rng.choice([-1, 1])
        angles = start + sweep * np.linspace(0, 1, max(int(abs(sweep) * radius), 4))
        ry = radius * rng.uniform(min(1.0, 1.5 * pen_px / radius + 0.05), 1.0)
        return np.stack([x0 + radius * np.cos(angles), y0 + ry * np.sin(angles)], axis=1)
    length = rng.uniform(8, 140)
    angle = math.radians(rng.uniform(35, 145))
    s = np.linspace(-0.5, 0.5, max(int(length), 2))[:, None]
    return np.array([x0, y0]) + s * length * np.array([math.cos(angle), math.sin(angle)])


def _mark_path(rng: np.random.Generator, x0: float, y0: float, pen_px: float) -> np.ndarray:
    """A small extra mark: a few points, a short dash or a small curve."""
    choice = rng.random()
    if choice < 0.4:
        return _partial_path(rng, x0, y0)
    if choice < 0.7:
        return _line_path(rng, y0, pen_px, x0=x0, length=rng.uniform(8, 60))
    return _curve_path(rng, x0, y0, pen_px)


def _sample_points(rng: np.random.Generator, path: np.ndarray, t0_ms: float) -> tuple[tuple[Point, ...], float]:
    """Pointer events along a dense path: varying spacing (speed) and rate, whole px or a little jitter.

    The jitter stays small: dense points that zigzag widen the drawn stroke (by 0.6 px for a 0.6 px
    jitter at 1.5 px spacing), which would blur the 9 / 10 px and 20 / 21 px volume boundaries beyond
    what a real pointer does (whole px on a sloped line widen it by at most ~0.35 px)."""
    if len(path) == 1 or np.allclose(path, path[0]):
        pts = path if len(path) <= 6 else path[:1]
        t = t0_ms + np.cumsum(rng.uniform(4, 17, len(pts)))
        return tuple(Point(float(x), float(y), float(ti)) for (x, y), ti in zip(pts, t)), float(t[-1])
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    base = math.exp(rng.uniform(math.log(1.5), math.log(25.0)))  # px between events
    positions = [0.0]
    phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.002, 0.03)
    while positions[-1] < arc[-1]:
        step = base * math.exp(0.5 * math.sin(phase + freq * positions[-1]) + rng.normal(0, 0.2))
        positions.append(min(positions[-1] + max(step, 0.3), arc[-1]))
    positions_arr = np.array(positions)
    xy = np.stack([np.interp(positions_arr, arc, path[:, 0]), np.interp(positions_arr, arc, path[:, 1])], axis=1)
    if rng.random() < 0.6:  # a mouse: whole canvas px, as pygame reports them
        xy = np.round(xy)
    else:  # a tablet: sub-pixel positions with a little sensor jitter
        xy += rng.normal(0, rng.uniform(0.0, 0.3), xy.shape)
    t = t0_ms + np.cumsum(rng.uniform(4, 17, len(xy)))
    return tuple(Point(float(x), float(y), float(ti)) for (x, y), ti in zip(xy, t)), float(t[-1])


# ---------------------------------------------------------------- whole drawings


def _note_y(rng: np.random.Generator) -> float:
    """Where a composer puts a note: anywhere, or near a band centre."""
    if rng.random() < 0.35:
        return (int(rng.integers(0, len(PITCHES))) + 0.5) * BAND_HEIGHT_PX + rng.normal(0, 5)
    return rng.uniform(-4, CANVAS_SIZE_PX + 4)


def _pen(rng: np.random.Generator, recipe: DataRecipe, boundary_share: float) -> tuple[str, float]:
    colour = format_hex_color(sample_colour(rng, min_ratio=recipe.min_colour_ratio))
    volume = VOLUMES[int(rng.integers(0, 3))]
    # No draw at share 0: the validation split's random stream, and so its drawings, do not depend on the share.
    if boundary_share > 0 and rng.random() < boundary_share:
        return colour, sample_boundary_width(rng, volume, ranges_px=recipe.width_ranges_px)
    return colour, sample_width(rng, volume, ranges_px=recipe.width_ranges_px)


def _inside(path: np.ndarray, pen_px: float) -> np.ndarray:
    """Shift a path so the pen stays on the canvas where it fits: a stroke cut lengthwise by the edge
    would look thinner than its pen. Paths longer than the canvas keep their ends outside."""
    lo, hi = pen_px / 2, CANVAS_SIZE_PX - pen_px / 2
    shifted = path.copy()
    for axis in (0, 1):
        low, high = path[:, axis].min(), path[:, axis].max()
        if high - low <= hi - lo:
            shifted[:, axis] += max(lo - low, 0.0) - max(high - hi, 0.0)
    return shifted


def _eraser_path(rng: np.random.Generator, stroke: Stroke) -> np.ndarray:
    """A rub across a stroke (roughly perpendicular to it), so what is left keeps the stroke's width."""
    points = stroke.points
    i = int(rng.integers(0, len(points)))
    p, q = points[max(i - 1, 0)], points[min(i + 1, len(points) - 1)]
    along = math.atan2(q.y - p.y, q.x - p.x) if (p.x, p.y) != (q.x, q.y) else rng.uniform(0, np.pi)
    angle = along + np.pi / 2 + rng.uniform(-0.5, 0.5)
    length = stroke.width_px + rng.uniform(4, 40)
    d = np.array([math.cos(angle), math.sin(angle)]) * length / 2
    centre = np.array([points[i].x, points[i].y])
    return np.linspace(centre - d, centre + d, max(int(length), 2))


def make_drawing(rng: np.random.Generator, recipe: DataRecipe, *, boundary_share: float = 0.0) -> tuple[Drawing, str]:
    """A random hand-like drawing and the name of its composition."""
    paths: list[tuple[np.ndarray, str, float]] = []  # (path, colour, width)
    colour, width = _pen(rng, recipe, boundary_share)
    y0, x0 = _note_y(rng), rng.uniform(0, CANVAS_SIZE_PX)
    kind = rng.choice(["line", "partial", "scribble", "curve", "pieces", "marks", "several"],
                      p=[0.36, 0.1, 0.08, 0.08, 0.14, 0.14, 0.1])
    if kind == "line":
        paths.append((_line_path(rng, y0, width), colour, width))
    elif kind == "partial":
        paths.append((_partial_path(rng, x0, y0), colour, width))
    elif kind == "scribble":
        paths.append((_scribble_path(rng, rng.uniform(-10, 300), y0, width), colour, width))
    elif kind == "curve":
        paths.append((_curve_path(rng, x0, y0, width), colour, width))
    elif kind == "pieces":  # one note drawn in 2-4 pieces with the same pen
        n = int(rng.integers(2, 5))
        edges = np.sort(rng.uniform(-10, 410, n + 1))
        for a, b in itertools.pairwise(edges):
            if b - a > 2:
                length = b - a - rng.uniform(0, 6)
                paths.append((_line_path(rng, y0 + rng.normal(0, 2), width, x0=a, length=length), colour, width))
    else:  # "marks": a note and a few small marks; "several": independent notes
        paths.append((_line_path(rng, y0, width), colour, width))
        for _ in range(int(rng.integers(1, 4 if kind == "marks" else 3))):
            other_colour, other_width = _pen(rng, recipe, boundary_share) if rng.random() < 0.6 else (colour, width)
            xm, ym = rng.uniform(0, CANVAS_SIZE_PX), _note_y(rng)
            path = _line_path(rng, ym, other_width) if kind == "several" else _mark_path(rng, xm, ym, other_width)
            paths.append((path, other_colour, other_width))
    strokes: list[Stroke] = []
    t_ms = rng.uniform(0, 500)
    for path, c, w in paths:
        points, t_ms = _sample_points(rng, _inside(path, w), t_ms)
        strokes.append(Stroke(points, c, w))
        t_ms += rng.uniform(80, 1500)
    if rng.random() < 0.15:  # eraser marks across some of the ink
        pens = list(strokes)
        for _ in range(int(rng.integers(1, 3))):
            stroke = pens[int(rng.integers(0, len(pens)))]
            path = _eraser_path(rng, stroke)
            points, t_ms = _sample_points(rng, path, t_ms)
            strokes.append(Stroke(points, "#FFFFFF", float(rng.uniform(4, 1.5 * stroke.width_px + 4)), "eraser"))
            t_ms += rng.uniform(80, 1500)
    return Drawing(tuple(strokes)), str(kind)


# ---------------------------------------------------------------- canvas backgrounds and image augmentation


def make_background(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """A canvas background: our grid, a composer-like darker drifting grid, a random grid, or none."""
    style = str(rng.choice(["ours", "composer", "random", "none"], p=[0.3, 0.35, 0.2, 0.15]))
    page = 255.0 if rng.random() < 0.9 else rng.uniform(228, 255)
    image = np.full((CANVAS_SIZE_PX, CANVAS_SIZE_PX, 3), page, dtype=np.float32)
    if rng.random() < 0.05:
        image += rng.uniform(-6, 0, 3).astype(np.float32)  # a slightly tinted page
    if style == "ours":
        image[:] = background_image() * (page / 255.0)
    elif style != "none":
        widths: tuple[int, ...]
        if style == "composer":
            shade, widths, first = rng.uniform(140, 185), (2, 3), int(rng.integers(0, 2))
        else:
            shade, widths, first = rng.uniform(110, 235), (1, 2, 3), int(rng.integers(0, 2))
        vertical = style == "composer" or rng.random() < 0.8
        for axis in (0, 1) if vertical else (0,):
            drift, width = rng.uniform(0, 0.12), int(rng.choice(widths))
            offset = rng.uniform(-1.5, 1.0) if style == "random" else rng.uniform(-0.5, 0.8)
            for m in range(first, CANVAS_SIZE_PX // GRID_STEP_PX + 1):
                start = round(m * GRID_STEP_PX + offset + m * drift)
                lines = slice(max(start, 0), max(start + width, 0))
                if axis == 0:
                    image[lines, :] = shade
                else:
                    image[:, lines] = shade
    return image, style


def augment_image(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, str]:
    """Sometimes re-encode the canvas as a JPEG or pass it through another image size."""
    from PIL import Image

    from bridge.adapters.image_files import to_canvas

    choice = rng.random()
    if choice < 0.12:
        import io

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(rng.integers(60, 96)))
        buffer.seek(0)
        return to_canvas(Image.open(buffer)), "jpeg"
    if choice < 0.22:
        size = (int(rng.integers(160, 900)), int(rng.integers(160, 900)))
        return to_canvas(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)), "rescaled"
    return image, "none"


# ---------------------------------------------------------------- samples and datasets


def generate_sample(seed: int, index: int, recipe: DataRecipe) -> LabelledDrawing:
    """Sample `index` of the split with `seed`; depends on nothing else.

    Pens lean to boundary widths only under the training seed, so validation keeps the plain widths.
    """
    rng = np.random.default_rng((seed, index))
    boundary_share = recipe.train_boundary_share if seed == recipe.train_seed else 0.0
    while True:
        drawing, kind = make_drawing(rng, recipe, boundary_share=boundary_share)
        background, grid = make_background(rng)
        report = ink_shares(drawing, background=background)
        # Redraw when there is next to no ink, or when a stroke is mostly erased or painted over:
        # what is left of it (slivers) no longer shows its pen width.
        if report.ink_px2 >= recipe.min_ink_px2 and report.least_visible >= recipe.min_visible:
            break
    image, shares = report.image, report.shares
    image, augmentation = augment_image(rng, image)
    info = {"kind": kind, "grid": grid, "augmentation": augmentation, "strokes": len(drawing.strokes)}
    return LabelledDrawing(drawing, image, shares, info)


def _generate_chunk(args: tuple[int, int, int, DataRecipe]) -> dict[str, np.ndarray]:
    seed, start, stop, recipe = args
    out: dict[str, list] = {f"x{s}": [] for s in recipe.sizes_px}
    out.update({h: [] for h in HEADS} | {"kind": [], "grid": [], "augmentation": []})
    for index in range(start, stop):
        sample = generate_sample(seed, index, recipe)
        for size in recipe.sizes_px:
            out[f"x{size}"].append(np.rint(preprocess(sample.image, size_px=size) * 255).astype(np.uint8))
        for head in HEADS:
            out[head].append(sample.shares[head].astype(np.float32))
        for key in ("kind", "grid", "augmentation"):
            out[key].append(sample.info[key])
    return {k: np.stack(v) if k.startswith("x") or k in HEADS else np.array(v) for k, v in out.items()}


def generate_split(recipe: DataRecipe, split: str, *, workers: int = 1, chunk_dir: Path | None = None,
                   chunk: int = 500) -> dict[str, np.ndarray]:
    """All samples of one split: inputs `x{size}` as uint8 (absorption * 255), ink shares per head.

    Shapes: x{size} (n, size, size, 3) uint8; pitch (n, 12), volume (n, 3), timbre (n, 8) float32.
    With `chunk_dir`, finished chunks are kept there, so an interrupted run resumes where it stopped.
    """
    n, seed = (recipe.n_train, recipe.train_seed) if split == "train" else (recipe.n_val, recipe.val_seed)
    jobs = [(seed, i, min(i + chunk, n), recipe, chunk_dir) for i in range(0, n, chunk)]
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = []
            for k, part in enumerate(pool.imap(_cached_chunk, jobs)):
                parts.append(part)
                log.info("%s: %d/%d drawings", split, min((k + 1) * chunk, n), n)
    else:
        parts = [_cached_chunk(job) for job in jobs]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _cached_chunk(args: tuple[int, int, int, DataRecipe, Path | None]) -> dict[str, np.ndarray]:
    try:
        return _cached_chunk_or_raise(args)
    except Exception as exc:  # re-raised as a plain error: a pool cannot send every exception type back
        raise RuntimeError(f"generating drawings {args[1]}..{args[2]} of seed {args[0]} failed: {exc!r}") from None


def _cached_chunk_or_raise(args: tuple[int, int, int, DataRecipe, Path | None]) -> dict[str, np.ndarray]:
    seed, start, stop, recipe, chunk_dir = args
    if chunk_dir is None:
        return _generate_chunk((seed, start, stop, recipe))
    path = chunk_dir / f"{start:07d}-{stop:07d}.npz"
    if path.exists():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    part = _generate_chunk((seed, start, stop, recipe))
    write_atomically(path, lambda handle: np.savez(handle, allow_pickle=False, **part))
    return part


def load_split(recipe: DataRecipe, split: str, *, cache_dir: Path, workers: int = 1) -> dict[str, np.ndarray]:
    """A split from the cache (`cache_dir/<split>-<recipe hash>.npz`), generated on first use."""
    path = Path(cache_dir) / f"{recipe.key(split)}.npz"
    if path.exists():
        log.info("using cached %s split %s", split, path)
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    chunk_dir = path.with_suffix(".parts")
    chunk_dir.mkdir(parents=True, exist_ok=True)
    log.info("generating %s split (%s) with %d worker(s) ...", split, path.name, workers)
    data = generate_split(recipe, split, workers=workers, chunk_dir=chunk_dir)
    write_atomically(path, lambda handle: np.savez(handle, allow_pickle=False, **data))
    for part in chunk_dir.glob("*.npz"):
        part.unlink()
    chunk_dir.rmdir()
    return data
