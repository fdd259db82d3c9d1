"""The sound bank as the matcher sees it: labelled samples and their label indices as arrays.

A sample's register is the octave its real note lies in, counted like the canvas's bands: register N holds
the notes A{N}..G#{N+1}, so the canvas's own bands (MIDI 69..80, A4..G#5) are register 4 and a C3 (MIDI 48)
is register 2. The matcher prefers samples in a chosen register (bridge.core.matching).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bridge.core.errors import LabelError
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES, Labels, note_name

CANVAS_REGISTER = 4  # the canvas's bands, A4..G#5
REGISTERS: tuple[int, ...] = tuple(range(0, 9))  # A0..G#1 (MIDI 21..32) up to A8..G#9 (MIDI 117..128)


def register_of(midi_note: float) -> int:
    """The register of a (fractional) MIDI note: its nearest semitone's octave, counted from A."""
    return CANVAS_REGISTER + (math.floor(midi_note + 0.5) - PITCHES[0]) // len(PITCHES)


def register_name(register: int) -> str:
    """'A3..G#4' for register 3."""
    shift = (register - CANVAS_REGISTER) * len(PITCHES)
    return f"{note_name(PITCHES[0] + shift)}..{note_name(PITCHES[-1] + shift)}"


def check_register(value: object) -> int:
    """A register chosen by a control: an int in REGISTERS; LabelError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in REGISTERS:
        raise LabelError(f"register must be a whole number {REGISTERS[0]}..{REGISTERS[-1]} "
                         f"({register_name(REGISTERS[0])} .. {register_name(REGISTERS[-1])}; "
                         f"the canvas's own is {CANVAS_REGISTER}), got {value!r}")
    return value


@dataclass(frozen=True)
class Sample:
    """One labelled sound of a bank.

    path: absolute path of the audio file.
    labels: the three labels used for matching (pitch already mapped into 69..80).
    confidence: per head, how sure the labelling was (1.0 when the labels come from how it was made).
    midi_note: the estimated fundamental as a (fractional) MIDI note, kept even outside 69..80.
    pitched: False for a sound without a definite pitch (drums, noise, most effects): its pitch label is
    then only the model's guess, and the matcher lets it answer any pitch.
    """

    path: str
    labels: Labels
    confidence: dict[str, float] = field(default_factory=lambda: {"pitch": 1.0, "volume": 1.0, "timbre": 1.0})
    midi_note: float | None = None
    pitched: bool = True

    @property
    def register(self) -> int:
        """The octave of its real note (of its pitch label when no note was estimated)."""
        return register_of(self.midi_note if self.midi_note is not None else self.labels.pitch)


@dataclass(frozen=True)
class SoundBank:
    """An immutable, ordered collection of samples; `version` identifies its content (index hash)."""

    samples: tuple[Sample, ...]
    version: str = "unversioned"

    def __post_init__(self) -> None:
        pitch = np.array([s.labels.pitch - PITCHES[0] for s in self.samples], dtype=np.int16)
        volume = np.array([VOLUMES.index(s.labels.volume) for s in self.samples], dtype=np.int16)
        timbre = np.array([TIMBRES.index(s.labels.timbre) for s in self.samples], dtype=np.int16)
        register = np.array([s.register for s in self.samples], dtype=np.int16)
        pitched = np.array([s.pitched for s in self.samples], dtype=bool)
        for name, arr in (("pitch_index", pitch), ("volume_index", volume), ("timbre_index", timbre),
                          ("register_index", register), ("pitched", pitched)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # Declared for type checkers; set in __post_init__ (shape (n,), read-only): label indices and registers
    # int16, pitched bool.
    pitch_index: np.ndarray = field(init=False, repr=False, compare=False)
    volume_index: np.ndarray = field(init=False, repr=False, compare=False)
    timbre_index: np.ndarray = field(init=False, repr=False, compare=False)
    register_index: np.ndarray = field(init=False, repr=False, compare=False)
    pitched: np.ndarray = field(init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class Match:
    """The matcher's answer: the chosen sample, its score in 0..1 (1 = exact match on every label
    with full confidence) and the next-best alternatives as (sample, score), best first."""

    sample: Sample
    score: float
    alternatives: tuple[tuple[Sample, float], ...] = ()
