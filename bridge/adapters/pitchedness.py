"""Is a sound pitched? DSP evidence from the preprocessing (YIN frames and the power spectrogram) and a
logistic score over it; drums, noise and most effects come out unpitched.

Four measurements, each in 0..1 or dB (docs/soundbank.md, "Unpitched sounds"):

- harmonicity: the share of the loud frames' power (from half the f0 up) within 3 % (at least 2 FFT
  bins) of a multiple of the f0; 0 when YIN found no f0. A note's partials sit on its harmonics; noise
  spreads, a drum's modes are inharmonic.
- periodic_share: the RMS share of the voting YIN frames that are periodic (YIN's normalised difference
  below 0.3 at the chosen period), inside YIN's range (not stuck at its shortest period, where noise,
  clicks and DC land) and in the winning pitch class.
- decay_db: how far the level falls in the 0.5 s after the loudest frame (capped at 60 dB): drums and
  clicks die away, most notes are held.
- peakiness: the share of the loud frames' power in the 12 strongest spectral peaks (3 bins each).

score = BIAS + sum(weight x measurement), unpitched when score > UNPITCHED_ABOVE. The weights were fitted
(logistic regression) on FluidR3_GM renders: channel-10 drum kits, GM effects programs, GM melodic notes
over MIDI 36..96; the threshold favours precision (a pitched note taken for a drum would answer every
pitch band). Measured on sounds never used for the fit (TimGM6mb renders, NSynth, generated noise,
clicks and DC offsets) in docs/soundbank.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERIODIC_BELOW = 0.3  # YIN normalised difference of a periodic frame
TOP_DB = 25.0  # frames this far below the loudest frame do not count
HARMONIC_TOLERANCE = 0.03  # of the harmonic's frequency ...
HARMONIC_MIN_BINS = 2.0  # ... and at least this many FFT bins either side
DECAY_SECONDS = 0.5
DECAY_CAP_DB = 60.0
PEAKS = 12
WEIGHTS = {"harmonicity": -4.57, "decay_db": 0.095, "periodic_share": -5.84, "peakiness": -1.51}
BIAS = 6.95
UNPITCHED_ABOVE = 2.0


@dataclass(frozen=True)
class PitchEvidence:
    harmonicity: float
    periodic_share: float
    decay_db: float
    peakiness: float

    def score(self) -> float:
        """The logistic score: > UNPITCHED_ABOVE is unpitched."""
        return BIAS + sum(weight * getattr(self, name) for name, weight in WEIGHTS.items())

    @property
    def pitched(self) -> bool:
        return self.score() <= UNPITCHED_ABOVE

    def record(self) -> dict[str, float]:
        """For the index: the measurements and the score, rounded."""
        return {**{name: round(getattr(self, name), 4) for name in WEIGHTS}, "score": round(self.score(), 3)}


def evidence(*, f0_hz: float | None, frame_f0_hz: np.ndarray, frame_rms: np.ndarray, frame_aperiodicity: np.ndarray,
             f0_max_hz: float, power: np.ndarray, bin_hz: float, hop_s: float) -> PitchEvidence:
    """The measurements of one sound: its voted f0 (None: no f0), the YIN frames that voted (f0 in Hz,
    RMS, normalised difference at the chosen period) and its power spectrogram (frames, bins)."""
    energy_db = 10 * np.log10(power.sum(axis=1) + 1e-20)
    spectrum = power[energy_db >= energy_db.max() - TOP_DB].sum(axis=0).astype(np.float64)
    return PitchEvidence(
        harmonicity=_harmonicity(spectrum, f0_hz, bin_hz),
        periodic_share=_periodic_share(frame_f0_hz, frame_rms, frame_aperiodicity, f0_max_hz),
        decay_db=_decay_db(energy_db, hop_s),
        peakiness=_peakiness(spectrum),
    )


def _harmonicity(spectrum: np.ndarray, f0_hz: float | None, bin_hz: float) -> float:
    if f0_hz is None:
        return 0.0
    freqs = np.arange(spectrum.size) * bin_hz
    k = np.round(freqs / f0_hz)
    tolerance = np.maximum(HARMONIC_MIN_BINS * bin_hz, HARMONIC_TOLERANCE * k * f0_hz)
    near = (k >= 1) & (np.abs(freqs - k * f0_hz) <= tolerance)
    total = spectrum[freqs >= 0.5 * f0_hz].sum()
    return float(spectrum[near].sum() / total) if total > 0 else 0.0


def _periodic_share(f0_hz: np.ndarray, rms: np.ndarray, aperiodicity: np.ndarray, f0_max_hz: float) -> float:
    if not rms.size or rms.sum() <= 0:
        return 0.0
    classes = np.mod(np.round(69.0 + 12.0 * np.log2(f0_hz / 440.0)).astype(np.int64), 12)
    winner = int(np.argmax(np.bincount(classes, weights=rms, minlength=12)))
    periodic = (classes == winner) & (aperiodicity < PERIODIC_BELOW) & (f0_hz < 0.975 * f0_max_hz)
    return float(rms[periodic].sum() / rms.sum())


def _decay_db(energy_db: np.ndarray, hop_s: float) -> float:
    top = int(np.argmax(energy_db))
    later = min(top + round(DECAY_SECONDS / hop_s), energy_db.size - 1)
    return float(min(energy_db[top] - energy_db[later], DECAY_CAP_DB))


def _peakiness(spectrum: np.ndarray) -> float:
    total = spectrum.sum()
    if total <= 0 or spectrum.size < 3:
        return 0.0
    inner = spectrum[1:-1]
    peaks = np.flatnonzero((inner > spectrum[:-2]) & (inner >= spectrum[2:])) + 1
    mass = np.sort(spectrum[peaks - 1] + spectrum[peaks] + spectrum[peaks + 1])[::-1][:PEAKS]
    return float(mass.sum() / total)
