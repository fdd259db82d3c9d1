"""Seeded drawings of shapes (circle, zigzag, wave, ...) as a person draws them with a mouse, for taught shapes.

    drawing = shape_drawing("spiral", seed=3, index=0)            # one Drawing, its strokes in drawing order
    drawing = shape_drawing("cross", seed=3, index=0, style=STYLE_B)

A shape is made in unit coordinates from its own parameters (how many zigzag segments, spiral turns, where a
closed shape starts and which way it runs, in which order and direction a multi-stroke shape's strokes are
drawn), then bent as a hand bends it: corners moved, the whole path wobbling slowly, stretched on one axis,
rotated by up to ±20°, scaled to 40-150 px (its larger side) and placed anywhere on the 400 px canvas. Each
stroke is then sampled as a mouse reports it (a hand's speed profile, slowed where the line bends as far as the
hand's acceleration requires, a point every 8-16 ms, whole canvas px, repeated positions dropped, the release
point appended at pen up as the canvas does), in a random palette colour and pen width, with a pause between
strokes.

Three styles stand for three hands: `STYLE_A` draws carefully and consistently (zigzags of 4-5 segments going
up first, spirals one way round, triangles in one stroke); `STYLE_C` is another consistent hand with other
habits (zigzags of 3-4 segments going down first, spirals the other way, triangles in three strokes);
`STYLE_B` is a loose hand whose habits change from drawing to drawing (either way up, either way round, one
or three strokes, more wobble, faster). Teaching with one hand and testing with another checks that the
recogniser does not fit one generator. `STYLE_D` has habits none of the others has (zigzags of 6-7 teeth,
waves of 2.5-3 periods, loose spirals of 1.4-1.9 turns either way, triangles in two strokes, crosses at
60-120 degrees, more stretch, the shakiest and fastest hand); it is used only to test, never to tune.

`UNRELATED` are marks that are none of the taught shapes (lines, dabs, scribbles, other figures): what a
language must reject. Pure and reproducible: a drawing depends only on (kind, seed, index, style).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.labels import CANVAS_SIZE_PX, PALETTE_HEX

SHAPES: tuple[str, ...] = ("circle", "zigzag", "wave", "spiral", "triangle", "cross")
UNRELATED: tuple[str, ...] = ("line", "wavy", "dab", "scribble", "square", "star", "heart", "check", "arrow", "plus")
EVENT_MS = (8.0, 16.0)  # mouse event spacing
CURVATURE_WINDOW_PX = 2.0  # a bend is measured over this much line either side (a drawn corner's radius)


@dataclass(frozen=True)
class Style:
    """How one hand draws: ranges the shapes' parameters and distortions are drawn from."""

    name: str
    zigzag_segments: tuple[int, ...]
    wave_periods: tuple[float, float]
    wave_steepness: tuple[float, float]  # amplitude / wavelength
    spiral_turns: tuple[float, float]
    spiral_ways: tuple[float, ...]  # 1: clockwise on screen, -1: anticlockwise (a hand's habit, or both)
    triangle_strokes: tuple[int, ...]
    cross_angle_deg: tuple[float, float]  # angle between the two bars
    aspect: tuple[float, float]  # width / height stretch of the whole shape
    closure_deg: tuple[float, float]  # how far a circle's end runs past (+) or short of (-) its start
    corner_jitter: float  # corners moved by up to this share of the shape's size
    wobble: float  # slow wobble of the path, as a share of its size
    tremor_px: float
    speed_px_s: tuple[float, float]
    first_ups: tuple[bool, ...]  # a zigzag or wave goes up first (True), down first (False): a habit, or both
    reversed_share: float  # how often a zigzag or wave is drawn right to left
    acceleration_px_s2: float  # how fast the hand can turn: speed at most sqrt(this / curvature)


STYLE_A = Style("A", zigzag_segments=(4, 5), wave_periods=(1.5, 2.0), wave_steepness=(0.12, 0.22),
                spiral_turns=(2.0, 2.6), spiral_ways=(1.0,), triangle_strokes=(1,), cross_angle_deg=(80.0, 100.0),
                aspect=(0.85, 1.15), closure_deg=(-10.0, 15.0), corner_jitter=0.03, wobble=0.008,
                tremor_px=0.3, speed_px_s=(150.0, 600.0), first_ups=(True,),
                reversed_share=0.0, acceleration_px_s2=8000.0)
