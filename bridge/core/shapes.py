"""The geometry of taught shapes: a drawn mark as a normalised outline, its features, and the distance of two.

A mark (one or more pen strokes) becomes an `Outline`: every stroke resampled along its length at a
fixed share of the mark's larger side (`STEP`), in a unit box (the larger side is 1), rounded to 1e-4 so the
outline a language file stores is the one the recogniser compares. Colour, pen width, place, size, drawing
speed and the number of mouse events are gone.

What hands differ in and the features ignore: the direction a stroke is drawn, where a closed shape starts,
the order of the strokes and how a shape is cut into strokes (`joined` chains strokes whose ends meet into
one path, so a triangle in three strokes is the triangle drawn in one), and a mirror image top to bottom
(a spiral the other way round, a zigzag going down first, a triangle upside down): every class takes its
mirror images, a mark and its mirror image are one shape (a language cannot teach them apart); the mirror
costs a little (`MIRROR_PENALTY`), so of two equally near examples the one drawn the same way wins.

How a candidate differs from a template (`pair_features`): a point-cloud distance in the spirit of $P
(Vatavu, Anthony and Wobbrock 2012), over `POINTS` points spread evenly along all paths, each point
carrying its place, the direction of the line through it (as a doubled angle, so a stroke drawn backwards
looks the same) and how sharply the line turns there, at two scales. It is the symmetric mean
nearest-neighbour ("chamfer") distance, the smallest over the candidate turned by -20, 0 and 20 degrees
(`ROTATIONS_DEG`; the examples themselves cover the angles between) and its mirror image; then how far
apart global measures are that points alone miss, none of which changes with the number of a pattern's
repetitions: how many times the line winds round (a spiral vs a circle), how open it is, how flat it is,
how many separate paths it has, how sharp its turns are (`_sharpness`), whether it runs straight from one
turning point to the next or eases into them (`_ease`), how sharp it is where it turns back at the scale
of its own stretches (`_corner`: a zigzag's corners vs a wave's crests, whatever their number and however a
mouse cut them), and whether it grows away from its centre (`_radii`: a loose spiral vs a circle). The
distance (`distances`) is what bridge.core.shape_metric, a small learned metric, makes of those
differences. Computed for all templates with a few small matrix products (`bench --only language`).

A mark smaller than `MIN_SIZE_PX` (a dab) has no shape. A straight mark ("line-like": no point further
than `LINE_DEVIATION` of its length from its axis, the instrument's ordinary note) only matches templates
that are line-like themselves, and the other way round.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bridge.core import shape_metric

STEP = 1 / 64  # resampling step, as a share of the mark's larger side
POINTS = 32  # points per mark in the point cloud
MIN_SIZE_PX = 10.0  # a smaller mark is a dab, not a shape
LINE_DEVIATION = 0.05  # a line-like mark: every point within this share of its length from its axis
ROTATIONS_DEG = (-20.0, 0.0, 20.0)
MIRROR_PENALTY = 0.02  # a mark's mirror image (top to bottom) is as near as the mark, plus this
JOIN_GAP = 0.15  # strokes whose ends are at most this far apart (a share of the larger side) are one path
TANGENT_STEPS = 2  # the direction at a point: the chord over +-2 steps
TURN_STEPS = 3  # how sharply the line turns at a point: between the chords over 3 steps before and after
TANGENT_WEIGHT = 0.15
TURN_WEIGHT = 0.4
WIDE_TURN_STEPS = 8  # ... and over 8 steps
WIDE_TURN_WEIGHT = 0.4
WINDING_RANGE = (0.6, 2.0)  # from 2 turns on a spiral is a spiral, as a zigzag is a zigzag whatever its teeth
SHARPNESS_TOLERANCE = 0.03  # corners: the simplified path within this share of the larger side
EASE_HYSTERESIS = 0.25  # a turning point: the line comes back this share of the mark's width across its axis
EASE_POINTS = 16
EASE_CLIP = 0.2  # an ease beyond this (a stretch that barely turns back) says no more
CORNER_SPANS = (0.15, 0.7)  # `_corner`: the turn over these shares of the stretches either side
CLOUD_CLIP = 2.0
DECIMALS = 4
FEATURES = 6  # per point: x, y, direction (2), turn, wide turn
_EASE_ALONG = np.linspace(0.0, 1.0, EASE_POINTS)
_FEW = 24  # `_simplified`: a stretch of at most this many points is searched in a Python loop


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
    winding: float  # turns the line winds round, summed over paths (clipped to WINDING_RANGE)
    openness: float  # end-to-start gap of the longest path / its length
    flatness: float  # minor / major spread of its points
    paths: int  # separate paths once strokes whose ends meet are joined
    line_like: bool
    sharpness: float  # 0..1, `_sharpness`
    ease: float  # `_ease`, clipped to EASE_CLIP
    corner: float  # `_corner`
    radius_trend: float  # `_radii`
    inner_end: float  # `_radii`


def outline(strokes: Sequence[np.ndarray]) -> Outline | None:
    """(k, 2) arrays of canvas px, one per stroke -> the mark's outline; None for a dab (no shape)."""
    marks = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    marks = [m for m in marks if len(m)]
    if not marks:
        return None
    every = np.concatenate(marks)
    low = every.min(axis=0)
    size = float((every.max(axis=0) - low).max())
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
    step = points[1:] - points[:-1]
    arc = _from_zero(np.sqrt((step * step).sum(axis=1)))  # np.linalg.norm's sum, without its overhead
    if arc[-1] <= 0:
        return None
    steps = max(round(arc[-1] / STEP), 1)
    at = np.linspace(0.0, arc[-1], steps + 1)
    return np.stack([np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])], axis=1)


