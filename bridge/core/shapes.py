"""The geometry of taught shapes: a drawn mark as a normalised outline, its features, and the distance of two.

A mark (one or more pen strokes) becomes an `Outline`: every stroke resampled along its length at a
fixed share of the mark's larger side (`STEP`), in a unit box (the larger side is 1), rounded to 1e-4 so the
outline a language file stores is the one the recogniser compares. Colour, pen width, place, size, drawing
speed and the number of mouse events are gone; stroke order and direction do not matter to what follows.

The distance of a candidate to a template (`distances`) is a point-cloud distance in the spirit of $P
(Vatavu, Anthony and Wobbrock 2012), over `POINTS` points spread evenly along all strokes, each point
carrying its place, the direction of the line through it (as a doubled angle, so a stroke drawn backwards
looks the same) and how sharply the line turns there, at two scales. It is the symmetric mean
nearest-neighbour ("chamfer") distance, the smallest over the candidate turned by -20, 0 and 20 degrees
(`ROTATIONS_DEG`; the examples themselves cover the angles between), plus penalties for global differences
that points alone miss: how many times the line winds round (a spiral vs a circle), how open it is, how flat
it is and how many strokes it has. Computed for all templates with a few small matrix products, under a
millisecond a call (`bench --only language`).

A mark smaller than `MIN_SIZE_PX` (a dab) has no shape. A straight mark ("line-like": no point further
than `LINE_DEVIATION` of its length from its axis, the instrument's ordinary note) only matches templates
that are line-like themselves, and the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STEP = 1 / 64  # resampling step, as a share of the mark's larger side
POINTS = 32  # points per mark in the point cloud
MIN_SIZE_PX = 10.0  # a smaller mark is a dab, not a shape
LINE_DEVIATION = 0.05  # a line-like mark: every point within this share of its length from its axis
ROTATIONS_DEG = (-20.0, 0.0, 20.0)
TANGENT_STEPS = 2  # the direction at a point: the chord over +-2 steps
TURN_STEPS = 3  # how sharply the line turns at a point: between the chords over 3 steps before and after
TANGENT_WEIGHT = 0.15
TURN_WEIGHT = 0.4
WIDE_TURN_STEPS = 8  # ... and over 8 steps
WIDE_TURN_WEIGHT = 0.4
WINDING_WEIGHT = 0.15  # per turn of winding, counted from 0.6 to 3 turns (0.6: any open figure)
WINDING_RANGE = (0.6, 3.0)
OPENNESS_WEIGHT = 0.05
FLATNESS_WEIGHT = 0.3
STROKES_WEIGHT = 0.03  # when the stroke counts differ
DECIMALS = 4
FEATURES = 6  # per point: x, y, direction (2), turn, wide turn


@dataclass(frozen=True, eq=False)
class Outline:
    """A mark in its unit box: strokes as (k, 2) float arrays, resampled every STEP along their length."""

    strokes: tuple[np.ndarray, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outline) and len(self.strokes) == len(other.strokes) and all(
            np.array_equal(a, b) for a, b in zip(self.strokes, other.strokes))

    __hash__ = None  # type: ignore[assignment]  # arrays: compared, never hashed

    def to_lists(self) -> list[list[list[float]]]:
        return [[[float(x), float(y)] for x, y in stroke] for stroke in self.strokes]


@dataclass(frozen=True)
class Features:
    """What distances compare, for one outline: the point cloud (POINTS, FEATURES) unrotated, positions centred,
    then the global measures."""

    cloud: np.ndarray
    winding: float  # turns the line winds round, summed over strokes (clipped to WINDING_RANGE)
    openness: float  # end-to-start gap of the longest stroke / its length
    flatness: float  # minor / major spread of its points
    stroke_count: int
    line_like: bool


def outline(strokes: Sequence[np.ndarray]) -> Outline | None:
    """(k, 2) arrays of canvas px, one per stroke -> the mark's outline; None for a dab (no shape)."""
    marks = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    marks = [m for m in marks if len(m)]
    if not marks:
        return None
    every = np.concatenate(marks)
    low = every.min(axis=0)
    size = float(np.ptp(every, axis=0).max())
    if size < MIN_SIZE_PX:
        return None
    resampled = [_resampled((m - low) / size) for m in marks]
    kept = tuple(np.round(r, DECIMALS) for r in resampled if r is not None)
    return Outline(kept) if kept else None


def outline_from_lists(strokes: list[list[list[float]]]) -> Outline:
    """An outline as a language file stores it (already normalised and rounded)."""
    return Outline(tuple(np.round(np.asarray(s, dtype=np.float64).reshape(-1, 2), DECIMALS) for s in strokes))


