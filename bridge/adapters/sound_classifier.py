"""Labels sounds from their `SoundFeatures`: the committed mel-spectrogram CNN (LiteRT, batched) and the
DSP estimates (YIN pitch, level rule for volume); the model's metadata says which method is the
default for each label (the one measured more accurate by `train-sound`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.adapters.audio_features import INPUT_SHAPE, PREPROCESSING_VERSION, SoundFeatures
from bridge.core.audio_levels import fold_pitch, volume_from_levels
from bridge.core.labels import CLASSES, HEADS
from bridge.errors import ModelError

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "sound"
MODEL_FILE = "sound_cnn.tflite"
METADATA_FILE = "sound_cnn.json"
METHODS: dict[str, tuple[str, ...]] = {"pitch": ("cnn", "dsp"), "volume": ("cnn", "dsp"), "timbre": ("cnn",)}
BATCH = 32
RETRAIN = "train it with: python run_bridge.py train-sound"


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


def load_metadata(model_dir: Path = MODEL_DIR) -> dict:
    path = model_dir / METADATA_FILE
    if not path.exists() or not (model_dir / MODEL_FILE).exists():
        raise ModelError(f"no sound model in {model_dir} ({MODEL_FILE} + {METADATA_FILE}); {RETRAIN}")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}; {RETRAIN}") from exc
    if meta.get("preprocessing_version") != PREPROCESSING_VERSION:
        raise ModelError(
            f"{path} was trained with preprocessing {meta.get('preprocessing_version')!r} but this code uses "
            f"{PREPROCESSING_VERSION!r}; {RETRAIN}"
        )
    if tuple(meta.get("input_shape", ())) != INPUT_SHAPE:
        raise ModelError(f"{path} expects input {meta.get('input_shape')}, this code makes {INPUT_SHAPE}; {RETRAIN}")
    for head in HEADS:
        if [str(c) for c in meta.get("classes", {}).get(head, [])] != [str(c) for c in CLASSES[head]]:
            raise ModelError(f"{path}: classes of {head!r} differ from SPEC §1; {RETRAIN}")
    return meta


def model_version(model_dir: Path = MODEL_DIR) -> str:
    """Content hash of the model and its metadata (what the index records per sample)."""
    try:
        data = (model_dir / MODEL_FILE).read_bytes() + (model_dir / METADATA_FILE).read_bytes()
    except OSError as exc:
        raise ModelError(f"no sound model in {model_dir} ({MODEL_FILE} + {METADATA_FILE}); {RETRAIN}") from exc
    return hashlib.sha256(data).hexdigest()[:16]


def warm_up_inference() -> None:
    """Import the LiteRT interpreter module (once per process, before forking workers)."""
    import ai_edge_litert.interpreter  # noqa: F401


class LiteRTModel:
    """The exported CNN in a LiteRT interpreter, run in fixed batches of BATCH (no per-file calls)."""

    def __init__(self, model_bytes: bytes, *, num_threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=model_bytes, num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._interpreter.resize_tensor_input(self._input, [BATCH, *INPUT_SHAPE])
        self._interpreter.allocate_tensors()
        # The three outputs are told apart by their sizes (12 pitches, 3 volumes, 8 timbres).
        by_size = {int(d["shape"][-1]): d["index"] for d in self._interpreter.get_output_details()}
        try:
            self._outputs = {head: by_size[len(CLASSES[head])] for head in HEADS}
        except KeyError as exc:
            raise ModelError(f"the sound model does not have the three heads of SPEC §1; {RETRAIN}") from exc

    def predict_proba(self, log_mels: np.ndarray) -> dict[str, np.ndarray]:
        """(n, N_MELS, N_FRAMES) -> {head: (n, n_classes) probabilities}."""
        n = log_mels.shape[0]
        out = {head: np.zeros((n, len(CLASSES[head])), np.float32) for head in HEADS}
        batch = np.zeros((BATCH, *INPUT_SHAPE), np.float32)
        for start in range(0, n, BATCH):
            chunk = log_mels[start : start + BATCH]
            batch[: len(chunk), ..., 0] = chunk
            batch[len(chunk) :] = 0.0
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            for head, index in self._outputs.items():
                out[head][start : start + len(chunk)] = self._interpreter.get_tensor(index)[: len(chunk)]
        return out


class SoundClassifier:
    """Labels sounds with the committed CNN and the DSP estimates, by the metadata's default methods."""

    def __init__(self, model_dir: Path | str = MODEL_DIR, *, num_threads: int = 1) -> None:
        model_dir = Path(model_dir)
        self.metadata = load_metadata(model_dir)
        model_bytes = (model_dir / MODEL_FILE).read_bytes()
        self.version = model_version(model_dir)
        defaults = self.metadata.get("default_methods", {})
        self.default_methods: dict[str, str] = {h: defaults.get(h, "cnn") for h in HEADS}
        self.model = LiteRTModel(model_bytes, num_threads=num_threads)

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
