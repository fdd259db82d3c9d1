"""Seeded multi-stroke drawings as a performer draws them with a mouse, with the truth of every stroke.

    pairs = multi_stroke_drawings(seed=1, count=60)   # [(Drawing, [Labels per stroke]), ...]

Every stroke is its own voice (SPEC §2 "Voices"), so its truth comes from its own ink alone: the stroke
is rendered alone by the one rasteriser and labelled by the training data's rule
(`bridge.training.image_data.ink_shares` + `labels_from_shares`: the pitch band holding most of the
stroke's anti-aliased coverage, `volume_for_width` of its pen, `timbre_for_rgb` of its colour).

A drawing has 3-8 strokes. Each stroke has its own pitch band (the bulk of its ink, at least
`MIN_BAND_SHARE`, in that band), its own palette colour and a pen width from the slider (whole px,
1..30) in its own width class but never within ~1 px of a class boundary (no 9-11 or 19-21 px). Shapes
are dabs (1-3 points), short marks, long horizontal lines, wavy lines and diagonal-ish strokes, drawn
with a hand's speed profile and sampled as a mouse reports them (a point every 8-16 ms, whole canvas
px, repeated positions dropped, the release point appended at pen up as the canvas does). Earlier
strokes often have more ink than later ones; t_ms runs on across the drawing, with pauses between
strokes.

Pure and reproducible: drawing `i` depends only on `(seed, i)`, not on `count`. Each drawing's
`meta["strokes"]` describes its strokes (kind, band, share of its ink in that band, ink in px^2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.engine import Engine
from bridge.core.labels import BAND_HEIGHT_PX, CANVAS_SIZE_PX, HEADS, PALETTE_HEX, PITCHES, TIMBRES, VOLUMES, Labels
from bridge.core.replay import session_events
from bridge.training.image_data import ink_shares, labels_from_shares

GENERATOR_VERSION = "mouse-strokes-v1"
KINDS: tuple[str, ...] = ("dab", "short", "long", "wavy", "diagonal")
KIND_WEIGHTS: tuple[float, ...] = (0.15, 0.2, 0.25, 0.2, 0.2)
# Whole px, as the slider gives them, at least ~1 px away from the 10 / 20 px class boundaries.
WIDTHS_PX: dict[str, tuple[int, ...]] = {
    "low": tuple(range(1, 9)),
    "med": tuple(range(12, 19)),
    "high": tuple(range(22, 31)),
}
MIN_BAND_SHARE = 0.7  # "the bulk of its ink clearly in one band"
EVENT_MS = (8.0, 16.0)  # mouse event spacing
_N_BANDS = len(PITCHES)
_SORT_BY_INK = 0.7  # share of drawings whose strokes come in order of decreasing ink


def multi_stroke_drawings(seed: int, count: int) -> list[tuple[Drawing, list[Labels]]]:
    """`count` drawings of the `seed` series, each with the truth labels of its strokes (same order)."""
    return [multi_stroke_drawing(seed, index) for index in range(count)]


def multi_stroke_drawing(seed: int, index: int) -> tuple[Drawing, list[Labels]]:
    """Drawing `index` of the `seed` series; depends on nothing else."""
    rng = np.random.default_rng((seed, index))
    n = int(rng.integers(3, 9))
    bands = [int(b) for b in rng.choice(_N_BANDS, n, replace=False)]
    colours = [PALETTE_HEX[TIMBRES[int(i)]] for i in rng.choice(len(TIMBRES), n, replace=False)]
    volumes = [VOLUMES[int(i)] for i in rng.permutation(np.resize(rng.permutation(len(VOLUMES)), n))]
    made = []  # (relative points, colour, width, labels, info)
    for band, colour, volume in zip(bands, colours, volumes):
        width = float(rng.choice(WIDTHS_PX[volume]))
        kind = str(rng.choice(KINDS, p=KIND_WEIGHTS))
        made.append(_make_stroke(rng, kind, band, colour, width))
    if rng.random() < _SORT_BY_INK:
        made.sort(key=lambda m: -m[4]["ink_px2"])
    else:
        made = [made[int(i)] for i in rng.permutation(n)]
    strokes, labels, infos = [], [], []
    t_ms = float(rng.uniform(0, 400))
    for points, colour, width, truth, info in made:
        shifted = tuple(Point(p.x, p.y, p.t_ms + t_ms) for p in points)
        strokes.append(Stroke(shifted, colour, width))
        labels.append(truth)
        infos.append(info)
        t_ms = shifted[-1].t_ms + float(rng.uniform(150, 1500))  # the hand moves to the next note
    meta = {"generator": GENERATOR_VERSION, "seed": seed, "index": index, "strokes": infos}
    return Drawing(tuple(strokes), meta=meta), labels


def stroke_alone(stroke: Stroke) -> Drawing:
    """A drawing of this stroke only: what a voice is classified from."""
    return Drawing((stroke,))


def stroke_truth(stroke: Stroke) -> tuple[Labels, float, float]:
    """The stroke's labels from its own ink, the share of its ink in its pitch band and its ink in px^2."""
    report = ink_shares(stroke_alone(stroke))
    labels = Labels(**labels_from_shares(report.shares))  # type: ignore[arg-type]
    return labels, float(report.shares["pitch"].max()), report.ink_px2


