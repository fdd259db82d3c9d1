"""Rank a sound bank against a drawing's labels: exact match first, then nearest, never "no sound".

Distance (documented in docs/osc.md) between the drawing and a sample with labels
(pitch s_p, volume s_v, timbre s_t), as the *expected* distance under the classifier's probability
vectors, so a confident head counts fully and an unsure one spreads its weight:

    d = W_SEMITONE * sum_c p_pitch[c] * |c - s_p|      (linear semitones: 69..80 is a range, not a circle)
      + W_VOLUME_STEP * sum_c p_volume[c] * |c - s_v|  (low/med/high are ordered steps)
      + W_TIMBRE * (1 - p_timbre[s_t])                 (timbre classes are unordered: match or not)

An overridden head counts as certain (a one-hot vector). score = 1 - d / D_MAX, in 0..1; it is 1 only
for an exact sample under a fully confident (or overridden) prediction.

Unpitched samples (drums, noise: `Sample.pitched` False) have no pitch distance: they can answer any
pitch. At equal standing a pitched sample comes first, and `unpitched=False` leaves them out.

Order: samples whose labels equal the target labels (the argmax labels with the overrides applied; an
unpitched sample's pitch always equals) come first, pitched before unpitched; then the others by
increasing d, pitched before unpitched at equal d. Candidates with the same rank (same d after rounding
to 1e-9, e.g. every sample with identical labels) are "equally good": among them the ones in the chosen
`register` come first (bridge.core.bank: register N holds A{N}..G#{N+1}; the canvas's own is 4), then
the nearest register (the lower one of two equally near), so repeated strokes stay in one octave. Within
that register they are ordered by a seeded key, crc32(f"{seed}:{path}"), then path, and the stroke
counter `rotation` picks the (rotation mod m)-th of the m of them. So consecutive strokes cycle through
the equally good files of one register before one repeats, a given (seed, rotation, register) always
picks the same file (replay is exact), and a sample's key does not change when others are added.

The bank is grouped once by label combination: 12 x 3 x 8 = 288 cells of pitched samples, and 3 x 8 = 24
cells of unpitched ones (volume and timbre only). The expected distance is linear in the probabilities,
so all 312 cell distances are one (24,) @ (24, 312) product; a match then sorts the non-empty cells and
reads the first groups. Its cost does not grow with the bank (no loop over samples); `rank()` orders the
whole bank with array operations, for inspection and tests.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from bridge.core.bank import CANVAS_REGISTER, Match, SoundBank
from bridge.core.errors import SoundBankError
from bridge.core.labels import CLASSES, HEADS, NO_OVERRIDES, PITCHES, TIMBRES, VOLUMES, Overrides, Prediction

W_SEMITONE = 1.0  # per semitone of pitch distance
W_VOLUME_STEP = 2.0  # per volume step (low-med-high): one step weighs like a whole tone
W_TIMBRE = 6.0  # a wrong instrument family weighs like a tritone: worse than a near pitch
D_MAX = W_SEMITONE * (len(PITCHES) - 1) + W_VOLUME_STEP * (len(VOLUMES) - 1) + W_TIMBRE
DISTANCE_DECIMALS = 9  # distances are rounded to 1e-9, so float noise never breaks a tie
PITCHED_CELLS = len(PITCHES) * len(VOLUMES) * len(TIMBRES)
N_CELLS = PITCHED_CELLS + len(VOLUMES) * len(TIMBRES)  # then one cell per (volume, timbre) of unpitched samples


def cell_of(pitch_index: np.ndarray | int, volume_index: np.ndarray | int, timbre_index: np.ndarray | int,
            pitched: np.ndarray | bool = True) -> np.ndarray:
    """Label-combination cell, 0..311: pitched samples pitch-major, then volume, then timbre (0..287);
    unpitched ones by volume, then timbre (288..311)."""
    vt = np.asarray(volume_index, dtype=np.int32) * len(TIMBRES) + timbre_index
    return np.where(pitched, np.asarray(pitch_index, dtype=np.int32) * len(VOLUMES) * len(TIMBRES) + vt,
                    PITCHED_CELLS + vt)


def tie_key(seed: int, path: str) -> int:
    """The seeded order among equally good samples (stable when the bank grows)."""
    return zlib.crc32(f"{seed}:{path}".encode())


@cache
def distance_matrix() -> np.ndarray:
    """(24, 312): probabilities (12 pitch, 3 volume, 8 timbre, then a constant 1) -> distance of each cell
    (an unpitched cell has no pitch distance)."""
    p, v, t = np.meshgrid(np.arange(len(PITCHES)), np.arange(len(VOLUMES)), np.arange(len(TIMBRES)), indexing="ij")
    uv, ut = np.meshgrid(np.arange(len(VOLUMES)), np.arange(len(TIMBRES)), indexing="ij")
    v, t = np.concatenate([v.ravel(), uv.ravel()]), np.concatenate([t.ravel(), ut.ravel()])  # labels of each cell
    p, pitched = np.concatenate([p.ravel(), np.zeros(uv.size, int)]), np.arange(N_CELLS) < PITCHED_CELLS
    rows = [W_SEMITONE * np.abs(c - p) * pitched for c in range(len(PITCHES))]
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


@cache
def _target_cells() -> dict[tuple[int, str, str], tuple[int, int]]:
    """Labels (pitch, volume, timbre) -> their pitched cell and the unpitched cell of their volume and timbre:
    cell_of for every label combination at once, so a match looks its target cells up."""
    p, v, t = (a.ravel() for a in np.meshgrid(np.arange(len(PITCHES)), np.arange(len(VOLUMES)),
                                              np.arange(len(TIMBRES)), indexing="ij"))
    cells = zip(cell_of(p, v, t, True).tolist(), cell_of(p, v, t, False).tolist(), strict=True)
    labels = ((PITCHES[a], VOLUMES[b], TIMBRES[c]) for a, b, c in zip(p.tolist(), v.tolist(), t.tolist(), strict=True))
    return dict(zip(labels, cells, strict=True))


def register_key(registers: np.ndarray, register: int) -> np.ndarray:
    """Sort key of registers for a chosen one: its own first, then the nearer, the lower of two equally near."""
    return np.abs(registers.astype(np.int64) - register) * 2 + (registers > register)


@dataclass(frozen=True)
class Ranking:
    """The whole bank in match order, for inspection and tests.

    indices: (n,) int, bank indices best first (the chosen sample is indices[0]); without unpitched
    samples when they are left out. scores: (n,) float, score of each entry of `indices`.
    exact: number of samples with exactly the target labels. tied: size of the equally-good set.
    """

    indices: np.ndarray
    scores: np.ndarray
    exact: int
    tied: int


class Matcher:
    """`matcher(prediction, overrides, *, rotation, register, unpitched) -> Match`, the engine's match function."""

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
        self._cell = cell_of(bank.pitch_index, bank.volume_index, bank.timbre_index, bank.pitched)  # (n,)
        self._tie_rank = _tie_ranks(bank, seed)  # (n,)
        registers = np.where(bank.pitched, bank.register_index, CANVAS_REGISTER)  # unpitched: any register
        self._register = registers.astype(np.int64)
        # Samples sorted by (cell, register, tie rank): cell c holds _order[_start[c]:_start[c + 1]], in runs of
        # one register each: _blocks[c] = [(register, start, end), ...].
        self._order = np.lexsort((self._tie_rank, self._register, self._cell))
        counts = np.bincount(self._cell, minlength=N_CELLS)
        start = np.concatenate(([0], np.cumsum(counts)))
        self._cells = np.flatnonzero(counts)  # (c,) the cells that hold samples
        self._cell_unpitched = self._cells >= PITCHED_CELLS
        # Python lists for the per-call walk over a few cells (faster than numpy scalars).
        self._order_list: list[int] = self._order.tolist()
        self._start_list: list[int] = start.tolist()
        self._cells_list: list[int] = self._cells.tolist()
        self._position: dict[int, int] = {cell: i for i, cell in enumerate(self._cells_list)}
        self._blocks = {cell: _register_blocks(self._register[self._order[start[cell]:start[cell + 1]]].tolist(),
                                               int(start[cell])) for cell in self._cells_list}
        self._has_pitched = bool(bank.pitched.any())
        self._usable = {True: np.arange(len(self._cells_list)), False: np.flatnonzero(~self._cell_unpitched)}

    # -- distances --------------------------------------------------------------------------------

    def cell_distances(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES) -> np.ndarray:
        """Expected distance of every label cell, shape (312,), rounded to 1e-9 so ties are exact."""
        weights = np.array(probability_vector(prediction, overrides))
        distances: np.ndarray = np.round(weights @ distance_matrix(), DISTANCE_DECIMALS)
        return distances

    @staticmethod
    def target_cells(prediction: Prediction, overrides: Overrides = NO_OVERRIDES) -> tuple[int, int]:
        """The exact cells: the target labels' pitched cell, and the unpitched cell of its volume and timbre."""
        lab = overrides.apply(prediction.labels)
        return _target_cells()[(lab.pitch, lab.volume, lab.timbre)]

    # -- matching ---------------------------------------------------------------------------------

    def __call__(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES, *, rotation: int = 0,
                 register: int = CANVAS_REGISTER, unpitched: bool = True) -> Match:
        self._check_usable(unpitched)
        dist = self.cell_distances(prediction, overrides)[self._cells]  # (c,)
        d = dist.tolist()
        usable = self._usable_positions(unpitched)
        # positions in _cells, nearest first, pitched before unpitched at equal distance
        order: list[int] = usable[np.lexsort((self._cell_unpitched[usable], dist[usable]))].tolist()
        candidates = set(order)
        exact = [pos for pos in map(self._position.get, self.target_cells(prediction, overrides)) if pos in candidates]
        for pos in reversed(exact):  # exact first, each cell a group of its own
            order.remove(pos)
            order.insert(0, pos)
        wanted = self.top_k + 1
        picked: list[tuple[int, float]] = []  # (bank index, score), best first
        i = 0
        while i < len(order) and len(picked) < wanted:
            j = i + 1  # the group of equally good cells is order[i:j]
            if i >= len(exact):
                while j < len(order) and d[order[j]] == d[order[i]] and \
                        self._cell_unpitched[order[j]] == self._cell_unpitched[order[i]]:
                    j += 1
            score = min(max(1.0 - d[order[i]] / D_MAX, 0.0), 1.0)
            members = self._members([self._cells_list[k] for k in order[i:j]], rotation if i == 0 else 0,
                                    wanted - len(picked), register)
            picked.extend((index, score) for index in members)
            i = j
        samples = self.bank.samples
        (best, best_score), *rest = picked
        return Match(samples[best], best_score, tuple((samples[k], s) for k, s in rest))

    def _check_usable(self, unpitched: bool) -> None:
        if not unpitched and not self._has_pitched:
            raise SoundBankError("every sample of the bank is unpitched and unpitched samples are left out "
                                 "(--no-unpitched or [bank] unpitched = false): allow them, or add pitched samples")

    def _usable_positions(self, unpitched: bool) -> np.ndarray:
        return self._usable[unpitched]

    def _members(self, cells: list[int], rotation: int, need: int, register: int) -> list[int]:
        """The first `need` bank indices of a group of equally good cells: the register nearest the chosen
        one first, starting at the (rotation mod m)-th of its m samples (tie order), then the others."""
        if len(cells) == 1:
            blocks = self._blocks[cells[0]]
            if len(blocks) > 1:
                blocks = sorted(blocks, key=lambda b: abs(b[0] - register) * 2 + (b[0] > register))
            out: list[int] = []
            for n, (_, first, end) in enumerate(blocks):
                m = end - first
                shift = rotation if n == 0 else 0
                out.extend(self._order_list[first + (shift + k) % m] for k in range(min(need - len(out), m)))
                if len(out) >= need:
                    break
            return out
        members = np.concatenate([self._order[self._start_list[c]:self._start_list[c + 1]] for c in cells])
        key = register_key(self._register[members], register)
        members = members[np.lexsort((self._tie_rank[members], key))]
        m = int(np.count_nonzero(key == key.min()))
        rotated = np.concatenate((np.roll(members[:m], -(rotation % m)), members[m:]))
        chosen: list[int] = rotated[:need].tolist()
        return chosen

    def rank(self, prediction: Prediction, overrides: Overrides = NO_OVERRIDES, *, rotation: int = 0,
             register: int = CANVAS_REGISTER, unpitched: bool = True) -> Ranking:
        """The whole bank in match order (vectorised over all samples; for inspection, not the live path)."""
        self._check_usable(unpitched)
        d = self.cell_distances(prediction, overrides)[self._cell]  # (n,)
        is_unpitched = self._cell >= PITCHED_CELLS
        pitched_exact, unpitched_exact = self.target_cells(prediction, overrides)
        standing = np.where(self._cell == pitched_exact, 0, np.where(self._cell == unpitched_exact, 1, 2))
        d_key = np.where(standing < 2, 0.0, d)  # the exact ones are ranked by standing alone
        reg = register_key(self._register, register)
        order = np.lexsort((self._tie_rank, reg, is_unpitched, d_key, standing))
        if not unpitched:
            order = order[~is_unpitched[order]]
        first = order[0]
        same = (standing == standing[first]) & (d_key == d_key[first]) & (is_unpitched == is_unpitched[first]) \
            & (reg == reg[first])
        m = int(same[order].sum())  # the tied set: order[:m]
        shift = rotation % m
        order = np.concatenate((order[shift:m], order[:shift], order[m:]))
        scores = np.clip(1.0 - d[order] / D_MAX, 0.0, 1.0)
        return Ranking(order, scores, int((standing[order] < 2).sum()), m)


def _register_blocks(registers: list[int], offset: int) -> list[tuple[int, int, int]]:
    """(register, start, end) runs of a cell's samples (sorted by register), positions offset into _order."""
    blocks: list[tuple[int, int, int]] = []
    for k, value in enumerate(registers):
        if blocks and blocks[-1][0] == value:
            blocks[-1] = (value, blocks[-1][1], offset + k + 1)
        else:
            blocks.append((value, offset + k, offset + k + 1))
    return blocks


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
