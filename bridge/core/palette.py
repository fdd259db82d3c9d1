"""The composer's palette: colour -> timbre pairs (SPEC §2), and the timbre of ink by its nearest palette colour.

A palette replaces the default eight colours: any number of colours (up to `MAX_COLOURS`), several of them
may name one timbre, and a timbre may have none. Its written form, the same in the TOML config (`[palette]`)
and in a saved drawing (`"palette"`), maps each timbre to its colours:

    {"flute": ["#1E90FF", "#20B2AA"], "string": ["#D00000"], "keyboard": ["#000000"]}

(a single colour may be written without the list). The entries keep that order: it is the order of the
canvas's swatches.

The timbre of a colour is the timbre of the nearest palette colour in CIELAB, by the CIEDE2000 colour
difference (ΔE00, about 1 for a just noticeable difference). Its confidence comes from the margin: each
timbre gets `exp(-(d - d_min) / CONFIDENCE_SCALE_DE)` for the distance `d` of its nearest colour,
normalised, so an exact palette colour far from the others is ~1.0, and a colour half way between two
palette colours of different timbres is 0.5. Timbres without a colour get 0.

Two ways to read the ink, one rule:

- a stroke voice (the engine knows the stroke's colour): `probabilities(rgb)`, cached per colour, so a
  live classification pays a dictionary look-up;
- a picture (canvas mode: the whole canvas): `ink_probabilities(image)` reads the 4 px blocks of the
  canvas as the model's preprocessing sees them (grid and paper divided out). An anti-aliased edge or a
  thin stroke only partly covers a block, so a block is compared with each palette colour diluted with
  white by the coverage that explains it best (`alpha`, fitted per colour): a block of any coverage
  matches its own colour (to the 1/64 steps blocks are compared in). Each block votes with its soft
  assignment, weighted by that coverage.
  A colour and a paler one on the same ray from white (black and mid grey) cannot be told apart in a
  block the stroke only partly covers, so a colour whose best-fitting blocks never reach full coverage
  is taken for the paler one (`REACH_PENALTY_DE`): a stroke wider than a block (4 px) shows its full
  strength, a thinner one of the darker colour reads as the paler colour.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.core.errors import BridgeError, LabelError
from bridge.core.labels import PALETTE_HEX, TIMBRES, Labels, Prediction, format_hex_color, parse_hex_color
from bridge.core.preprocess import downsample, flat_field

MAX_COLOURS = 24  # the canvas's palette column shows this many swatches
CONFIDENCE_SCALE_DE = 2.0  # ΔE00 per e-fold of a timbre's weight: about two just noticeable differences
INK_GRID_PX = 100  # blocks of 4 x 4 canvas px, as the image model's input
MIN_INK = 0.05  # a block whose strongest channel absorbs less than this is paper
INK_LEVELS = 64  # block absorptions are compared in steps of 1/64 (a stroke's edge blocks repeat more)
DILUTION_STEPS = 255  # coverages are looked up in steps of 1/255 (the canvas's own colour resolution)
REACH_PENALTY_DE = 10.0  # ΔE00 added to a colour per unit its best-fitting blocks fall short of full coverage


class PaletteError(BridgeError, ValueError):
    """A palette that cannot be used; `where` names the entry (e.g. `palette.flute[1]`)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Palette:
    """(colour '#RRGGBB', timbre) pairs in the composer's order, grouped by timbre; colours are unique."""

    entries: tuple[tuple[str, str], ...]
    _lab: np.ndarray = field(init=False, repr=False, compare=False)  # (n, 3) CIELAB of the colours
    _absorption: np.ndarray = field(init=False, repr=False, compare=False)  # (n, 3) 1 - rgb / 255
    _timbre: np.ndarray = field(init=False, repr=False, compare=False)  # (n,) index into TIMBRES
    _dilution_lab: np.ndarray = field(init=False, repr=False, compare=False)  # (steps + 1, n, 3) CIELAB float32

    def __post_init__(self) -> None:
        if not self.entries:
            raise PaletteError("palette", "expected at least one colour -> timbre pair, got none")
        if len(self.entries) > MAX_COLOURS:
            raise PaletteError("palette", f"{len(self.entries)} colours; a palette has at most {MAX_COLOURS}")
        entries: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for color, timbre in self.entries:
            where = f"palette.{timbre}" if isinstance(timbre, str) else "palette"
            if timbre not in TIMBRES:
                raise PaletteError(where, f"unknown timbre {timbre!r}; expected one of {', '.join(TIMBRES)}")
            color = _color(color, where)
            if color in seen:
                raise PaletteError(where, f"{color} is already the colour of {seen[color]}; a colour names one timbre")
            seen[color] = timbre
            entries.append((color, timbre))
        group = _group_order(entries)
        entries.sort(key=lambda e: group[e[1]])  # stable: the composer's order within a timbre
        rgb = np.array([parse_hex_color(c) for c, _ in entries], dtype=np.float64)
        object.__setattr__(self, "entries", tuple(entries))
        object.__setattr__(self, "_lab", srgb_to_lab(rgb))
        object.__setattr__(self, "_absorption", 1.0 - rgb / 255.0)
        object.__setattr__(self, "_timbre", np.array([TIMBRES.index(t) for _, t in entries]))
        coverage = np.linspace(0.0, 1.0, DILUTION_STEPS + 1)[:, None, None]
        dilution = srgb_to_lab(255.0 * (1.0 - coverage * self._absorption)).astype(np.float32)
        object.__setattr__(self, "_dilution_lab", dilution)
        for array in (self._lab, self._absorption, self._timbre, self._dilution_lab):
            array.setflags(write=False)

    # -- building and writing ---------------------------------------------------------------------

    @classmethod
    def default(cls) -> Palette:
        """The SPEC's eight colours, one per timbre, in TIMBRES order."""
        return cls(tuple((PALETTE_HEX[t], t) for t in TIMBRES))

    @classmethod
    def from_dict(cls, doc: Any, where: str = "palette") -> Palette:
        """{timbre: "#RRGGBB" | ["#RRGGBB", ...]} -> Palette; PaletteError naming the entry otherwise."""
        if not isinstance(doc, Mapping):
            raise PaletteError(where, f"expected each timbre mapped to its colours, e.g. {{\"flute\": [\"#1E90FF\"]}}, "
                                      f"got {_kind(doc)}")
        entries: list[tuple[str, str]] = []
        for timbre, colors in doc.items():
            here = f"{where}.{timbre}"
            if timbre not in TIMBRES:
                raise PaletteError(here, f"unknown timbre; expected one of {', '.join(TIMBRES)}")
            colors = [colors] if isinstance(colors, str) else colors
            if not isinstance(colors, list) or not colors:
                raise PaletteError(here, f"expected a colour \"#RRGGBB\" or a non-empty list of them, got {colors!r}")
            if len(entries) + len(colors) > MAX_COLOURS:  # checked before reading them: a file may hold millions
                raise PaletteError(where, f"more than {MAX_COLOURS} colours; a palette has at most {MAX_COLOURS}")
            entries.extend((_color(c, f"{here}[{i}]"), timbre) for i, c in enumerate(colors))
        try:
            return cls(tuple(entries))
        except PaletteError as exc:
            raise PaletteError(where if exc.where == "palette" else exc.where.replace("palette", where, 1),
                               exc.problem) from None

    def to_dict(self) -> dict[str, list[str]]:
        """The written form: {timbre: [colours]}, in the palette's order."""
        out: dict[str, list[str]] = {}
        for color, timbre in self.entries:
            out.setdefault(timbre, []).append(color)
        return out

    def with_color(self, color: str, timbre: str | None) -> Palette:
        """A copy where `color` names `timbre` (added at the end of that timbre's colours), or is removed
        (timbre None). Raises PaletteError for a bad colour, an unknown timbre or removing the last colour."""
        color = _color(color, "colour")
        kept = [(c, t) for c, t in self.entries if c != color]
        if timbre is None:
            if len(kept) == len(self.entries):
                raise PaletteError("colour", f"{color} is not in the palette")
            return Palette(tuple(kept))
        return Palette((*kept, (color, timbre)))

    @property
    def colors(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.entries)

    # -- the timbre of a colour -------------------------------------------------------------------

    def timbre_of(self, color: str) -> str:
        """The timbre of the nearest palette colour to '#RRGGBB'."""
        probs = self.probabilities(parse_hex_color(color))
        return TIMBRES[max(range(len(TIMBRES)), key=probs.__getitem__)]

    def probabilities(self, rgb: tuple[int, int, int]) -> tuple[float, ...]:
        """Per timbre (TIMBRES order), how well the colour (r, g, b) 0..255 fits it; sums to 1."""
        return _probabilities(self, tuple(int(v) for v in rgb))

    def ink_probabilities(self, image: np.ndarray) -> tuple[float, ...] | None:
        """Per timbre, the share of the ink of a uint8 (400, 400, 3) canvas it explains; None without ink."""
        absorption = 1.0 - flat_field(downsample(image, size_px=INK_GRID_PX))  # (100, 100, 3) float32
        strongest = np.maximum(np.maximum(absorption[..., 0], absorption[..., 1]), absorption[..., 2])
        ink = absorption[strongest > MIN_INK]  # (blocks with ink, 3); a reduction over axis 2 costs 10x more
        if not len(ink):
            return None
        codes = np.rint(ink * INK_LEVELS).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
        unique, counts = np.unique(codes, return_counts=True)  # a stroke's blocks repeat: few distinct ones
        blocks = np.stack([unique >> 16, (unique >> 8) & 255, unique & 255], axis=1) / INK_LEVELS  # (k, 3)
        alpha = self._coverage(blocks)  # (k, n)
        diluted = self._dilution_lab[np.rint(alpha * DILUTION_STEPS).astype(np.int64), np.arange(len(self.entries))]
        seen = srgb_to_lab(255.0 * (1.0 - blocks)).astype(np.float32)[:, None, :]
        distance = ciede2000(seen, diluted).astype(np.float64)  # (k, n); float32 inside: 3x faster
        distance = distance + REACH_PENALTY_DE * (1.0 - _reach(distance, alpha))
        best = np.argmin(distance, axis=1)
        weight = counts * alpha[np.arange(len(blocks)), best]  # each block's coverage by its best fit
        total = float(weight.sum())
        if total <= 0.0:
            return None
        return tuple(float(p) for p in weight @ _timbre_weights(distance, self._timbre) / total)

    def _coverage(self, blocks: np.ndarray) -> np.ndarray:
        """(k, n): for each block's absorption and each palette colour, the coverage 0..1 whose dilution of
        that colour comes nearest (least squares along the colour's ray from white)."""
        norm = (self._absorption**2).sum(axis=1)  # (n,); 0 for white, which only ever explains paper
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = np.where(norm > 0, (blocks @ self._absorption.T) / norm, 0.0)
        return np.clip(alpha, 0.0, 1.0)

    # -- predictions ----------------------------------------------------------------------------

    def apply(self, prediction: Prediction, image: np.ndarray, color: str | None = None) -> Prediction:
        """The model's prediction for `image` with the palette's timbre: of the pen colour `color` when one
        stroke is classified (a stroke voice), else of the image's ink (a whole canvas)."""
        if color is not None:
            return self.relabel(prediction, self.probabilities(parse_hex_color(color)))
        return self.relabel(prediction, self.ink_probabilities(image))

    def relabel(self, prediction: Prediction, p_timbre: Iterable[float] | None) -> Prediction:
        """The prediction with its timbre head replaced by `p_timbre` (unchanged when None: no ink)."""
        if p_timbre is None:
            return prediction
        p_timbre = tuple(p_timbre)
        best = max(range(len(TIMBRES)), key=p_timbre.__getitem__)
        labels = Labels(prediction.labels.pitch, prediction.labels.volume, TIMBRES[best])
        return Prediction(labels, prediction.p_pitch, prediction.p_volume, p_timbre)