def _resampled(points: np.ndarray) -> np.ndarray | None:
    """A stroke resampled every STEP along its length (its two ends kept); None if it has no length."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return None
    steps = max(round(arc[-1] / STEP), 1)
    at = np.linspace(0.0, arc[-1], steps + 1)
    return np.stack([np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])], axis=1)


def features(shape: Outline) -> Features:
    """The point cloud and global measures of an outline (pure: the same outline, the same features)."""
    dense = np.concatenate([_local(stroke) for stroke in shape.strokes])
    pick = np.round(np.linspace(0, len(dense) - 1, POINTS)).astype(int)
    cloud = dense[pick].copy()
    cloud[:, :2] -= cloud[:, :2].mean(axis=0)
    arcs = [_arc(stroke) for stroke in shape.strokes]
    longest = max(range(len(arcs)), key=lambda i: arcs[i][-1])
    gap = float(np.linalg.norm(shape.strokes[longest][-1] - shape.strokes[longest][0]))
    flatness, line_like = _spread(dense[:, :2])
    return Features(cloud, winding=_winding(shape.strokes, arcs), openness=gap / max(arcs[longest][-1], 1e-9),
                    flatness=flatness, stroke_count=len(shape.strokes), line_like=line_like)


def _local(stroke: np.ndarray) -> np.ndarray:
    """(k, FEATURES): x, y, the doubled-angle direction (cos, sin) weighted, how sharply the line turns (0..1)
    over TURN_STEPS and over WIDE_TURN_STEPS, weighted: a corner turns as much over both, a curve more over
    the wider one, so the two tell a zigzag from a wave whatever their number of teeth."""
    k = len(stroke)
    index = np.arange(k)
    back, ahead = np.clip(index - TANGENT_STEPS, 0, k - 1), np.clip(index + TANGENT_STEPS, 0, k - 1)
    chord = stroke[ahead] - stroke[back]
    angle = np.arctan2(chord[:, 1], chord[:, 0])
    turns = []
    for steps in (TURN_STEPS, WIDE_TURN_STEPS):
        before = stroke - stroke[np.clip(index - steps, 0, k - 1)]
        after = stroke[np.clip(index + steps, 0, k - 1)] - stroke
        turns.append(np.abs(np.arctan2(before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0],
                                       (before * after).sum(axis=1))))
    return np.column_stack([stroke, TANGENT_WEIGHT * np.cos(2 * angle), TANGENT_WEIGHT * np.sin(2 * angle),
                            TURN_WEIGHT * turns[0] / math.pi, WIDE_TURN_WEIGHT * turns[1] / math.pi])


def _arc(stroke: np.ndarray) -> np.ndarray:
    """Cumulative length along a stroke, from 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])


def _winding(strokes: Sequence[np.ndarray], arcs: Sequence[np.ndarray]) -> float:
    """How many times the strokes wind round (|signed turning| summed over strokes, in turns), on POINTS
    points spread over the mark, clipped to WINDING_RANGE: a circle 1, a spiral 2-3, open figures 0.6."""
    total_length = sum(float(arc[-1]) for arc in arcs)
    total = 0.0
    for stroke, arc in zip(strokes, arcs):
        count = max(round(POINTS * float(arc[-1]) / total_length), 2)
        at = np.linspace(0.0, arc[-1], count)
        dx, dy = np.diff(np.interp(at, arc, stroke[:, 0])), np.diff(np.interp(at, arc, stroke[:, 1]))
        turning = np.diff(np.arctan2(dy, dx))
        total += abs(float(((turning + math.pi) % (2 * math.pi) - math.pi).sum())) / (2 * math.pi)
    return float(np.clip(total, *WINDING_RANGE))


def _spread(points: np.ndarray) -> tuple[float, bool]:
    """(minor / major spread of the points, whether every point lies within LINE_DEVIATION of the major axis),
    from the 2x2 covariance in closed form."""
    centred = points - points.mean(axis=0)
    xx, yy, xy = (centred[:, 0] ** 2).mean(), (centred[:, 1] ** 2).mean(), (centred[:, 0] * centred[:, 1]).mean()
    half_sum, root = (xx + yy) / 2, math.hypot((xx - yy) / 2, xy)
    major, minor = half_sum + root, max(half_sum - root, 0.0)
    flatness = math.sqrt(minor / major) if major > 0 else 0.0
    angle = 0.5 * math.atan2(2 * xy, xx - yy)  # of the major axis
    along = centred[:, 0] * math.cos(angle) + centred[:, 1] * math.sin(angle)
    across = centred[:, 1] * math.cos(angle) - centred[:, 0] * math.sin(angle)
    return flatness, float(np.abs(across).max()) <= LINE_DEVIATION * max(float(np.ptp(along)), 1e-9)