def features(shape: Outline) -> Features:
    """The point cloud and global measures of an outline (pure: the same outline, the same features)."""
    paths = joined(shape.strokes)
    dense = np.concatenate([_local(path) for path in paths])
    cloud = dense[_picked(len(dense))]  # a copy (indexed by an array), centred in place
    cloud[:, :2] -= _mean(cloud[:, :2], axis=0)
    arcs = [_arc(path) for path in paths]
    longest = max(range(len(arcs)), key=lambda i: arcs[i][-1])
    gap = _length(paths[longest][-1] - paths[longest][0])
    flatness, line_like, across = _spread(dense[:, :2])
    offsets = [path @ across for path in paths]
    every = np.concatenate(offsets)
    hysteresis = EASE_HYSTERESIS * float(every.max() - every.min())
    turns = [np.array(_turning_points(offset.tolist(), hysteresis)) for offset in offsets]
    trend, inner = _radii(paths[longest], arcs[longest])
    return Features(cloud, winding=_winding(paths, arcs), openness=gap / max(arcs[longest][-1], 1e-9),
                    flatness=flatness, paths=len(paths), line_like=line_like, sharpness=_sharpness(paths),
                    ease=min(_ease(arcs, offsets, turns), EASE_CLIP), corner=_corner(paths, arcs, turns),
                    radius_trend=trend, inner_end=inner)


@functools.lru_cache(maxsize=256)
def _picked(k: int) -> np.ndarray:
    """Which of k points make the point cloud: POINTS spread evenly (read-only: shared by every mark of k)."""
    pick = np.round(np.linspace(0, k - 1, POINTS)).astype(int)
    pick.flags.writeable = False
    return pick