def _group_order(entries: list[tuple[str, str]]) -> dict[str, int]:
    """Timbre -> the place of its first colour, so a palette lists each timbre's colours together."""
    order: dict[str, int] = {}
    for _, timbre in entries:
        order.setdefault(timbre, len(order))
    return order


@functools.lru_cache(maxsize=4096)
def _probabilities(palette: Palette, rgb: tuple[int, int, int]) -> tuple[float, ...]:
    lab = srgb_to_lab(np.array(rgb, dtype=np.float64))
    weights = _timbre_weights(ciede2000(lab[None, :], palette._lab)[None, :], palette._timbre)[0]
    return tuple(float(p) for p in weights)


def _reach(distance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(n,): per palette colour, the highest coverage among the blocks it explains about as well as the best
    colour does. A colour whose ink never reaches full strength is more likely a paler colour on its ray."""
    fits = distance <= distance.min(axis=1, keepdims=True) + CONFIDENCE_SCALE_DE
    reach: np.ndarray = np.where(fits, alpha, 0.0).max(axis=0)
    return reach


def _timbre_weights(distance: np.ndarray, timbre_of_color: np.ndarray) -> np.ndarray:
    """(k, n) ΔE00 to each palette colour -> (k, 8) soft assignment to the timbres (rows sum to 1)."""
    per_timbre = np.full((distance.shape[0], len(TIMBRES)), np.inf)
    for t in np.unique(timbre_of_color):
        per_timbre[:, t] = distance[:, timbre_of_color == t].min(axis=1)
    nearest = per_timbre.min(axis=1, keepdims=True)
    weights = np.exp(-(per_timbre - nearest) / CONFIDENCE_SCALE_DE)  # exp(-inf) = 0: timbres without a colour
    shares: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return shares


def _color(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise PaletteError(where, f"expected a colour as \"#RRGGBB\", got {value!r}")
    try:
        return format_hex_color(parse_hex_color(value))
    except LabelError:
        raise PaletteError(where, f"expected a colour as \"#RRGGBB\", got {value!r}") from None


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


# -- colour science: sRGB (D65) -> CIELAB, and the CIEDE2000 difference ------------------------------------

_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_EPSILON = (6.0 / 29.0) ** 3


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB 0..255, shape (..., 3) -> CIELAB (L* 0..100, a*, b*), shape (..., 3), D65 white."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ (_SRGB_TO_XYZ / _WHITE_D65[:, None]).T
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), xyz / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
                    axis=-1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of two CIELAB arrays (broadcast over their leading axes; kL = kC = kH = 1).

    Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula: implementation notes, supplementary test
    data, and mathematical observations", Color Research & Application 30(1), 2005. Angles in radians.
    Computed in float32 when both arrays are float32 (three times faster, within 1e-4 ΔE), else float64."""
    dtype = np.result_type(np.asarray(lab1).dtype, np.asarray(lab2).dtype, np.float32)
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=dtype), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=dtype), -1, 0)
    c7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0) ** 7
    g = 1.5 - 0.5 * np.sqrt(c7 / (c7 + _25_POW_7))  # 1 + G
    a1p, a2p = g * a1, g * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.arctan2(b1, a1p) % _TAU, np.arctan2(b2, a2p) % _TAU
    chroma_product = c1p * c2p
    achromatic = chroma_product == 0.0
    dh = h2p - h1p
    dh = np.where(dh > np.pi, dh - _TAU, np.where(dh < -np.pi, dh + _TAU, dh))
    dhh = np.where(achromatic, 0.0, 2.0 * np.sqrt(chroma_product) * np.sin(dh / 2.0))
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) <= np.pi, h_sum, np.where(h_sum < _TAU, h_sum + _TAU, h_sum - _TAU)) / 2.0
    h_mean = np.where(achromatic, h_sum, h_mean)
    t = (1.0 - 0.17 * np.cos(h_mean - _DEG30) + 0.24 * np.cos(2.0 * h_mean)
         + 0.32 * np.cos(3.0 * h_mean + _DEG6) - 0.20 * np.cos(4.0 * h_mean - _DEG63))
    lightness = ((L1 + L2) / 2.0 - 50.0) ** 2
    cp_mean = (c1p + c2p) / 2.0
    cp7 = cp_mean**7
    rotation = -np.sin(_DEG60 * np.exp(-(((h_mean - _DEG275) / _DEG25) ** 2))) * 2.0 * np.sqrt(cp7 / (cp7 + _25_POW_7))
    dl = (L2 - L1) / (1.0 + 0.015 * lightness / np.sqrt(20.0 + lightness))
    dc = (c2p - c1p) / (1.0 + 0.045 * cp_mean)
    dhh = dhh / (1.0 + 0.015 * cp_mean * t)
    delta_e: np.ndarray = np.sqrt(dl**2 + dc**2 + dhh**2 + rotation * dc * dhh)
    return delta_e


_TAU = 2.0 * np.pi
_25_POW_7 = 25.0**7
_DEG6, _DEG25, _DEG30, _DEG60, _DEG63, _DEG275 = (math.radians(d) for d in (6.0, 25.0, 30.0, 60.0, 63.0, 275.0))


def delta_e(color1: str, color2: str) -> float:
    """ΔE00 between two '#RRGGBB' colours."""
    labs = srgb_to_lab(np.array([parse_hex_color(color1), parse_hex_color(color2)], dtype=np.float64))
    value = float(ciede2000(labs[0], labs[1]))
    return 0.0 if math.isclose(value, 0.0, abs_tol=1e-12) else value