# ---------------------------------------------------------------- one stroke


def _band_span(band: int) -> tuple[float, float]:
    """Top and bottom of a band in canvas px (the last band runs to the canvas edge)."""
    top = band * BAND_HEIGHT_PX
    return float(top), float(CANVAS_SIZE_PX if band == _N_BANDS - 1 else top + BAND_HEIGHT_PX)


def _make_stroke(rng: np.random.Generator, kind: str, band: int, colour: str, width: float):
    """A stroke of `kind` whose ink lies mostly in `band`; redrawn until it does (else a plain line)."""
    quantum = 1.0 if rng.random() < 0.7 else float(rng.choice([0.5, 0.8, 1.25]))  # canvas px per window px
    for attempt in range(40):
        path = _path(rng, kind if attempt < 30 else "long", band, width)
        points = _dab_points(rng, path[0], quantum) if kind == "dab" else _mouse_points(rng, path, quantum)
        stroke = Stroke(points, colour, width)
        truth, share, ink = stroke_truth(stroke)
        if share >= MIN_BAND_SHARE and truth.pitch == PITCHES[-1] - band:
            info = {"kind": kind if attempt < 30 else "long", "band": band, "band_share": round(share, 4),
                    "ink_px2": round(ink, 1), "points": len(points)}
            return points, colour, width, truth, info
    raise AssertionError(f"no {kind} stroke of width {width} fits band {band}")  # pragma: no cover


def _path(rng: np.random.Generator, kind: str, band: int, width: float) -> np.ndarray:
    """A dense polyline (n, 2) in canvas px for one gesture, placed in `band` and kept on the canvas."""
    if kind == "dab":
        xy = np.zeros((1, 2))
    elif kind == "short":
        length = rng.uniform(10, 60)
        angle = math.radians(rng.normal(0, 8))
        s = np.linspace(0, length, max(int(length), 2))
        bend = rng.normal(0, 1.5) * np.sin(np.pi * s / length)
        xy = np.stack([s * math.cos(angle), s * math.sin(angle) + bend], axis=1)
    elif kind == "long":
        length = rng.uniform(150, 390)
        x = np.linspace(0, length, int(length))
        slope = math.tan(math.radians(rng.normal(0, 1.5)))
        wavelength = rng.uniform(150, 500)
        drift = rng.uniform(0, 3) * np.sin(2 * np.pi * x / wavelength + rng.uniform(0, 2 * np.pi))
        xy = np.stack([x, slope * x + drift], axis=1)
    elif kind == "wavy":
        length = rng.uniform(80, 380)
        x = np.linspace(0, length, int(2 * length))
        room = max((BAND_HEIGHT_PX - width) / 2 + 4, 1.5)
        amplitude = rng.uniform(min(3.0, room), min(10.0, room) + 1e-9)
        wavelength = rng.uniform(max(25.0, 3 * width), max(100.0, 3 * width + 20))
        xy = np.stack([x, amplitude * np.sin(2 * np.pi * x / wavelength + rng.uniform(0, 2 * np.pi))], axis=1)
    elif kind == "diagonal":
        length = rng.uniform(40, 160)
        rise = rng.uniform(6, max(8.0, BAND_HEIGHT_PX - width + 10)) * rng.choice([-1, 1])
        s = np.linspace(0, 1, max(int(math.hypot(length, rise)), 2))
        xy = np.stack([s * length, s * rise + rng.normal(0, 1.0) * np.sin(np.pi * s)], axis=1)
    else:
        raise ValueError(f"unknown stroke kind {kind!r}")
    if kind != "dab" and rng.random() < 0.25:
        xy = xy[::-1]  # drawn right to left
    top, bottom = _band_span(band)
    extent = xy[:, 1].max() - xy[:, 1].min()
    slack = max((bottom - top - width - extent) / 2, 0.0) + 2.0
    centre_y = (top + bottom) / 2 + rng.uniform(-slack, slack)
    xy[:, 1] += centre_y - (xy[:, 1].max() + xy[:, 1].min()) / 2
    span = xy[:, 0].max() - xy[:, 0].min()
    lo, hi = width / 2 + 1, CANVAS_SIZE_PX - width / 2 - 1
    x0 = rng.uniform(lo, max(hi - span, lo))
    xy[:, 0] += x0 - xy[:, 0].min()
    # The pen stays on the canvas (a stroke cut lengthwise by the edge would look thinner than its pen).
    for axis in (0, 1):
        low, high = xy[:, axis].min(), xy[:, axis].max()
        if high - low <= hi - lo:
            xy[:, axis] += max(lo - low, 0.0) - max(high - hi, 0.0)
    return xy


