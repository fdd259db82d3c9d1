"""Labels sounds from their `SoundFeatures`: the committed mel-spectrogram CNN (LiteRT, batched) and the
DSP estimates (YIN pitch, level rule for volume); the model's metadata says which method is the
default for each label (the one measured more accurate by `train-sound`).

Loading checks the model folder (bridge.adapters.litert_model): a missing, broken or mismatched model
or metadata file is refused with one ModelError that names the file and says how to retrain.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.adapters.audio_features import INPUT_SHAPE, PREPROCESSING_VERSION, SoundFeatures
from bridge.adapters.litert_model import LiteRTRunner, ModelFiles, ModelSpec, get_field, load_model_files
from bridge.core.audio_levels import fold_pitch, volume_from_levels
from bridge.core.labels import CLASSES, HEADS

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "sound"
MODEL_FILE = "sound_cnn.tflite"
METADATA_FILE = "sound_cnn.json"
METHODS: dict[str, tuple[str, ...]] = {"pitch": ("cnn", "dsp"), "volume": ("cnn", "dsp"), "timbre": ("cnn",)}
BATCH = 32
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


def dsp_pitch(features: SoundFeatures) -> tuple[int, float] | None:
    """YIN f0 folded into 69..80 and its stability; None when no f0 was found."""
    if features.midi_note is None:
        return None
    return fold_pitch(features.midi_note), features.pitch_stability


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


def load_metadata(model_dir: Path = MODEL_DIR) -> dict:
    return load_model(model_dir).metadata


def _version(files: ModelFiles) -> str:
    return hashlib.sha256(files.model_bytes + files.metadata_bytes).hexdigest()[:16]


def model_version(model_dir: Path = MODEL_DIR) -> str:
    """Content hash of the checked model and its metadata (what the index records per sample)."""
    return _version(load_model(model_dir))


def warm_up_inference() -> None:
    """Import the LiteRT interpreter module (once per process, before forking workers)."""
    import ai_edge_litert.interpreter  # noqa: F401


class LiteRTModel:
    """The exported CNN in a LiteRT interpreter, run in fixed batches of BATCH (no per-file calls)."""

    def __init__(self, model_bytes: bytes, *, num_threads: int = 1, source: Path | str = "the sound model") -> None:
        self._runner = LiteRTRunner(model_bytes, retrain=RETRAIN_COMMAND, source=source,
                                    expected_input=(1, *INPUT_SHAPE), batch=BATCH, num_threads=num_threads)

    def predict_proba(self, log_mels: np.ndarray) -> dict[str, np.ndarray]:
        """(n, N_MELS, N_FRAMES) -> {head: (n, n_classes) probabilities}."""
        n = log_mels.shape[0]
        out = {head: np.zeros((n, len(CLASSES[head])), np.float32) for head in HEADS}
        batch = np.zeros((BATCH, *INPUT_SHAPE), np.float32)
        for start in range(0, n, BATCH):
            chunk = log_mels[start : start + BATCH]
            batch[: len(chunk), ..., 0] = chunk
            batch[len(chunk) :] = 0.0
            for head, probs in self._runner.run(batch).items():
                out[head][start : start + len(chunk)] = probs[: len(chunk)]
        return out


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
        cnn = {h: (CLASSES[h][int(np.argmax(p))], float(np.max(p))) for h, p in probs.items()}
        dsp: dict[str, tuple[object, float]] = {"volume": dsp_volume(features)}
        pitch = dsp_pitch(features)
        if pitch is not None:
            dsp["pitch"] = pitch
        chosen, methods = {}, {}
        for head in HEADS:
            method = self.default_methods[head]
            if method == "dsp" and head not in dsp:
                method = "cnn"  # no f0 found: fall back to the CNN
            chosen[head] = (dsp if method == "dsp" else cnn)[head]
            methods[head] = method
        return SoundLabels(
            pitch=int(chosen["pitch"][0]),
            volume=str(chosen["volume"][0]),
            timbre=str(chosen["timbre"][0]),
            confidence={h: round(float(chosen[h][1]), 4) for h in HEADS},
            methods=methods,
            cnn=cnn,
            dsp=dsp,
        )
