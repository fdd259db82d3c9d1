"""The sound bank as the matcher sees it: labelled samples and their label indices as arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bridge.core.labels import PITCHES, TIMBRES, VOLUMES, Labels


@dataclass(frozen=True)
class Sample:
    """One labelled sound of a bank.

    path: absolute path of the audio file.
    labels: the three labels used for matching (pitch already mapped into 69..80).
    confidence: per head, how sure the labelling was (1.0 when the labels come from how it was made).
    midi_note: the estimated fundamental as a (fractional) MIDI note, kept even outside 69..80.
    """

    path: str
    labels: Labels
    confidence: dict[str, float] = field(default_factory=lambda: {"pitch": 1.0, "volume": 1.0, "timbre": 1.0})
    midi_note: float | None = None


@dataclass(frozen=True)
class SoundBank:
    """An immutable, ordered collection of samples; `version` identifies its content (index hash)."""

    samples: tuple[Sample, ...]
    version: str = "unversioned"

    def __post_init__(self) -> None:
        pitch = np.array([s.labels.pitch - PITCHES[0] for s in self.samples], dtype=np.int16)
        volume = np.array([VOLUMES.index(s.labels.volume) for s in self.samples], dtype=np.int16)
        timbre = np.array([TIMBRES.index(s.labels.timbre) for s in self.samples], dtype=np.int16)
        for name, arr in (("pitch_index", pitch), ("volume_index", volume), ("timbre_index", timbre)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # Declared for type checkers; set in __post_init__ (shape (n,), int16, read-only).
    pitch_index: np.ndarray = field(init=False, repr=False, compare=False)
    volume_index: np.ndarray = field(init=False, repr=False, compare=False)
    timbre_index: np.ndarray = field(init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class Match:
    """The matcher's answer: the chosen sample, its score in 0..1 (1 = exact match on every label
    with full confidence) and the next-best alternatives as (sample, score), best first."""

    sample: Sample
    score: float
    alternatives: tuple[tuple[Sample, float], ...] = ()