def joined(strokes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The strokes chained into as few paths as their ends allow: from the longest stroke on, the stroke with
    an end nearest to either end of the path, if within JOIN_GAP, is added there, turned to run on. A triangle
    drawn in three strokes, in any order and direction, becomes one closed path like a triangle drawn in one;
    the bars of a cross, whose ends are far apart, stay two."""
    rest = sorted(strokes, key=lambda s: -float(_arc(s)[-1]))
    paths = []
    while rest:
        path = rest.pop(0)
        while rest:
            gap, i, at_end, piece = min(_joins(path, rest), key=lambda join: join[0])
            if gap > JOIN_GAP:
                break
            del rest[i]
            path = np.concatenate([path, piece] if at_end else [piece, path])
        paths.append(path)
    return paths


def _joins(path: np.ndarray, strokes: Sequence[np.ndarray]) -> list[tuple[float, int, bool, np.ndarray]]:
    """Every way to add one of `strokes` to an end of `path`: (gap, which stroke, at the path's end (else its
    start), the stroke turned to run on)."""
    found = []
    for i, stroke in enumerate(strokes):
        for at_end, end in ((True, path[-1]), (False, path[0])):
            for piece in (stroke, stroke[::-1]):
                touching = piece[0] if at_end else piece[-1]
                found.append((_length(end - touching), i, at_end, piece))
    return found


def _local(path: np.ndarray) -> np.ndarray:
    """(k, FEATURES): x, y, the doubled-angle direction (cos, sin) weighted, how sharply the line turns (0..1)
    over TURN_STEPS and over WIDE_TURN_STEPS, weighted: a corner turns as much over both, a curve more over
    the wider one."""
    back, ahead = _neighbours(len(path))
    behind, beyond = path[back], path[ahead]  # (3, k, 2)
    out = np.empty((len(path), FEATURES))
    out[:, :2] = path
    chord = beyond[0] - behind[0]
    doubled = 2 * np.arctan2(chord[:, 1], chord[:, 0])
    np.multiply(TANGENT_WEIGHT, np.cos(doubled), out=out[:, 2])
    np.multiply(TANGENT_WEIGHT, np.sin(doubled), out=out[:, 3])
    # both scales at once: (2, k, 2) chords before and after each point
    before = path - behind[1:]
    after = beyond[1:] - path
    # the dot product as numpy's sum: at the ends (a zero chord) it is +0, which makes the turn 0, not pi
    turns = np.abs(np.arctan2(before[..., 0] * after[..., 1] - before[..., 1] * after[..., 0],
                              (before * after).sum(axis=-1)))
    out[:, 4:] = (_TURN_WEIGHTS * turns / math.pi).T
    return out


_TURN_WEIGHTS = np.array([[TURN_WEIGHT], [WIDE_TURN_WEIGHT]])


@functools.lru_cache(maxsize=256)
def _neighbours(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For k points, (back, ahead): (3, k) indices of the point TANGENT_STEPS, TURN_STEPS and WIDE_TURN_STEPS
    before and after each point, within the path (read-only: shared by every path of k points)."""
    index = np.arange(k)
    steps = np.array([[TANGENT_STEPS], [TURN_STEPS], [WIDE_TURN_STEPS]])
    back, ahead = np.maximum(index - steps, 0), np.minimum(index + steps, k - 1)
    back.flags.writeable = ahead.flags.writeable = False
    return back, ahead


def _simplified(path: np.ndarray, tolerance: float) -> np.ndarray:
    """The path's corners (Douglas-Peucker): the fewest of its points that keep every point within
    `tolerance` of the polyline through them."""
    x, y = path[:, 0], path[:, 1]
    xs, ys = x.tolist(), y.tolist()
    kept = [0, len(path) - 1]
    todo = [(0, len(path) - 1)]
    while todo:
        a, b = todo.pop()
        if b - a < 2:
            continue
        cx, cy = xs[b] - xs[a], ys[b] - ys[a]
        length = math.hypot(cx, cy)
        if b - a <= _FEW:  # a few points: a loop is faster than numpy's calls, and computes the same
            xa, ya = xs[a], ys[a]
            inside = zip(xs[a + 1:b], ys[a + 1:b])
            offs = ([abs((px - xa) * cy - (py - ya) * cx) / length for px, py in inside] if length > 0
                    else [math.hypot(px - xa, py - ya) for px, py in inside])
            farthest = max(offs)
            i = offs.index(farthest)  # the first farthest, as numpy's argmax
        else:
            dx, dy = x[a + 1:b] - xs[a], y[a + 1:b] - ys[a]
            off = np.abs(dx * cy - dy * cx) / length if length > 0 else np.hypot(dx, dy)
            i = int(off.argmax())
            farthest = float(off[i])
        if farthest > tolerance:
            kept.append(a + 1 + i)
            todo += [(a, a + 1 + i), (a + 1 + i, b)]
    return path[sorted(kept)]


