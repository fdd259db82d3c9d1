"""Labels sounds from their `SoundFeatures`: the committed mel-spectrogram CNN (LiteRT, batched) and the
DSP estimates (YIN pitch checked against the spectrum, level rule for volume); the model's metadata
says which method is the default for each label (the one measured more accurate by `train-sound`).

Pitch takes a second opinion where YIN can go wrong: an f0 with no energy at it in the spectrum is a
subharmonic (YIN locked onto a multiple of the period) and moves up to the first harmonic that sounds;
a pitch YIN is unsure of (its frames split their vote) that the CNN confidently contradicts takes the
CNN's pitch class.

Loading checks the model folder (bridge.adapters.litert_model): a missing, broken or mismatched model
or metadata file is refused with one ModelError that names the file and says how to retrain.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.adapters.audio_features import (
    DB_PER_UNIT,
    INPUT_SHAPE,
    LOG_MEL_FLOOR,
    PREPROCESSING_VERSION,
    SoundFeatures,
)
from bridge.adapters.litert_model import LiteRTRunner, ModelFiles, ModelSpec, get_field, load_model_files
from bridge.adapters.resources import models_dir
from bridge.core.audio_levels import fold_pitch, hz_to_midi, midi_to_hz, volume_from_levels
from bridge.core.labels import CLASSES, HEADS

log = logging.getLogger(__name__)

MODEL_DIR = models_dir() / "sound"
MODEL_FILE = "sound_cnn.tflite"
METADATA_FILE = "sound_cnn.json"
METHODS: dict[str, tuple[str, ...]] = {"pitch": ("cnn", "dsp"), "volume": ("cnn", "dsp"), "timbre": ("cnn",)}
BATCH = 32
# The CNN's probabilities are the mean over the note as prepared and delayed by these many log-mel frames
# (20 ms each; the training shifts notes by 0..3 frames): each view errs on other unheard instruments.
TIME_SHIFTS: tuple[int, ...] = (0, 2, 4)

# The pitch's second opinion (thresholds read off YIN's misses on the held-out GM programs and NSynth
# train; measured by `train-sound`, docs/soundbank.md "Measured accuracy").
LOUD_FRAMES_DB = 20.0  # the spectrum is the median of the frames within this of the loudest frame
SUBHARMONIC_BELOW_PEAK_DB = 40.0  # nothing sounds at an f0 this far below the spectrum's loudest band
HARMONIC_WITHIN_PEAK_DB = 30.0  # ... and the pitch is its first multiple that sounds within this of it
MAX_MULTIPLE = 6
UNSURE_BELOW_STABILITY = 0.7  # YIN's frames split their vote: the CNN may overrule ...
CNN_SURE_ABOVE = 0.8  # ... when it is this sure of another pitch class
RETRAIN_COMMAND = "python run_bridge.py train-sound"

SPEC = ModelSpec(
    name="sound model",
    model_file=MODEL_FILE,
    metadata_file=METADATA_FILE,
    retrain=RETRAIN_COMMAND,
    preprocessing_version=PREPROCESSING_VERSION,
    shape_key=("input_shape",),
    shape_ok=lambda shape: tuple(shape) == INPUT_SHAPE,  # the log-mel shape this code makes
    shape_expected=f"{list(INPUT_SHAPE)} (what bridge.adapters.audio_features makes)",
    sha256_required=True,  # train-sound writes it (bridge/training/sound_train.py)
)


@dataclass(frozen=True)
class SoundLabels:
    """The labels of one sound. `methods` says which method gave each label; `cnn` and `dsp` keep both
    methods' answers (class and confidence) for the record."""

    pitch: int
    volume: str
    timbre: str
    confidence: dict[str, float]
    methods: dict[str, str]
    cnn: dict[str, tuple[object, float]] = field(default_factory=dict)
    dsp: dict[str, tuple[object, float]] = field(default_factory=dict)
    midi_note: float | None = None  # the pitch estimate, unfolded (after the second opinion)
    f0_hz: float | None = None


@functools.cache
def _band_mels() -> np.ndarray:
    """The centre of each log-mel band, in mels (the Slaney scale the filter bank is built on)."""
    from bridge.adapters.audio_features import FMAX_HZ, FMIN_HZ, N_MELS, hz_to_mel

    low, high = hz_to_mel(np.array([FMIN_HZ, FMAX_HZ]))
    return np.linspace(low, high, N_MELS + 2)[1:-1]