@dataclass(frozen=True)
class TemplateSet:
    """Every template's features stacked for `distances`: the clouds flattened to (M * POINTS, FEATURES) float32
    with their squared norms, and the global measures (M,)."""

    flat: np.ndarray
    norms: np.ndarray
    winding: np.ndarray
    openness: np.ndarray
    flatness: np.ndarray
    stroke_count: np.ndarray
    line_like: np.ndarray

    def __len__(self) -> int:
        return len(self.winding)

    @classmethod
    def of(cls, items: Sequence[Features]) -> TemplateSet:
        flat = (np.concatenate([f.cloud for f in items]).astype(np.float32) if items
                else np.zeros((0, FEATURES), np.float32))
        return cls(flat, (flat**2).sum(axis=1),
                   *(np.array([getattr(f, name) for f in items]) for name in
                     ("winding", "openness", "flatness", "stroke_count", "line_like")))


_ANGLES = np.radians(np.array(ROTATIONS_DEG))


def _turned(cloud: np.ndarray) -> np.ndarray:
    """(R, POINTS, FEATURES): the cloud turned by each of ROTATIONS_DEG (directions turn twice as far)."""
    out = np.empty((len(_ANGLES), POINTS, FEATURES))
    for first, angles in ((0, _ANGLES), (2, 2 * _ANGLES)):  # positions, then doubled-angle directions
        c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
        x, y = cloud[None, :, first], cloud[None, :, first + 1]
        out[:, :, first], out[:, :, first + 1] = c * x - s * y, s * x + c * y
    out[:, :, 4:] = cloud[None, :, 4:]
    return out


# Templates per matrix product: CHUNK x POINTS x len(ROTATIONS_DEG) x POINTS x 5 multiply-adds stays below the
# size (2**18) from which OpenBLAS splits a product over threads, which on a busy machine costs milliseconds.
CHUNK = max((2**18 - 1) // (POINTS * len(ROTATIONS_DEG) * POINTS * FEATURES), 1)


def distances(candidate: Features, templates: TemplateSet) -> np.ndarray:
    """(M,) distance of the candidate to each template; inf where the line-like gate forbids a match.

    float32 (the features carry 4 decimals): the same inputs give the same distances on one machine."""
    m = len(templates)
    if m == 0:
        return np.zeros(0)
    rotations = len(ROTATIONS_DEG)
    turned = _turned(candidate.cloud).reshape(-1, FEATURES).astype(np.float32)  # (R * n, FEATURES)
    norms = (turned**2).sum(axis=1)
    doubled = -2.0 * turned
    to_template = np.empty((rotations, m), np.float32)  # mean distance of a candidate point to its nearest
    to_candidate = np.empty((rotations, m), np.float32)  # ... of a template point to its nearest
    for start in range(0, m, CHUNK):
        count = min(CHUNK, m - start)
        rows = slice(start * POINTS, (start + count) * POINTS)
        flat, flat_norms = templates.flat[rows], templates.norms[rows]
        # both orientations, so each nearest neighbour is a minimum over a leading axis (fast in numpy)
        by_candidate = doubled @ flat.T
        by_candidate += norms[:, None]
        by_candidate += flat_norms[None, :]
        nearest = by_candidate.reshape(rotations, POINTS, count, POINTS).min(axis=1)  # (R, c, n_t)
        to_candidate[:, start:start + count] = np.sqrt(np.maximum(nearest, 0.0)).mean(axis=2)
        by_template = flat @ doubled.T
        by_template += flat_norms[:, None]
        by_template += norms[None, :]
        nearest = by_template.reshape(count, POINTS, rotations, POINTS).min(axis=1)  # (c, R, n_c)
        to_template[:, start:start + count] = np.sqrt(np.maximum(nearest, 0.0)).mean(axis=2).T
    total = ((to_template + to_candidate) / 2).min(axis=0).astype(np.float64)
    total += WINDING_WEIGHT * np.abs(templates.winding - candidate.winding)
    total += OPENNESS_WEIGHT * np.abs(templates.openness - candidate.openness)
    total += FLATNESS_WEIGHT * np.abs(templates.flatness - candidate.flatness)
    total += STROKES_WEIGHT * (templates.stroke_count != candidate.stroke_count)
    return np.where(templates.line_like == candidate.line_like, total, np.inf)