def _sharpness(paths: Sequence[np.ndarray]) -> float:
    """How sharp the mark's turns are (0..1): the turn-weighted mean turn at the corners of its paths simplified
    to SHARPNESS_TOLERANCE, over 180 degrees. A corner keeps its whole turn at one point; a curve is cut into
    many small turns. A zigzag is about 0.6, a wave 0.3, a circle 0.2, whatever their number of teeth."""
    turns = []
    for path in paths:
        corners = _simplified(path, SHARPNESS_TOLERANCE)
        direction = corners[1:] - corners[:-1]
        angle = np.arctan2(direction[:, 1], direction[:, 0])
        turns.append(np.abs((angle[1:] - angle[:-1] + math.pi) % (2 * math.pi) - math.pi))
    every = np.concatenate(turns)
    total = float(every.sum())
    return float((every**2).sum()) / total / math.pi if total > 0 else 0.0


def _ease(arcs: Sequence[np.ndarray], offsets: Sequence[np.ndarray], turning: Sequence[np.ndarray]) -> float:
    """How the line eases into and out of its turning points: 0 when it runs straight from one to the next.

    Across the mark's axis (`offsets`: each path's points on its minor principal direction) the line goes to
    and fro. Between two turning points (`turning`, `_turning_points`) a zigzag runs straight: how far across
    it has come grows evenly with its length so far (`arcs`); a wave or a circle eases out of one crest and
    into the next. Each stretch between turning points is scaled to run from 0 to 1 across and along; its ease
    is the mean gap between how far across and how far along it has come, at EASE_POINTS points along; the mark's, the
    mean over its stretches weighted by their lengths. The number of teeth or periods does not change it, nor
    how tall a zigzag's teeth are: a zigzag is about 0.01, a wave 0.03-0.1 (the steeper, the straighter it
    runs from crest to crest), a circle 0.1."""
    along = _EASE_ALONG
    eases, lengths = [], []
    for arc, offset, turns in zip(arcs, offsets, turning):
        start, end = turns[:-1], turns[1:]
        length, rise = arc[end] - arc[start], offset[end] - offset[start]
        kept = (end - start >= 2) & (length > 0) & (rise != 0)
        start, length, rise = start[kept], length[kept], rise[kept]
        at = arc[start][:, None] + length[:, None] * along[None, :]  # (stretches, EASE_POINTS) along the path
        risen = (np.interp(at, arc, offset) - offset[start][:, None]) / rise[:, None]
        eases.append(_mean(np.abs(risen - along[None, :]), axis=1))
        lengths.append(length)
    weights = np.concatenate(lengths)
    total = weights.sum()
    return float((np.concatenate(eases) * weights).sum() / total) if total > 0 else 0.0


def _corner(paths: Sequence[np.ndarray], arcs: Sequence[np.ndarray], turning: Sequence[np.ndarray]) -> float:
    """How sharp the line is where it turns back, at the scale of its own stretches: at each turning point
    (`turning`, but the ends) the turn between the chords over CORNER_SPANS[0] of the shorter stretch either
    side, over the turn between the chords over CORNER_SPANS[1] of it, summed over turning points. A corner
    turns as much over a short span as over a long one (about 0.95), however many teeth and however fast a
    mouse cut it; a crest turns gradually (a wave 0.7-0.85, a circle or spiral about 0.5). 1 without a
    turning point."""
    small = large = 0.0
    for path, arc, turns in zip(paths, arcs, turning):
        if len(turns) < 3:
            continue
        at = arc[turns]
        stretch = at[1:] - at[:-1]
        span = np.minimum(stretch[:-1], stretch[1:])
        at = at[1:-1]
        # one interpolation for every point: the turning points, then each span's points before and after
        around = np.clip(at + _CORNER_OFFSETS * span, 0.0, arc[-1])  # (4, k): rows as _CORNER_OFFSETS
        where = np.concatenate([at, around.ravel()])
        x = np.interp(where, arc, path[:, 0]).reshape(5, -1)
        y = np.interp(where, arc, path[:, 1]).reshape(5, -1)
        bx, by = x[0] - x[1::2], y[0] - y[1::2]  # (2, k): to each turning point from before it, per span
        ax, ay = x[2::2] - x[0], y[2::2] - y[0]  # ... from it to after it
        small_turn, large_turn = np.abs(np.arctan2(bx * ay - by * ax, bx * ax + by * ay)).sum(axis=1)
        small += float(small_turn)
        large += float(large_turn)
    return small / large if large > 0 else 1.0