def _quantise(xy: np.ndarray, quantum: float) -> np.ndarray:
    """Mouse positions: whole window px mapped to canvas px, clamped to the canvas (as `to_canvas` does)."""
    return np.clip(np.round(np.round(xy / quantum) * quantum, 2), 0.0, float(CANVAS_SIZE_PX))


def _dab_points(rng: np.random.Generator, at: np.ndarray, quantum: float) -> tuple[Point, ...]:
    """A tap: pen down, maybe a 1 px jiggle, maybe the release point (1-3 points)."""
    n = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
    xy = [at]
    if n == 3:
        xy.append(at + rng.choice([-1.0, 0.0, 1.0], 2) * quantum)
    if n >= 2:
        xy.append(xy[-1])  # the release point repeats the last position
    t = np.concatenate([[0.0], np.cumsum(rng.uniform(*EVENT_MS, n - 1)) + (rng.uniform(20, 120) if n > 1 else 0)])
    pts = _quantise(np.array(xy), quantum)
    return tuple(Point(float(x), float(y), float(ti)) for (x, y), ti in zip(pts, t))


def _mouse_points(rng: np.random.Generator, path: np.ndarray, quantum: float) -> tuple[Point, ...]:
    """Mouse events along a gesture: a hand's speed profile, an event every 8-16 ms, whole px."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    length = float(arc[-1])
    speed = math.exp(rng.uniform(math.log(120.0), math.log(900.0)))  # mean px/s of a hand on a mouse
    duration_ms = max(1000.0 * length / speed, 60.0)
    profile = str(rng.choice(["min-jerk", "ease-out", "steady"], p=[0.6, 0.25, 0.15]))
    rate = rng.uniform(*EVENT_MS)  # this device's typical spacing
    times = [0.0]
    while times[-1] < duration_ms:
        times.append(times[-1] + float(np.clip(rate + rng.normal(0, 1.5), *EVENT_MS)))
    tau = np.minimum(np.array(times) / duration_ms, 1.0)
    if profile == "min-jerk":  # starts and ends at rest
        s = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    elif profile == "ease-out":  # the hand was already moving at pen down
        s = 1 - (1 - tau) ** 2
    else:
        s = tau
    along = s * length
    xy = np.stack([np.interp(along, arc, path[:, 0]), np.interp(along, arc, path[:, 1])], axis=1)
    xy[1:-1] += rng.normal(0, 0.3, xy[1:-1].shape)  # tremor
    xy = _quantise(xy, quantum)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)  # no motion event without motion
    xy, t = xy[keep], np.array(times)[keep]
    points = [Point(float(x), float(y), float(ti)) for (x, y), ti in zip(xy, t)]
    release_t = points[-1].t_ms + float(rng.uniform(*EVENT_MS))
    points.append(Point(points[-1].x, points[-1].y, release_t))  # pen up: the release point
    return tuple(points)


def last_plays(engine: Engine, drawing: Drawing) -> dict[int, Labels]:
    """Replay `drawing` through `engine`: each voice's last /pict2audio/play labels by stroke id (1 = first)."""
    plays: dict[int, Labels] = {}
    for event in session_events(drawing):
        bundle = engine.handle(event)
        for play in bundle.find_all("play") if bundle is not None else ():
            _, pitch, volume, timbre, stroke_id = play.args
            plays[int(stroke_id)] = Labels(int(pitch), str(volume), str(timbre))
    return plays


def play_accuracy(engine_for: Callable[[], Engine], pairs: list[tuple[Drawing, list[Labels]]]) -> dict[str, float]:
    """Per head, the share of strokes whose last play carries their own truth (a fresh engine per drawing)."""
    right = dict.fromkeys(HEADS, 0)
    strokes = 0
    for drawing, truths in pairs:
        plays = last_plays(engine_for(), drawing)
        for stroke_id, truth in enumerate(truths, start=1):
            played = plays.get(stroke_id)
            strokes += 1
            for head in HEADS:
                right[head] += played is not None and getattr(played, head) == getattr(truth, head)
    return {head: right[head] / strokes for head in HEADS} | {"strokes": strokes}