STYLE_B = Style("B", zigzag_segments=(5, 6), wave_periods=(1.0, 1.6), wave_steepness=(0.1, 0.25),
                spiral_turns=(1.6, 2.4), spiral_ways=(-1.0, 1.0), triangle_strokes=(1, 3),
                cross_angle_deg=(65.0, 115.0), aspect=(0.75, 1.3), closure_deg=(-25.0, 35.0), corner_jitter=0.05,
                wobble=0.015, tremor_px=0.6, speed_px_s=(100.0, 1200.0),
                first_ups=(True, False), reversed_share=0.3, acceleration_px_s2=15000.0)
STYLE_C = Style("C", zigzag_segments=(3, 4), wave_periods=(2.0, 2.5), wave_steepness=(0.12, 0.25),
                spiral_turns=(2.5, 3.2), spiral_ways=(-1.0,), triangle_strokes=(3,), cross_angle_deg=(75.0, 105.0),
                aspect=(0.8, 1.25), closure_deg=(-15.0, 25.0), corner_jitter=0.04, wobble=0.012,
                tremor_px=0.45, speed_px_s=(120.0, 900.0), first_ups=(False,),
                reversed_share=0.3, acceleration_px_s2=10000.0)
STYLE_D = Style("D", zigzag_segments=(6, 7), wave_periods=(2.5, 3.0), wave_steepness=(0.15, 0.25),
                spiral_turns=(1.4, 1.9), spiral_ways=(-1.0, 1.0), triangle_strokes=(2,), cross_angle_deg=(60.0, 120.0),
                aspect=(0.7, 1.4), closure_deg=(-30.0, 5.0), corner_jitter=0.035, wobble=0.01,
                tremor_px=0.8, speed_px_s=(200.0, 1500.0), first_ups=(True, False),
                reversed_share=0.5, acceleration_px_s2=20000.0)
STYLES = {"A": STYLE_A, "B": STYLE_B, "C": STYLE_C, "D": STYLE_D}


def shape_drawing(kind: str, *, seed: int, index: int, style: Style = STYLE_A) -> Drawing:
    """Drawing `index` of `kind` in the `seed` series, drawn in `style`; depends on nothing else."""
    key = (SHAPES + UNRELATED).index(kind)
    rng = np.random.default_rng((seed, key, index, ord(style.name)))
    if kind == "dab":
        return _drawing(rng, [_dab(rng)], style, raw=True)
    strokes = _SHAPE_MAKERS[kind](rng, style)
    if kind in ("line", "wavy", "scribble"):  # marks of ordinary playing, not 40-150 px figures
        return _drawing(rng, strokes, style, raw=True)
    return _drawing(rng, _bend(rng, strokes, style), style)


def shape_drawings(kind: str, *, seed: int, count: int, style: Style = STYLE_A) -> list[Drawing]:
    return [shape_drawing(kind, seed=seed, index=i, style=style) for i in range(count)]


# ---------------------------------------------------------------- the shapes, in unit coordinates (y down)


def _polyline(vertices: np.ndarray, per_unit: int = 200) -> np.ndarray:
    """A dense path through `vertices` (k, 2)."""
    parts = []
    for a, b in itertools.pairwise(vertices):
        n = max(int(np.linalg.norm(b - a) * per_unit), 2)
        parts.append(a + np.linspace(0.0, 1.0, n, endpoint=False)[:, None] * (b - a))
    parts.append(vertices[-1:])
    return np.concatenate(parts)


def _maybe_reversed(rng: np.random.Generator, path: np.ndarray, chance: float = 0.5) -> np.ndarray:
    return path[::-1].copy() if rng.random() < chance else path