# `_corner`: where its chords end, as a share of the span: before and after, over each of CORNER_SPANS
_CORNER_OFFSETS = np.array([[sign * share] for share in CORNER_SPANS for sign in (-1.0, 1.0)])


def _radii(path: np.ndarray, arc: np.ndarray) -> tuple[float, float]:
    """(how steadily the distance from the path's centre grows or shrinks along it: |correlation| of the two,
    the nearer end's distance from the centre over the farthest point's). A spiral about (0.8, 0.2), a circle
    or ellipse (0.2, 0.8) whatever its turns: what sets a loose spiral apart from a circle."""
    centred = path - _mean(path, axis=0)
    radius = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    radius_off, arc_off = radius - _mean(radius), arc - _mean(arc)
    spread = math.sqrt(float(radius_off @ radius_off) * float(arc_off @ arc_off))
    trend = abs(float(radius_off @ arc_off)) / spread if spread > 0 else 0.0
    return min(trend, 1.0), min(float(radius[0]), float(radius[-1])) / max(float(radius.max()), 1e-9)


def _turning_points(values: list[float], hysteresis: float) -> list[int]:
    """The indices where `values` turns back (an extreme it then leaves by more than `hysteresis`), and its
    two ends."""
    points = [0]
    top = bottom = 0  # where the highest and lowest value since the last turning point are
    high = low = values[0]
    going = 0  # 1: up towards a top, -1: down towards a bottom, 0: not known yet
    for i, value in enumerate(values):
        if value > high:
            top, high = i, value
        if value < low:
            bottom, low = i, value
        if going >= 0 and high - value > hysteresis:
            points.append(top)
            going, bottom, low = -1, i, value
        elif going <= 0 and value - low > hysteresis:
            points.append(bottom)
            going, top, high = 1, i, value
    points.append(len(values) - 1)
    return sorted(set(points))