def spectrum_db(log_mel: np.ndarray) -> np.ndarray:
    """(N_MELS,) dB: per band, the median over the loud frames (within LOUD_FRAMES_DB of the loudest)."""
    db = log_mel * DB_PER_UNIT
    frames = db.max(axis=0)
    return np.median(db[:, frames >= frames.max() - LOUD_FRAMES_DB], axis=1)


def _level_at(spectrum: np.ndarray, hz: float) -> float:
    """The spectrum's level at a frequency (interpolated between band centres; -inf above the top band)."""
    from bridge.adapters.audio_features import hz_to_mel

    mels = _band_mels()
    mel = float(hz_to_mel(np.array([hz], np.float64))[0])
    return -math.inf if mel > mels[-1] else float(np.interp(mel, mels, spectrum))


def checked_midi_note(features: SoundFeatures) -> float | None:
    """YIN's note, moved up to the first multiple of its f0 that sounds when nothing sounds at the f0
    itself (YIN locked onto a subharmonic: a period two or three times the real one)."""
    if features.midi_note is None:
        return None
    spectrum = spectrum_db(features.log_mel)
    top, f0 = float(spectrum.max()), midi_to_hz(features.midi_note)
    if _level_at(spectrum, f0) >= top - SUBHARMONIC_BELOW_PEAK_DB:
        return features.midi_note
    for k in range(2, MAX_MULTIPLE + 1):
        if _level_at(spectrum, k * f0) >= top - HARMONIC_WITHIN_PEAK_DB:
            return hz_to_midi(k * f0)
    return features.midi_note


def dsp_pitch(features: SoundFeatures) -> tuple[int, float] | None:
    """The checked YIN note folded into 69..80 and YIN's stability; None when no f0 was found."""
    midi = checked_midi_note(features)
    return None if midi is None else (fold_pitch(midi), features.pitch_stability)


@dataclass(frozen=True)
class PitchEstimate:
    pitch: int  # folded into 69..80
    confidence: float
    method: str  # "dsp" or "cnn"
    midi_note: float | None  # unfolded


def estimate_pitch(midi: float | None, stability: float, cnn_probs: np.ndarray) -> PitchEstimate:
    """The checked YIN note (`checked_midi_note`) and its stability, or the CNN's pitch class where YIN
    is unsure and the CNN sure of another class (the note then stays in YIN's register), or the CNN's
    class alone when YIN found no f0."""
    cnn_class = CLASSES["pitch"][int(np.argmax(cnn_probs))]
    cnn_confidence = float(np.max(cnn_probs))
    if midi is None:
        return PitchEstimate(cnn_class, cnn_confidence, "cnn", None)
    if stability < UNSURE_BELOW_STABILITY and cnn_confidence >= CNN_SURE_ABOVE and fold_pitch(midi) != cnn_class:
        nearest = round(midi) + (cnn_class - fold_pitch(midi) + 6) % 12 - 6
        return PitchEstimate(cnn_class, cnn_confidence, "cnn", float(nearest))
    return PitchEstimate(fold_pitch(midi), stability, "dsp", midi)


def dsp_volume(features: SoundFeatures) -> tuple[str, float]:
    return volume_from_levels(
        rms_dbfs=features.rms_dbfs, peak_dbfs=features.peak_dbfs, clipped_samples=features.clipped_samples
    )


def load_model(model_dir: Path | str = MODEL_DIR) -> ModelFiles:
    """The checked model folder: files present and readable, metadata fitting this code, the .tflite
    a LiteRT flatbuffer matching the metadata's sha256 (when stored). ModelError otherwise."""
    files = load_model_files(model_dir, SPEC)
    check_default_methods(files.metadata, files.metadata_path)
    return files


def check_default_methods(metadata: dict, path: Path) -> None:
    """`default_methods` (optional) maps heads to one of their METHODS; a missing head uses the CNN."""
    if "default_methods" not in metadata:
        return
    defaults = get_field(metadata, ("default_methods",), dict, path, SPEC)
    for head, method in defaults.items():
        if head not in METHODS:
            raise SPEC.error(path, f"default_methods has the key {head!r}, expected heads of {list(HEADS)}")
        if method not in METHODS[head]:
            raise SPEC.error(path, f"default_methods.{head} is {method!r}, expected one of {list(METHODS[head])}")