def _circle(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    start = rng.uniform(0, 2 * math.pi)
    sweep = 2 * math.pi + math.radians(rng.uniform(*style.closure_deg))
    way = rng.choice([-1.0, 1.0])
    a = start + way * np.linspace(0.0, sweep, 400)
    return [np.stack([0.5 * np.cos(a), 0.5 * np.sin(a)], axis=1)]


def _zigzag(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    segments = int(rng.choice(style.zigzag_segments))
    height = rng.uniform(0.35, 0.6)
    x = np.linspace(-0.5, 0.5, segments + 1)
    y = np.where(np.arange(segments + 1) % 2 == 0, height / 2, -height / 2)
    if not rng.choice(style.first_ups):  # y grows downwards: as made, the first corner is above the start
        y = -y
    path = _polyline(np.stack([x, y], axis=1))
    return [_maybe_reversed(rng, path, style.reversed_share)]


def _wave(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    periods = rng.uniform(*style.wave_periods)
    amplitude = rng.uniform(*style.wave_steepness) / periods  # a wave, not a row of spikes
    x = np.linspace(-0.5, 0.5, 400)
    sign = 1.0 if bool(rng.choice(style.first_ups)) else -1.0
    path = np.stack([x, -sign * amplitude * np.sin(2 * math.pi * periods * (x + 0.5))], axis=1)
    return [_maybe_reversed(rng, path, style.reversed_share)]


def _spiral(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    turns = rng.uniform(*style.spiral_turns)
    way = float(rng.choice(style.spiral_ways))
    s = np.linspace(0.0, 1.0, 600)
    radius = 0.04 + 0.46 * s
    angle = rng.uniform(0, 2 * math.pi) + way * 2 * math.pi * turns * s
    path = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return [_maybe_reversed(rng, path, 0.3)]  # mostly from the centre out


def _triangle(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    corners = np.array([[0.0, -0.5], [0.5, 0.4], [-0.5, 0.4]])
    strokes = int(rng.choice(style.triangle_strokes))
    if strokes == 3:
        edges = [_maybe_reversed(rng, _polyline(corners[[i, (i + 1) % 3]])) for i in range(3)]
        return [edges[int(i)] for i in rng.permutation(3)]
    if strokes == 2:  # two sides in one stroke, then the third
        start = int(rng.integers(3))
        order = [(start + i) % 3 for i in range(4)]
        return [_maybe_reversed(rng, _polyline(corners[part])) for part in (order[:3], order[2:])]
    start = int(rng.integers(3))
    order = [(start + i) % 3 for i in range(4)]
    if rng.random() < 0.5:
        order = order[::-1]
    return [_polyline(corners[order])]


def _cross(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    half = math.radians(rng.uniform(*style.cross_angle_deg)) / 2
    bars = []
    for angle in (math.pi / 2 - half, math.pi / 2 + half):
        d = 0.5 * np.array([math.sin(angle), math.cos(angle)])
        bars.append(_maybe_reversed(rng, _polyline(np.stack([-d, d]))))
    return [bars[int(i)] for i in rng.permutation(2)]


def _plus(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    bars = [_maybe_reversed(rng, _polyline(np.array(ends))) for ends in
            ([[-0.5, 0.0], [0.5, 0.0]], [[0.0, -0.5], [0.0, 0.5]])]
    return [bars[int(i)] for i in rng.permutation(2)]


def _square(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    start = int(rng.integers(4))
    order = [(start + i) % 4 for i in range(5)]
    return [_maybe_reversed(rng, _polyline(corners[order]))]


def _star(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    angles = -math.pi / 2 + np.arange(6) * 4 * math.pi / 5
    return [_maybe_reversed(rng, _polyline(0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)))]


def _heart(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    t = np.linspace(0, 2 * math.pi, 400)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return [_maybe_reversed(rng, np.stack([x, y], axis=1) / 34.0)]


def _check(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    return [_polyline(np.array([[-0.5, 0.0], [-0.15, 0.4], [0.5, -0.5]]))]


def _arrow(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    shaft = _polyline(np.array([[-0.5, 0.0], [0.5, 0.0]]))
    head = _polyline(np.array([[0.2, -0.3], [0.5, 0.0], [0.2, 0.3]]))
    return [shaft, head]


def _line(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    """A note as the instrument is usually played: a roughly horizontal line, 30-380 px, anywhere."""
    length = rng.uniform(30, 380)
    x0 = rng.uniform(5, CANVAS_SIZE_PX - 5 - length)
    y0 = rng.uniform(10, CANVAS_SIZE_PX - 10)
    x = np.linspace(0, length, max(int(length), 2))
    slope = math.tan(math.radians(rng.normal(0, 4)))
    drift = rng.uniform(0, 4) * np.sin(2 * math.pi * x / rng.uniform(150, 500) + rng.uniform(0, 2 * math.pi))
    path = np.stack([x0 + x, y0 + slope * x + drift], axis=1)
    path[:, 1] = np.clip(path[:, 1], 1, CANVAS_SIZE_PX - 1)
    return [_maybe_reversed(rng, path, 0.25)]


def _wavy(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    """A wavy note (tests/stroke_drawings.py's "wavy" kind): 80-380 px long, 3-10 px up and down."""
    length = rng.uniform(80, 380)
    x = np.linspace(0, length, int(2 * length))
    wavelength = rng.uniform(25, 100)
    y = rng.uniform(3, 10) * np.sin(2 * math.pi * x / wavelength + rng.uniform(0, 2 * math.pi))
    origin = rng.uniform([5, 15], [CANVAS_SIZE_PX - 5 - length, CANVAS_SIZE_PX - 15])
    return [_maybe_reversed(rng, np.stack([x, y], axis=1) + origin, 0.25)]


def _scribble(rng: np.random.Generator, style: Style) -> list[np.ndarray]:
    """A random scrawl: a smoothed random walk over 40-150 px."""
    steps = rng.normal(0, 1, (int(rng.integers(8, 25)), 2))
    vertices = np.cumsum(steps, axis=0)
    span = max(np.ptp(vertices, axis=0).max(), 1e-6)
    size = rng.uniform(40, 150)
    vertices = (vertices - vertices.min(axis=0)) / span * size
    vertices += rng.uniform(10, CANVAS_SIZE_PX - 10 - size, 2)
    return [_polyline(vertices, per_unit=2)]


def _dab(rng: np.random.Generator) -> np.ndarray:
    at = rng.uniform(10, CANVAS_SIZE_PX - 10, 2)
    return np.array([at, at + rng.choice([-1.0, 0.0, 1.0], 2)])


_SHAPE_MAKERS = {"circle": _circle, "zigzag": _zigzag, "wave": _wave, "spiral": _spiral, "triangle": _triangle,
                 "cross": _cross, "plus": _plus, "square": _square, "star": _star, "heart": _heart, "check": _check,
                 "arrow": _arrow, "line": _line, "wavy": _wavy, "scribble": _scribble}


# ---------------------------------------------------------------- a hand's distortions


def _bend(rng: np.random.Generator, strokes: list[np.ndarray], style: Style) -> list[np.ndarray]:
    """Corners moved, a slow wobble, stretched, rotated ±20°, scaled to 40-150 px and placed on the canvas."""
    bent = [_wobbled(rng, s, style) for s in strokes]
    stretch = rng.uniform(*style.aspect)
    angle = math.radians(rng.uniform(-20.0, 20.0))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    bent = [(s * [stretch, 1.0 / stretch]) @ rotation.T for s in bent]
    every = np.concatenate(bent)
    low, high = every.min(axis=0), every.max(axis=0)
    size = rng.uniform(40.0, 150.0)
    scale = size / max((high - low).max(), 1e-9)
    extent = (high - low) * scale
    margin = 4.0
    origin = np.array([rng.uniform(margin, CANVAS_SIZE_PX - margin - extent[i]) for i in (0, 1)])
    return [(s - low) * scale + origin for s in bent]


def _wobbled(rng: np.random.Generator, path: np.ndarray, style: Style) -> np.ndarray:
    """The path with its corners (and everything) moved by a smooth random displacement."""
    s = np.linspace(0.0, 1.0, len(path))
    out = path.copy()
    for axis in (0, 1):
        for _ in range(2):  # a slow, smooth drift: corners and curves a little off where they should be
            frequency = rng.uniform(0.3, 1.2)
            out[:, axis] += style.corner_jitter * rng.normal() * np.sin(2 * math.pi * frequency * s
                                                                        + rng.uniform(0, 6.3))
        for _ in range(3):  # faster wobble
            frequency = rng.uniform(1.0, 6.0)
            out[:, axis] += style.wobble * rng.normal() * np.sin(2 * math.pi * frequency * s + rng.uniform(0, 6.3))
    return out


# ---------------------------------------------------------------- as a mouse reports it


def _drawing(rng: np.random.Generator, paths: list[np.ndarray], style: Style, *, raw: bool = False) -> Drawing:
    colour = str(rng.choice(list(PALETTE_HEX.values())))
    width = float(rng.integers(1, 31))
    quantum = 1.0 if rng.random() < 0.7 else float(rng.choice([0.5, 0.8, 1.25]))
    strokes = []
    t_ms = float(rng.uniform(0, 300))
    for path in paths:
        points = _dab_points(rng, path, t_ms, quantum) if len(path) == 2 and raw and np.ptp(path) < 2 else \
            _mouse_points(rng, path, t_ms, quantum, style)
        strokes.append(Stroke(points, colour, width))
        t_ms = points[-1].t_ms + float(rng.uniform(120, 600))  # the hand moves to the next stroke
    return Drawing(tuple(strokes), meta={"generator": f"shape-drawings-{style.name}"})


def _quantise(xy: np.ndarray, quantum: float) -> np.ndarray:
    return np.clip(np.round(np.round(xy / quantum) * quantum, 2), 0.0, float(CANVAS_SIZE_PX))


def _dab_points(rng: np.random.Generator, path: np.ndarray, t0: float, quantum: float) -> tuple[Point, ...]:
    xy = _quantise(path, quantum)
    t = t0 + np.array([0.0, rng.uniform(20, 120)])
    return tuple(Point(float(x), float(y), float(ti)) for (x, y), ti in zip(xy, t))


def _mouse_points(rng: np.random.Generator, path: np.ndarray, t0: float, quantum: float,
                  style: Style) -> tuple[Point, ...]:
    """Mouse events along one stroke: a hand's speed profile, slowed where the line bends, an event every 8-16 ms,
    whole px."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    speed = math.exp(rng.uniform(*np.log(style.speed_px_s)))
    profile = str(rng.choice(["min-jerk", "ease-out", "steady"], p=[0.6, 0.25, 0.15]))
    arc_time = _arc_times(path, arc, speed, profile, style.acceleration_px_s2)
    duration_ms = max(1000.0 * float(arc_time[-1]), 60.0)
    rate = rng.uniform(*EVENT_MS)
    times = [0.0]
    while times[-1] < duration_ms:
        times.append(times[-1] + float(np.clip(rate + rng.normal(0, 1.5), *EVENT_MS)))
    along = np.interp(np.array(times) / duration_ms * arc_time[-1], arc_time, arc)
    xy = np.stack([np.interp(along, arc, path[:, 0]), np.interp(along, arc, path[:, 1])], axis=1)
    t_s = np.array(times) / 1000.0
    for axis in (0, 1):  # tremor: a hand's 6-12 Hz shake, damped by the mouse
        xy[1:-1, axis] += style.tremor_px * np.sin(2 * math.pi * rng.uniform(6, 12) * t_s[1:-1] + rng.uniform(0, 6.3))
    xy = _quantise(xy, quantum)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)
    xy, t = xy[keep], np.array(times)[keep] + t0
    points = [Point(float(x), float(y), float(ti)) for (x, y), ti in zip(xy, t)]
    points.append(Point(points[-1].x, points[-1].y, points[-1].t_ms + float(rng.uniform(*EVENT_MS))))
    return tuple(points)


def _arc_times(path: np.ndarray, arc: np.ndarray, speed: float, profile: str, acceleration: float) -> np.ndarray:
    """Seconds from the stroke's start to each point of `path`.

    The hand follows the stroke's speed profile (`speed` its mean where nothing slows it) but can only turn so
    fast: where the line bends with curvature k (1/px), its speed is at most sqrt(acceleration / k), so it slows
    into a corner and round a tight crest as a hand does. No hand passes a corner at full speed: its direction
    would change at once."""
    tau = np.linspace(0.0, 1.0, 1001)  # the profile in time: the share of the stroke covered at each share of it
    covered = {"min-jerk": 10 * tau**3 - 15 * tau**4 + 6 * tau**5, "ease-out": 1 - (1 - tau) ** 2,
               "steady": tau}[profile]
    relative_speed = np.interp(arc / max(float(arc[-1]), 1e-9), covered, np.gradient(covered, tau))
    profile_speed = speed * np.maximum(relative_speed, 0.05)
    turns = np.diff(np.unwrap(np.arctan2(*np.diff(path, axis=0).T[::-1])))  # at each inner point
    turned = np.concatenate([[0.0], np.cumsum(turns), [turns.sum()]])  # from the start to each point
    window = CURVATURE_WINDOW_PX
    curvature = np.abs(np.interp(arc + window, arc, turned) - np.interp(arc - window, arc, turned)) / (2 * window)
    allowed = np.sqrt(acceleration / np.maximum(curvature, 1e-9))
    step_speed = np.minimum(profile_speed, allowed)
    mid = 0.5 * (step_speed[1:] + step_speed[:-1])
    return np.concatenate([[0.0], np.cumsum(np.diff(arc) / mid)])