def _mean(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """np.mean (the same sum over the same count, so the same result) without its Python overhead, which on
    arrays as short as a mark's dominates."""
    count = values.size if axis is None else values.shape[axis]
    found: np.ndarray = values.sum(axis=axis) / count
    return found


def _arc(stroke: np.ndarray) -> np.ndarray:
    """Cumulative length along a stroke, from 0."""
    step = stroke[1:] - stroke[:-1]
    return _from_zero(np.hypot(step[:, 0], step[:, 1]))


def _from_zero(lengths: np.ndarray) -> np.ndarray:
    """0, then the running total of `lengths`."""
    total = np.zeros(len(lengths) + 1)
    np.cumsum(lengths, out=total[1:])
    return total


def _length(vector: np.ndarray) -> float:
    """A vector's length as np.linalg.norm computes it (the root of its dot product with itself), without the
    overhead of its checks, which on a 2-vector is most of its time."""
    return math.sqrt(float(vector @ vector))


def _winding(paths: Sequence[np.ndarray], arcs: Sequence[np.ndarray]) -> float:
    """How many times the paths wind round (|signed turning| summed over paths, in turns), on POINTS
    points spread over the mark, clipped to WINDING_RANGE: a circle 1, a spiral 1.5-2 (and any more turns 2),
    open figures 0.6. How many turns a spiral has is a hand's habit, like a zigzag's number of teeth: what
    sets a spiral apart is that it winds round more than once."""
    total_length = sum(float(arc[-1]) for arc in arcs)
    total = 0.0
    for path, arc in zip(paths, arcs):
        count = max(round(POINTS * float(arc[-1]) / total_length), 2)
        at = np.linspace(0.0, arc[-1], count)
        x, y = np.interp(at, arc, path[:, 0]), np.interp(at, arc, path[:, 1])
        direction = np.arctan2(y[1:] - y[:-1], x[1:] - x[:-1])
        turning = direction[1:] - direction[:-1]
        total += abs(float(((turning + math.pi) % (2 * math.pi) - math.pi).sum())) / (2 * math.pi)
    return min(max(total, WINDING_RANGE[0]), WINDING_RANGE[1])


def _spread(points: np.ndarray) -> tuple[float, bool, np.ndarray]:
    """(minor / major spread of the points, whether every point lies within LINE_DEVIATION of the major axis,
    the unit vector across that axis), from the 2x2 covariance in closed form."""
    centred = points - _mean(points, axis=0)
    xx, yy, xy = _mean(centred[:, 0] ** 2), _mean(centred[:, 1] ** 2), _mean(centred[:, 0] * centred[:, 1])
    half_sum, root = (xx + yy) / 2, math.hypot((xx - yy) / 2, xy)
    major, minor = half_sum + root, max(half_sum - root, 0.0)
    flatness = math.sqrt(minor / major) if major > 0 else 0.0
    angle = 0.5 * math.atan2(2 * xy, xx - yy)  # of the major axis
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = centred[:, 0], centred[:, 1]
    along, across = x * cos + y * sin, y * cos - x * sin
    widest = max(float(across.max()), -float(across.min()))
    line_like = widest <= LINE_DEVIATION * max(float(along.max() - along.min()), 1e-9)
    return flatness, line_like, np.array([-sin, cos])


# The global measures two marks' differences of which `pair_features` gives, after their cloud distance.
_SCALARS = ("winding", "openness", "flatness", "paths", "sharpness", "ease", "corner", "radius_trend", "inner_end")
PAIR_FEATURES = ("cloud", *_SCALARS)
_PATHS = PAIR_FEATURES.index("paths")


@dataclass(frozen=True)
class TemplateSet:
    """Every template's features stacked for `distances`: the clouds flattened to (M * POINTS, FEATURES) float32
    with their squared norms, whether each is line-like (M,), and the global measures (M, len(_SCALARS))."""

    flat: np.ndarray
    norms: np.ndarray
    line_like: np.ndarray
    scalars: np.ndarray

    def __len__(self) -> int:
        return len(self.line_like)

    @classmethod
    def of(cls, items: Sequence[Features]) -> TemplateSet:
        flat = (np.concatenate([f.cloud for f in items]).astype(np.float32) if items
                else np.zeros((0, FEATURES), np.float32))
        return cls(flat, (flat**2).sum(axis=1), np.array([f.line_like for f in items], dtype=bool),
                   np.array([_scalars(f) for f in items]).reshape(len(items), len(_SCALARS)))


def _scalars(found: Features) -> list[float]:
    return [float(getattr(found, name)) for name in _SCALARS]


_ANGLES = np.radians(np.array(ROTATIONS_DEG))
VARIANTS = len(ROTATIONS_DEG) + 1  # each rotation as drawn, and the mark mirrored top to bottom
# (rotations, 1, 2): cos and sin of each rotation, for the positions, then for the doubled-angle directions
_COS = np.stack([np.cos(_ANGLES), np.cos(2 * _ANGLES)], axis=1)[:, None, :]
_SIN = np.stack([np.sin(_ANGLES), np.sin(2 * _ANGLES)], axis=1)[:, None, :]
_MIRROR = np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0])  # top to bottom: y and the direction's sine negated


def _turned(cloud: np.ndarray) -> np.ndarray:
    """(VARIANTS * POINTS, FEATURES) float32: the cloud turned by each of ROTATIONS_DEG (directions turn twice as
    far), then mirrored top to bottom (y and the direction's sine negated). Computed in float64, then rounded."""
    out = np.empty((VARIANTS, POINTS, FEATURES), np.float32)
    rotations = len(ROTATIONS_DEG)
    x, y = cloud[None, :, 0:4:2], cloud[None, :, 1:4:2]  # (1, n, 2): the position's and the direction's
    out[:rotations, :, 0:4:2], out[:rotations, :, 1:4:2] = _COS * x - _SIN * y, _SIN * x + _COS * y
    out[:rotations, :, 4:] = cloud[None, :, 4:]
    out[rotations] = cloud * _MIRROR
    return out.reshape(-1, FEATURES)


