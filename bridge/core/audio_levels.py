"""Pure sound-level and pitch helpers (numpy only): dBFS, MIDI <-> Hz, the pitch folding rule,
the SPEC §3 gain scheme and the level rule that turns measured levels into a volume class.
"""

from __future__ import annotations

import math

import numpy as np

from bridge.core.labels import PITCHES, VOLUMES

SILENCE_DBFS = -120.0  # floor for the log of a zero level
FULL_SCALE = 0.999  # a sample at or above this magnitude counts as clipped (16-bit max is 0.99997)

# SPEC §3: low = med - 22 dB, high = med + 10 dB clipped at full scale.
GAIN_DB: dict[str, float] = {"low": -22.0, "med": 0.0, "high": 10.0}

# The DSP volume rule (thresholds checked on the NSynth training notes and the rendered GM notes by
# `train-sound`, see dsp_calibration in models/sound/sound_cnn.json): a file that saturates (two or more
# samples at full scale: one can be plain peak normalisation) or is louder than any `med` note is `high`;
# a file whose peak stays well below full scale is `low` (NSynth: low peaks <= -22 dBFS, med >= -7.5 dBFS);
# the rest is `med`.
LOW_PEAK_BELOW_DBFS = -15.0
HIGH_MIN_CLIPPED_SAMPLES = 2
HIGH_RMS_ABOVE_DBFS = -4.0
LEVEL_SOFTNESS_DB = 2.0  # width of the logistic that turns a margin in dB into a confidence


def gain_to_db(gain: float | np.ndarray) -> float | np.ndarray:
    """Amplitude ratio -> dB (floored at SILENCE_DBFS)."""
    value = 20.0 * np.log10(np.maximum(np.abs(gain), 10 ** (SILENCE_DBFS / 20)))
    return float(value) if np.ndim(value) == 0 else value


def db_to_gain(db: float) -> float:
    return math.pow(10.0, db / 20.0)


def hz_to_midi(frequency_hz: float) -> float:
    """Fractional MIDI note of a frequency (A4 = 440 Hz = 69)."""
    if not frequency_hz > 0:
        raise ValueError(f"frequency must be > 0 Hz, got {frequency_hz}")
    return 69.0 + 12.0 * math.log2(frequency_hz / 440.0)


def midi_to_hz(midi_note: float) -> float:
    return 440.0 * math.pow(2.0, (midi_note - 69.0) / 12.0)


def fold_pitch(midi_note: float) -> int:
    """The pitch class used for matching: nearest semitone, folded by octaves into 69..80.

    A note keeps its pitch class (C3 -> C5 = 72, A1 -> A4 = 69); notes inside 69..80 are unchanged.
    """
    note = math.floor(midi_note + 0.5)
    low = PITCHES[0]
    return low + (note - low) % len(PITCHES)


def apply_gain_scheme(audio: np.ndarray, volume: str) -> np.ndarray:
    """SPEC §3: the `med` audio scaled to `volume` (float32, clipped at full scale)."""
    if volume not in GAIN_DB:
        raise ValueError(f"volume must be one of {', '.join(VOLUMES)}, got {volume!r}")
    out: np.ndarray = np.asarray(audio, dtype=np.float32) * np.float32(db_to_gain(GAIN_DB[volume]))
    return np.clip(out, -1.0, 1.0, out=out)


def level_descriptors(audio: np.ndarray) -> dict[str, float]:
    """RMS and peak in dBFS and clipping of audio ((frames,) or (frames, channels), float, full scale 1.0).

    clipped_samples counts the frames where any channel is at full scale; clip_fraction is their share.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.size == 0:
        return {"rms_dbfs": SILENCE_DBFS, "peak_dbfs": SILENCE_DBFS, "clip_fraction": 0.0, "clipped_samples": 0}
    mags = np.abs(x)
    full = mags >= FULL_SCALE
    clipped = int(np.count_nonzero(full.any(axis=1) if full.ndim == 2 else full))
    rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64))))
    return {
        "rms_dbfs": float(gain_to_db(rms)),
        "peak_dbfs": float(gain_to_db(float(mags.max()))),
        "clip_fraction": clipped / x.shape[0],
        "clipped_samples": clipped,
    }


def _confidence(margin_db: float) -> float:
    """A margin in dB past a threshold -> 0.5 (on it) .. 1.0 (far past it)."""
    return 1.0 / (1.0 + math.exp(-max(margin_db, 0.0) / LEVEL_SOFTNESS_DB))


def volume_from_levels(*, rms_dbfs: float, peak_dbfs: float, clipped_samples: int) -> tuple[str, float]:
    """The DSP volume rule -> (class, confidence 0.5..1 from the margin in dB to the nearest threshold)."""
    # Clipping margin in dB of sample count: 1.5 samples (between one and two) is the threshold.
    clip_margin_db = 10.0 * math.log10(max(clipped_samples, 0.1) / (HIGH_MIN_CLIPPED_SAMPLES - 0.5))
    rms_margin_db = rms_dbfs - HIGH_RMS_ABOVE_DBFS
    if clipped_samples >= HIGH_MIN_CLIPPED_SAMPLES or rms_dbfs > HIGH_RMS_ABOVE_DBFS:
        return "high", _confidence(max(clip_margin_db, rms_margin_db))
    low_margin_db = LOW_PEAK_BELOW_DBFS - peak_dbfs
    if low_margin_db > 0:
        return "low", _confidence(low_margin_db)
    return "med", _confidence(min(-low_margin_db, -clip_margin_db, -rms_margin_db))
