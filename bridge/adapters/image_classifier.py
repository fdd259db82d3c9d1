"""Live image classification with LiteRT (`ai-edge-litert`): no TensorFlow import, no `model.predict`.

    classifier = load_image_classifier()          # models/image/model.tflite + metadata.json
    prediction = classifier.classify(canvas)      # uint8 (400, 400, 3) -> bridge.core.labels.Prediction
    prediction = classifier.classify_raster(raster)  # a CanvasRaster followed as it changes (the live engine)

Loading checks the metadata against this code (classes, preprocessing version, input shape) and the
model file against the sha256 the metadata stores; a missing, broken or mismatched model is refused
with one ModelError that names the file and says how to retrain (bridge.adapters.litert_model).

The model folder also holds the same network exported for narrower bands of the input's columns (its
metadata's "bands"). An input whose ink lies within such a band is classified by that band's model, which
gives the whole model's probabilities (bridge.core.column_bands) at a fraction of its work: a dab or a short
stroke costs a third to two thirds of a whole-canvas call. A folder without bands uses the whole model only.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bridge.adapters.litert_model import (
    LiteRTRunner,
    ModelSpec,
    check_sha256,
    get_field,
    load_model_files,
    read_model_bytes,
)
from bridge.adapters.resources import models_dir
from bridge.core.column_bands import band_widths, column_band
from bridge.core.labels import Prediction
from bridge.core.preprocess import PREPROCESSING_VERSION, SUPPORTED_SIZES_PX, Preprocessor
from bridge.core.raster import CanvasRaster

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = models_dir() / "image"
RETRAIN_COMMAND = "python run_bridge.py train-image"
NUM_THREADS = 1  # one thread measured faster than two for this small model (see docs/image_model.md)


def _supported_shape(shape: list[int]) -> bool:
    return len(shape) == 4 and shape[0] == 1 and shape[1] == shape[2] in SUPPORTED_SIZES_PX and shape[3] == 3


SPEC = ModelSpec(
    name="image model",
    model_file="model.tflite",
    metadata_file="metadata.json",
    retrain=RETRAIN_COMMAND,
    preprocessing_version=PREPROCESSING_VERSION,
    shape_key=("input", "shape"),
    shape_ok=_supported_shape,
    shape_expected=f"[1, n, n, 3] with n one of {list(SUPPORTED_SIZES_PX)}",
    sha256_required=True,  # train-image writes it (bridge/training/image_train.py)
)


class ImageClassifier:
    """Classifies canvas images with the committed LiteRT model. Not thread-safe: one per thread."""

    def __init__(self, runner: LiteRTRunner, metadata: dict[str, Any], version: str,
                 bands: dict[int, LiteRTRunner] | None = None) -> None:
        self.metadata = metadata
        self.version = version  # short hash of the model file: what produced a prediction
        self.size_px = runner.input_shape[1]
        self._runners = {**(bands or {}), self.size_px: runner}  # by the width of the columns each reads
        self._widths = tuple(sorted(self._runners))
        self.calls_by_width = dict.fromkeys(self._widths, 0)  # how often each band ran (the bench notes it)
        self._preprocess = Preprocessor(self.size_px)  # redoes only what changed since the last canvas

    def classify(self, image: np.ndarray) -> Prediction:
        """uint8 RGB canvas (400, 400, 3), as CanvasRaster.image() gives it -> Prediction."""
        return self._predict(self._preprocess(image))

    def classify_raster(self, raster: CanvasRaster) -> Prediction:
        """The raster's canvas -> Prediction, as classify(raster.image()); only what changed since this classifier
        last read the raster is preprocessed again."""
        return self._predict(self._preprocess.read(raster))

    def _predict(self, model_input: np.ndarray) -> Prediction:
        start, width = column_band(model_input, self._widths)
        band = model_input if width == self.size_px else np.ascontiguousarray(model_input[:, start:start + width])
        probs = self._runners[width].run_one(band)
        self.calls_by_width[width] += 1
        return Prediction.from_probabilities(probs["pitch"], probs["volume"], probs["timbre"])


def load_image_classifier(model_dir: Path | None = None) -> ImageClassifier:
    """Load models/image (or `model_dir`): checks the files and the metadata, then opens the LiteRT model."""
    files = load_model_files(Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR, SPEC)
    expected = tuple(files.metadata["input"]["shape"])
    runner = LiteRTRunner(files.model_bytes, SPEC, source=files.model_path, expected_input=expected,
                          num_threads=NUM_THREADS)
    version = hashlib.sha256(files.model_bytes).hexdigest()[:12]
    bands = _load_bands(files.model_path.parent, files.metadata, files.metadata_path, runner.input_shape[1])
    log.info("image model %s loaded (%s px input, bands %s)", version, runner.input_shape[1], sorted(bands))
    return ImageClassifier(runner, files.metadata, version, bands)


def _load_bands(model_dir: Path, metadata: dict[str, Any], metadata_path: Path,
                size_px: int) -> dict[int, LiteRTRunner]:
    """The metadata's band models (none when it lists none), each checked against its sha256."""
    if "bands" not in metadata:
        return {}
    runners = {}
    for i, band in enumerate(get_field(metadata, ("bands",), list, metadata_path, SPEC)):
        name = f"bands[{i}]"

        def field(key: str, kind: type, band: object = band, name: str = name) -> Any:
            return get_field({name: band}, (name, key), kind, metadata_path, SPEC)

        width = field("width_px", int)
        if width not in band_widths(size_px)[:-1]:
            raise SPEC.error(metadata_path, f"{name}.width_px is {width}, expected one of {band_widths(size_px)[:-1]}")
        path = model_dir / field("file", str)
        spec = replace(SPEC, name="image model band", model_file=path.name, retrain=f"{RETRAIN_COMMAND} --export-bands")
        model = read_model_bytes(path, spec)
        check_sha256(model, field("sha256", str), path, spec)
        runners[width] = LiteRTRunner(model, spec, source=path, expected_input=(1, size_px, width, 3),
                                      num_threads=NUM_THREADS)
    return runners