_VARIANT_COST = np.array([0.0] * len(ROTATIONS_DEG) + [MIRROR_PENALTY], np.float32)[:, None]


# Templates per matrix product: CHUNK x POINTS x VARIANTS x POINTS x FEATURES multiply-adds stays below the
# size (2**18) from which OpenBLAS splits a product over threads, which on a busy machine costs milliseconds.
CHUNK = max((2**18 - 1) // (POINTS * VARIANTS * POINTS * FEATURES), 1)


def distances(candidate: Features, templates: TemplateSet) -> np.ndarray:
    """(M,) distance of the candidate to each template (`shape_metric`: -log of how likely they are one
    shape); inf where the line-like gate forbids a match. The same inputs give the same distances on one
    machine."""
    if len(templates) == 0:
        return np.zeros(0)
    found = shape_metric.distances(pair_features(candidate, templates))
    return np.where(templates.line_like == candidate.line_like, found, np.inf)


def pair_features(candidate: Features, templates: TemplateSet) -> np.ndarray:
    """(M, len(PAIR_FEATURES)): how the candidate differs from each template. The cloud distance: the
    symmetric mean nearest-neighbour distance of the point clouds (float32: the features carry 4 decimals),
    the smallest over the candidate turned by ROTATIONS_DEG and mirrored (plus MIRROR_PENALTY), clipped to
    CLOUD_CLIP; then |difference| of each global measure (for `paths`: 1 if the numbers differ)."""
    m = len(templates)
    turned = _turned(candidate.cloud)  # (V * n, FEATURES)
    norms = (turned**2).sum(axis=1)
    doubled = -2.0 * turned
    # squared distance of each template point to its nearest point of each variant, and the other way round
    to_candidate = np.empty((VARIANTS, m, POINTS), np.float32)
    to_template = np.empty((m, VARIANTS, POINTS), np.float32)
    for start in range(0, m, CHUNK):
        count = min(CHUNK, m - start)
        rows = slice(start * POINTS, (start + count) * POINTS)
        flat, flat_norms = templates.flat[rows], templates.norms[rows]
        # both orientations, so each nearest neighbour is a minimum over a leading axis (fast in numpy)
        to_candidate[:, start:start + count] = _smallest(doubled @ flat.T, norms, (VARIANTS, POINTS, count, POINTS))
        to_template[start:start + count] = _smallest(flat @ doubled.T, flat_norms, (count, POINTS, VARIANTS, POINTS))
    # then the norm of the point each minimum is for (`_smallest`)
    to_candidate += templates.norms.reshape(m, POINTS)[None]
    to_template += norms.reshape(VARIANTS, POINTS)[None]
    mean_distances = _mean_root(to_template).T + _mean_root(to_candidate)  # (V, m)
    cloud = (mean_distances / 2 + _VARIANT_COST).min(axis=0).astype(np.float64)
    out = np.empty((m, len(PAIR_FEATURES)))
    out[:, 0] = np.minimum(cloud, CLOUD_CLIP)
    np.abs(templates.scalars - np.array(_scalars(candidate)), out=out[:, 1:])
    out[:, _PATHS] = out[:, _PATHS] != 0
    return out


def _smallest(products: np.ndarray, row_norms: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Squared distances without the column norm, smallest over axis 1 of `shape` (rows (shape[0], shape[1]),
    columns (shape[2], shape[3])): `products` (-2 x the dot products, float32) + each row's norm. The column
    norm, the same for every row a minimum is taken over, is added after it: rounding a sum is monotonic, so
    that gives the same float32 as adding it to every product first, for a fraction of the work."""
    products += row_norms[:, None]
    smallest: np.ndarray = products.reshape(shape).min(axis=1)
    return smallest


def _mean_root(nearest: np.ndarray) -> np.ndarray:
    """Squared distances (a, b, points) -> (a, b) mean distance."""
    root: np.ndarray = _mean(np.sqrt(np.maximum(nearest, 0.0)), axis=2)
    return root
