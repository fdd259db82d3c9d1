"""Rank a sound bank against a drawing's labels: exact match first, then nearest, never "no sound".

Distance (documented in docs/osc.md) between the drawing and a sample with labels
(pitch s_p, volume s_v, timbre s_t), as the *expected* distance under the classifier's probability
vectors, so a confident head counts fully and an unsure one spreads its weight:

    d = W_SEMITONE * sum_c p_pitch[c] * |c - s_p|      (linear semitones: 69..80 is a range, not a circle)
      + W_VOLUME_STEP * sum_c p_volume[c] * |c - s_v|  (low/med/high are ordered steps)
      + W_TIMBRE * (1 - p_timbre[s_t])                 (timbre classes are unordered: match or not)

An overridden head counts as certain (a one-hot vector). score = 1 - d / D_MAX, in 0..1; it is 1 only
for an exact sample under a fully confident (or overridden) prediction.

Order: samples whose labels equal the target labels (the argmax labels with the overrides applied)
come first, then the others by increasing d. Candidates with the same rank (same d after rounding
to 1e-9, e.g. every sample with identical labels) are "equally good": they are ordered by a seeded key,
crc32(f"{seed}:{path}"), then path, and the stroke counter `rotation` picks the (rotation mod m)-th of
the m of them. So consecutive strokes cycle through all equally good files before one repeats, a
given (seed, rotation) always picks the same file (replay is exact), and a sample's key does not
change when others are added to the bank.

The bank is grouped once by label combination (12 x 3 x 8 = 288 cells). The expected distance is
linear in the probabilities, so all 288 cell distances are one (24,) @ (24, 288) product; a match then
sorts the non-empty cells and reads the first groups. Its cost does not grow with the bank (no loop
over samples); `rank()` orders the whole bank with array operations, for inspection and tests.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from bridge.core.bank import Match, Sample, SoundBank
from bridge.core.labels import CLASSES, HEADS, NO_OVERRIDES, PITCHES, TIMBRES, VOLUMES, Overrides, Prediction
from bridge.errors import SoundBankError

W_SEMITONE = 1.0  # per semitone of pitch distance
W_VOLUME_STEP = 2.0  # per volume step (low-med-high): one step weighs like a whole tone
W_TIMBRE = 6.0  # a wrong instrument family weighs like a tritone: worse than a near pitch
D_MAX = W_SEMITONE * (len(PITCHES) - 1) + W_VOLUME_STEP * (len(VOLUMES) - 1) + W_TIMBRE
DISTANCE_DECIMALS = 9  # distances are rounded to 1e-9, so float noise never breaks a tie
N_CELLS = len(PITCHES) * len(VOLUMES) * len(TIMBRES)


def cell_of(pitch_index: np.ndarray | int, volume_index: np.ndarray | int, timbre_index: np.ndarray | int):
    """Label-combination cell, 0..287: pitch-major, then volume, then timbre."""
    return (np.asarray(pitch_index, dtype=np.int32) * len(VOLUMES) + volume_index) * len(TIMBRES) + timbre_index


def tie_key(seed: int, path: str) -> int:
    """The seeded order among equally good samples (stable when the bank grows)."""
    return zlib.crc32(f"{seed}:{path}".encode())


@cache
def distance_matrix() -> np.ndarray:
    """(24, 288): probabilities (12 pitch, 3 volume, 8 timbre, then a constant 1) -> distance of each cell."""
    p, v, t = np.meshgrid(np.arange(len(PITCHES)), np.arange(len(VOLUMES)), np.arange(len(TIMBRES)), indexing="ij")
    p, v, t = p.ravel(), v.ravel(), t.ravel()  # the labels of each cell, in cell order
    rows = [W_SEMITONE * np.abs(c - p) for c in range(len(PITCHES))]
    rows += [W_VOLUME_STEP * np.abs(c - v) for c in range(len(VOLUMES))]
    rows += [-W_TIMBRE * (t == c) for c in range(len(TIMBRES))]  # W_TIMBRE * (1 - p_timbre[t]) ...
    rows.append(np.full(N_CELLS, W_TIMBRE))  # ... with the constant part on the last row
    matrix = np.array(rows, dtype=np.float64)
    matrix.setflags(write=False)
    return matrix


def probability_vector(prediction: Prediction, overrides: Overrides = NO_OVERRIDES) -> list[float]:
    """The 24 weights of `distance_matrix`: each head normalised (one-hot when overridden), then 1."""
    out: list[float] = []
    for head in HEADS:
        classes = CLASSES[head]
        forced = getattr(overrides, head)
        if forced is not None:
            vec = [1.0 if c == forced else 0.0 for c in classes]
        else:
            vec = [x if x > 0.0 else 0.0 for x in getattr(prediction, f"p_{head}")]  # NaN and < 0 -> 0
            total = sum(vec)
            vec = [x / total for x in vec] if 0.0 < total < math.inf else [1.0 / len(classes)] * len(classes)
        out.extend(vec)
    out.append(1.0)
    return out


@dataclass(frozen=True)
class Ranking:
    """The whole bank in match order, for inspection and tests.

    indices: (n,) int, bank indices best first (the chosen sample is indices[0]).
    scores: (n,) float, score of each entry of `indices`.
    exact: number of samples with exactly the target labels. tied: size of the equally-good set.
    """

    indices: np.ndarray
    scores: np.ndarray
    exact: int
    tied: int


class Matcher:
    """`matcher(prediction, overrides, *, rotation) -> Match`, the engine's match function."""

    def __init__(self, bank: SoundBank, *, seed: int = 0, top_k: int = 5) -> None:
        if len(bank) == 0:
            raise SoundBankError(
                "the sound bank is empty: there is nothing to match. Point --bank at a folder of labelled "
                "audio files, or leave it out to use the built-in default bank"
            )
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        self.bank = bank
        self.seed = seed
        self.top_k = top_k
        self._cell = cell_of(bank.pitch_index, bank.volume_index, bank.timbre_index)  # (n,)
        self._tie_rank = _tie_ranks(bank, seed)  # (n,)
        # Samples sorted by (cell, tie rank): cell c holds _order[_start[c]:_start[c + 1]].
        self._order = np.lexsort((self._tie_rank, self._cell))
        counts = np.bincount(self._cell, minlength=N_CELLS)
        start = np.concatenate(([0], np.cumsum(counts)))
        self._cells = np.flatnonzero(counts)  # (c,) the cells that hold samples
        # Python lists for the per-call walk over a few cells (faster than numpy scalars).
        self._order_list: list[int] = self._order.tolist()
        self._start_list: list[int] = start.tolist()
        self._cells_list: list[int] = self._cells.tolist()
        self._position: dict[int, int] = {cell: i for i, cell in enumerate(self._cells_list)}

    # -- distances --------------------------------------------------------------------------------

    def cell_distances(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES) -> np.ndarray:
        """Expected distance of every label cell, shape (288,), rounded to 1e-9 so ties are exact."""
        weights = np.array(probability_vector(prediction, overrides))
        return np.round(weights @ distance_matrix(), DISTANCE_DECIMALS)

    @staticmethod
    def target_cell(prediction: Prediction, overrides: Overrides = NO_OVERRIDES) -> int:
        lab = overrides.apply(prediction.labels)
        return (PITCHES.index(lab.pitch) * len(VOLUMES) + VOLUMES.index(lab.volume)) * len(TIMBRES) + TIMBRES.index(
            lab.timbre
        )

    # -- matching ---------------------------------------------------------------------------------

    def __call__(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES, *, rotation: int = 0) -> Match:
        dist = self.cell_distances(prediction, overrides)[self._cells]  # (c,)
        d = dist.tolist()
        order: list[int] = np.argsort(dist, kind="stable").tolist()  # positions in _cells, nearest first
        exact = self._position.get(self.target_cell(prediction, overrides))
        if exact is not None:  # exact first, as a group of its own
            order.remove(exact)
            order.insert(0, exact)
        wanted = self.top_k + 1
        picked: list[tuple[int, float]] = []  # (bank index, score), best first
        i = 0
        while i < len(order) and len(picked) < wanted:
            j = i + 1  # the group of equally good cells is order[i:j]
            if not (i == 0 and exact is not None):
                while j < len(order) and d[order[j]] == d[order[i]]:
                    j += 1
            score = min(max(1.0 - d[order[i]] / D_MAX, 0.0), 1.0)
            members = self._members([self._cells_list[k] for k in order[i:j]], rotation if i == 0 else 0,
                                    wanted - len(picked))
            picked.extend((index, score) for index in members)
            i = j
        samples = self.bank.samples
        (best, best_score), *rest = picked
        return Match(samples[best], best_score, tuple((samples[k], s) for k, s in rest))

    def _members(self, cells: list[int], rotation: int, need: int) -> list[int]:
        """The first `need` bank indices of a group of equally good cells in tie order, starting at the
        (rotation mod m)-th of its m samples."""
        if len(cells) == 1:
            first, end = self._start_list[cells[0]], self._start_list[cells[0] + 1]
            m = end - first
            return [self._order_list[first + (rotation + k) % m] for k in range(min(need, m))]
        members = np.concatenate([self._order[self._start_list[c]:self._start_list[c + 1]] for c in cells])
        members = members[np.argsort(self._tie_rank[members], kind="stable")]
        m = len(members)
        return [int(members[(rotation + k) % m]) for k in range(min(need, m))]

    def rank(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES, *, rotation: int = 0) -> Ranking:
        """The whole bank in match order (vectorised over all samples; for inspection, not the live path)."""
        d = self.cell_distances(prediction, overrides)[self._cell]  # (n,)
        not_exact = (self._cell != self.target_cell(prediction, overrides)).astype(np.int8)
        order = np.lexsort((self._tie_rank, d, not_exact))
        first = order[0]
        m = int(((not_exact == not_exact[first]) & (d == d[first])).sum())  # the tied set: order[:m]
        shift = rotation % m
        order = np.concatenate((order[shift:m], order[:shift], order[m:]))
        scores = np.clip(1.0 - d[order] / D_MAX, 0.0, 1.0)
        return Ranking(order, scores, int((not_exact == 0).sum()), m)

    def sample_at(self, index: int) -> Sample:
        return self.bank.samples[index]


def _tie_ranks(bank: SoundBank, seed: int) -> np.ndarray:
    """(n,) int64: each sample's place in the tie order (crc key, then path for the rare equal keys)."""
    keys = np.fromiter((tie_key(seed, s.path) for s in bank.samples), dtype=np.int64, count=len(bank))
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    equal_next = np.flatnonzero(np.diff(sorted_keys) == 0)  # crc collisions: a handful per 100k samples
    for start in equal_next[np.r_[True, np.diff(equal_next) > 1]] if equal_next.size else ():
        end = start + 1
        while end < len(order) and sorted_keys[end] == sorted_keys[start]:
            end += 1
        order[start:end] = sorted(order[start:end], key=lambda i: bank.samples[i].path)
    ranks = np.empty(len(bank), dtype=np.int64)
    ranks[order] = np.arange(len(bank))
    return ranks