def _version(files: ModelFiles) -> str:
    return hashlib.sha256(files.model_bytes + files.metadata_bytes).hexdigest()[:16]


def model_version(model_dir: Path = MODEL_DIR) -> str:
    """Content hash of the checked model and its metadata (what the index records per sample)."""
    return _version(load_model(model_dir))


def warm_up_inference() -> None:
    """Import the LiteRT interpreter module (once per process, before forking workers)."""
    import ai_edge_litert.interpreter  # noqa: F401


def delayed(log_mels: np.ndarray, frames: int) -> np.ndarray:
    """(n, N_MELS, N_FRAMES) log-mels with the sound starting `frames` later (floor before, end cut off)."""
    if frames == 0:
        return log_mels
    out = np.full_like(log_mels, LOG_MEL_FLOOR)
    out[:, :, frames:] = log_mels[:, :, :-frames]
    return out


class LiteRTModel:
    """The exported CNN in a LiteRT interpreter, run in fixed batches of BATCH (no per-file calls), its
    probabilities averaged over the views of `time_shifts`."""

    def __init__(self, model_bytes: bytes, *, num_threads: int = 1, source: Path | str | None = None,
                 time_shifts: tuple[int, ...] = TIME_SHIFTS) -> None:
        self._runner = LiteRTRunner(model_bytes, SPEC, source=source, expected_input=(1, *INPUT_SHAPE), batch=BATCH,
                                    num_threads=num_threads)
        self._time_shifts = time_shifts

    def predict_proba(self, log_mels: np.ndarray) -> dict[str, np.ndarray]:
        """(n, N_MELS, N_FRAMES) -> {head: (n, n_classes) probabilities}."""
        views = [self._runner.run_all(delayed(log_mels, k)[..., None]) for k in self._time_shifts]
        return {head: np.mean([view[head] for view in views], axis=0) for head in views[0]}


class SoundClassifier:
    """Labels sounds with the committed CNN and the DSP estimates, by the metadata's default methods."""

    def __init__(self, model_dir: Path | str = MODEL_DIR, *, num_threads: int = 1) -> None:
        files = load_model(model_dir)
        self.metadata = files.metadata
        self.version = _version(files)
        defaults = self.metadata.get("default_methods", {})
        self.default_methods: dict[str, str] = {h: defaults.get(h, "cnn") for h in HEADS}
        self.model = LiteRTModel(files.model_bytes, num_threads=num_threads, source=files.model_path)

    def label(self, features: Sequence[SoundFeatures]) -> list[SoundLabels]:
        if not features:
            return []
        probs = self.model.predict_proba(np.stack([f.log_mel for f in features]))
        return [self._combine(f, {h: probs[h][i] for h in HEADS}) for i, f in enumerate(features)]

    def _combine(self, features: SoundFeatures, probs: dict[str, np.ndarray]) -> SoundLabels:
        return combine(features, probs, self.default_methods)


def combine(features: SoundFeatures, probs: dict[str, np.ndarray], default_methods: dict[str, str]) -> SoundLabels:
    """One sound's labels from its features and the CNN's probabilities, by the default methods."""
    cnn = {h: (CLASSES[h][int(np.argmax(p))], float(np.max(p))) for h, p in probs.items()}
    dsp: dict[str, tuple[object, float]] = {"volume": dsp_volume(features)}
    checked = checked_midi_note(features)
    if checked is not None:
        dsp["pitch"] = (fold_pitch(checked), features.pitch_stability)
    estimate = estimate_pitch(checked, features.pitch_stability, probs["pitch"])
    chosen: dict[str, tuple[Any, float]] = {}  # a class (pitch: int, else str) and its confidence
    methods: dict[str, str] = {}
    for head in HEADS:
        method = default_methods[head]
        if head == "pitch" and method == "dsp":
            chosen[head], method = (estimate.pitch, estimate.confidence), estimate.method
        else:
            chosen[head] = (dsp if method == "dsp" else cnn)[head]
        methods[head] = method
    midi = estimate.midi_note
    return SoundLabels(
        pitch=int(chosen["pitch"][0]),
        volume=str(chosen["volume"][0]),
        timbre=str(chosen["timbre"][0]),
        confidence={h: round(float(chosen[h][1]), 4) for h in HEADS},
        methods=methods,
        cnn=cnn,
        dsp=dsp,
        midi_note=midi,
        f0_hz=None if midi is None else midi_to_hz(midi),
    )
