"""Live image classification with LiteRT (`ai-edge-litert`): no TensorFlow import, no `model.predict`.

    classifier = load_image_classifier()          # models/image/model.tflite + metadata.json
    prediction = classifier.classify(canvas)      # uint8 (400, 400, 3) -> bridge.core.labels.Prediction

Loading checks the metadata against this code (classes, preprocessing version, input shape) and
refuses a missing or mismatched model with a ModelError that says how to retrain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bridge.core.labels import CLASSES, HEADS, Prediction
from bridge.core.preprocess import PREPROCESSING_VERSION, SUPPORTED_SIZES_PX, preprocess
from bridge.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "image"
RETRAIN_HINT = "train it with: python run_bridge.py train-image"
NUM_THREADS = 1  # one thread measured faster than two for this small model (see docs/image_model.md)


class TfliteRunner:
    """A LiteRT interpreter for one (1, n, n, 3) float32 input and three softmax outputs."""

    def __init__(self, model: bytes | Path, *, num_threads: int = NUM_THREADS) -> None:
        from ai_edge_litert.interpreter import Interpreter

        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
        with _native_stderr_silenced():  # LiteRT prints "INFO: Created ... XNNPACK delegate" from C++
            self._interpreter = Interpreter(**source, num_threads=num_threads)
            self._interpreter.allocate_tensors()
        (inp,) = self._interpreter.get_input_details()
        self.input_shape = tuple(int(v) for v in inp["shape"])
        self._input = inp["index"]
        by_size = {int(o["shape"][-1]): o["index"] for o in self._interpreter.get_output_details()}
        sizes = {head: len(CLASSES[head]) for head in HEADS}
        if sorted(by_size) != sorted(sizes.values()):
            raise ModelError(f"the model's outputs have sizes {sorted(by_size)}, expected {sorted(sizes.values())}; "
                             f"{RETRAIN_HINT}")
        self._outputs = {head: by_size[n] for head, n in sizes.items()}

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """x (n, n, 3) float32 -> {head: probabilities}."""
        self._interpreter.set_tensor(self._input, x[None])
        self._interpreter.invoke()
        return {head: self._interpreter.get_tensor(index)[0] for head, index in self._outputs.items()}


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for a moment: native libraries' banners stay off the terminal.

    Failures still surface as Python exceptions (with their messages) after stderr is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class ImageClassifier:
    """Classifies canvas images with the committed LiteRT model. Not thread-safe: one per thread."""

    def __init__(self, runner: TfliteRunner, metadata: dict[str, Any], version: str) -> None:
        self._runner = runner
        self.metadata = metadata
        self.version = version  # short hash of the model file: what produced a prediction
        self.size_px = runner.input_shape[1]

    def classify(self, image: np.ndarray) -> Prediction:
        """uint8 RGB canvas (400, 400, 3), as CanvasRaster.image() gives it -> Prediction."""
        probs = self._runner.run(preprocess(image, size_px=self.size_px))
        return Prediction.from_probabilities(probs["pitch"], probs["volume"], probs["timbre"])


def load_image_classifier(model_dir: Path | None = None) -> ImageClassifier:
    """Load models/image (or `model_dir`): checks the metadata, then opens the LiteRT model."""
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    model_path, meta_path = model_dir / "model.tflite", model_dir / "metadata.json"
    for path in (model_path, meta_path):
        if not path.is_file():
            raise ModelError(f"no image model: {path} is missing; {RETRAIN_HINT}")
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {meta_path} ({exc}); {RETRAIN_HINT}") from exc
    check_metadata(metadata, meta_path)
    blob = model_path.read_bytes()
    try:
        runner = TfliteRunner(blob)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{model_path} is not a usable LiteRT model ({exc}); {RETRAIN_HINT}") from exc
    expected = tuple(metadata["input"]["shape"])
    if runner.input_shape != expected:
        raise ModelError(f"{model_path} takes input {runner.input_shape} but its metadata says {expected}; "
                         f"{RETRAIN_HINT}")
    version = hashlib.sha256(blob).hexdigest()[:12]
    log.info("image model %s loaded (%s px input)", version, runner.input_shape[1])
    return ImageClassifier(runner, metadata, version)


def check_metadata(metadata: dict[str, Any], where: Path | str = "metadata") -> None:
    """Raise ModelError unless the model was trained for this code's classes, preprocessing and shapes."""
    version = metadata.get("preprocessing_version")
    if version != PREPROCESSING_VERSION:
        raise ModelError(f"{where}: the image model was trained with preprocessing {version!r}, this code uses "
                         f"{PREPROCESSING_VERSION!r}; {RETRAIN_HINT}")
    classes = metadata.get("classes", {})
    for head in HEADS:
        if list(classes.get(head, [])) != list(CLASSES[head]):
            raise ModelError(f"{where}: the model's {head} classes {classes.get(head)} differ from this code's "
                             f"{list(CLASSES[head])}; {RETRAIN_HINT}")
    shape = metadata.get("input", {}).get("shape")
    if not (isinstance(shape, list) and len(shape) == 4 and shape[0] == 1 and shape[1] == shape[2]
            and shape[1] in SUPPORTED_SIZES_PX and shape[3] == 3):
        raise ModelError(f"{where}: unexpected input shape {shape!r}; {RETRAIN_HINT}")
