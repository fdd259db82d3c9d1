"""The label space of SPEC §1-2 as data: classes, palette, pitch bands and thickness rules.

Everything that names a pitch, volume or timbre class goes through this module, so the README
tables, the models' metadata and the OSC patches can be checked against one source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bridge.core.errors import LabelError

PITCHES: tuple[int, ...] = tuple(range(69, 81))  # MIDI notes A4..G#5, index = note - 69
VOLUMES: tuple[str, ...] = ("low", "med", "high")
TIMBRES: tuple[str, ...] = ("brass", "guitar", "keyboard", "organ", "string", "vocal", "flute", "reed")
HEADS: tuple[str, ...] = ("pitch", "volume", "timbre")
CLASSES: dict[str, tuple[Any, ...]] = {"pitch": PITCHES, "volume": VOLUMES, "timbre": TIMBRES}

CANVAS_SIZE_PX = 400
BAND_HEIGHT_PX = 33
GRID_STEP_PX = 33
GRID_RGB = (220, 220, 220)
BACKGROUND_RGB = (255, 255, 255)
PEN_WIDTH_RANGE_PX = (1.0, 30.0)
LOW_BELOW_PX = 10.0  # low < 10 px <= med <= 20 px < high
HIGH_ABOVE_PX = 20.0

# Default palette (SPEC §2), in TIMBRES order.
PALETTE_HEX: dict[str, str] = {
    "brass": "#E6A700",
    "guitar": "#8B4513",
    "keyboard": "#000000",
    "organ": "#6A0DAD",
    "string": "#D00000",
    "vocal": "#FF69B4",
    "flute": "#1E90FF",
    "reed": "#228B22",
}
DEFAULT_PEN_HEX = PALETTE_HEX["keyboard"]

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi_note: int) -> str:
    """'A4' for 69, 'G#5' for 80."""
    return f"{NOTE_NAMES[midi_note % 12]}{midi_note // 12 - 1}"


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """'#RRGGBB' (or 'RRGGBB') -> (r, g, b); raises LabelError on anything else."""
    digits = text[1:] if text.startswith("#") else text
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise LabelError(f"expected a colour as '#RRGGBB', got {text!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def format_hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


PALETTE_RGB: dict[str, tuple[int, int, int]] = {t: parse_hex_color(h) for t, h in PALETTE_HEX.items()}


def band_for_y(y_px: float) -> int:
    """Pitch band from the top: floor(y / 33), clamped to 0..11."""
    return min(max(math.floor(y_px / BAND_HEIGHT_PX), 0), len(PITCHES) - 1)


def pitch_for_band(band: int) -> int:
    """Band 0 (top) is MIDI note 80, band 11 (bottom) is note 69."""
    if not 0 <= band < len(PITCHES):
        raise LabelError(f"pitch band must be 0..{len(PITCHES) - 1}, got {band}")
    return PITCHES[-1] - band


def pitch_for_y(y_px: float) -> int:
    return pitch_for_band(band_for_y(y_px))


def band_center_y(midi_note: int) -> float:
    """Vertical centre of the band of a note on the 400 px canvas."""
    band = PITCHES[-1] - check_pitch(midi_note)
    return band * BAND_HEIGHT_PX + BAND_HEIGHT_PX / 2


def volume_for_width(width_px: float) -> str:
    """SPEC §2: low < 10 px, med 10..20 px, high > 20 px."""
    if width_px < LOW_BELOW_PX:
        return "low"
    if width_px <= HIGH_ABOVE_PX:
        return "med"
    return "high"


def timbre_for_rgb(rgb: tuple[int, int, int], palette: dict[str, tuple[int, int, int]] | None = None) -> str:
    """Timbre of the nearest palette colour (Euclidean distance in RGB; ties go to TIMBRES order)."""
    palette = palette or PALETTE_RGB
    return min(palette, key=lambda t: (sum((a - b) ** 2 for a, b in zip(rgb, palette[t])), TIMBRES.index(t)))


def timbre_for_color(color_hex: str) -> str:
    return timbre_for_rgb(parse_hex_color(color_hex))


def check_pitch(midi_note: int) -> int:
    if not isinstance(midi_note, int) or isinstance(midi_note, bool) or midi_note not in PITCHES:
        raise LabelError(f"pitch must be a MIDI note {PITCHES[0]}..{PITCHES[-1]}, got {midi_note!r}")
    return midi_note


def check_class(head: str, value: object) -> object:
    if head == "pitch":
        return check_pitch(value)  # type: ignore[arg-type]
    if head not in CLASSES:
        raise LabelError(f"unknown label {head!r}; expected one of {', '.join(HEADS)}")
    if value not in CLASSES[head]:
        raise LabelError(f"{head} must be one of {', '.join(CLASSES[head])}, got {value!r}")
    return value


def class_index(head: str, value: object) -> int:
    return CLASSES[head].index(check_class(head, value))


@dataclass(frozen=True)
class Labels:
    """One point of the label space: a MIDI note, a volume class and a timbre class."""

    pitch: int
    volume: str
    timbre: str

    def __post_init__(self) -> None:
        check_pitch(self.pitch)
        check_class("volume", self.volume)
        check_class("timbre", self.timbre)

    def as_dict(self) -> dict[str, object]:
        return {"pitch": self.pitch, "volume": self.volume, "timbre": self.timbre}


@dataclass(frozen=True)
class Prediction:
    """Labels with the classifier's probability vectors (one per head, in CLASSES order)."""

    labels: Labels
    p_pitch: tuple[float, ...]
    p_volume: tuple[float, ...]
    p_timbre: tuple[float, ...]

    def __post_init__(self) -> None:
        for head, probs in zip(HEADS, (self.p_pitch, self.p_volume, self.p_timbre), strict=True):
            if len(probs) != len(CLASSES[head]):
                raise LabelError(f"p_{head} needs {len(CLASSES[head])} probabilities, got {len(probs)}")
            if not all(map(math.isfinite, probs)):
                raise LabelError(f"p_{head} has a non-finite probability: {probs}")

    @classmethod
    def from_probabilities(cls, p_pitch: Iterable[float], p_volume: Iterable[float],
                           p_timbre: Iterable[float]) -> Prediction:
        """Build from three probability sequences; the labels are their argmax."""
        vectors = [tuple(v.astype(float).tolist()) if isinstance(v, np.ndarray) else tuple(float(p) for p in v)
                   for v in (p_pitch, p_volume, p_timbre)]
        best = [v.index(max(v)) for v in vectors]  # the first of equal maxima
        labels = Labels(PITCHES[best[0]], VOLUMES[best[1]], TIMBRES[best[2]])
        return cls(labels, *vectors)

    def confidence(self, head: str) -> float:
        """Probability of the chosen class of one head."""
        value = getattr(self.labels, head)
        probs: tuple[float, ...] = getattr(self, f"p_{head}")
        return probs[CLASSES[head].index(value)]

    def confidences(self) -> dict[str, float]:
        return {head: self.confidence(head) for head in HEADS}


@dataclass(frozen=True)
class Overrides:
    """Labels forced by a controller; None means 'use the classifier's label'."""

    pitch: int | None = None
    volume: str | None = None
    timbre: str | None = None

    def __post_init__(self) -> None:
        for head in HEADS:
            value = getattr(self, head)
            if value is not None:
                check_class(head, value)

    def set(self, head: str, value: object) -> Overrides:
        """A copy with one head overridden (value None releases it)."""
        if head not in HEADS:
            raise LabelError(f"unknown label {head!r}; expected one of {', '.join(HEADS)}")
        fields = {h: getattr(self, h) for h in HEADS}
        fields[head] = value
        return Overrides(**fields)

    def active(self) -> dict[str, object]:
        return {h: getattr(self, h) for h in HEADS if getattr(self, h) is not None}

    def apply(self, labels: Labels) -> Labels:
        """The labels with every overridden head replaced."""
        return Labels(
            self.pitch if self.pitch is not None else labels.pitch,
            self.volume or labels.volume,
            self.timbre or labels.timbre,
        )


NO_OVERRIDES = Overrides()
