"""`run_bridge.py train-image` end to end on a tiny recipe: data made by worker processes, a model trained,
exported and written with its metadata, and loadable by the live classifier."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from bridge.adapters.image_classifier import SPEC, ImageClassifier, load_image_classifier
from bridge.adapters.litert_model import LiteRTRunner, load_model_files
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.labels import HEADS
from bridge.core.preprocess import PREPROCESSING_VERSION
from bridge.core.raster import rasterise
from bridge.training.image_data import DATA_VERSION, DataRecipe, generate_split

pytestmark = pytest.mark.slow


def test_train_image_writes_a_model_the_live_path_loads(tmp_path, shared_data):
    out, cache = tmp_path / "model", tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "run_bridge.py", "train-image", "--out", str(out), "--cache-dir", str(cache),
         "--n-train", "128", "--n-val", "64", "--epochs", "1", "--workers", "2"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("model.keras", "model.tflite", "metadata.json", "training_curves.png",
                 *(f"confusion_{h}.png" for h in HEADS)):
        assert (out / name).is_file(), name
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["preprocessing_version"] == PREPROCESSING_VERSION
    assert meta["data"]["data_version"] == DATA_VERSION
    assert meta["data"]["n_train"] == 128 and meta["accuracy"]["validation_counts"]["pitch"]["all"] == 64
    assert meta["accuracy"]["drawings_dev_pitch"]["total"] == 36
    assert meta["accuracy"]["tflite_vs_keras_max_abs_diff"] < 1e-3
    printed = json.loads(proc.stdout)
    assert printed["accuracy"] == meta["accuracy"]

    classifier = load_image_classifier(out)
    stroke = Stroke(tuple(Point(x, 200.0, x) for x in range(40, 360, 10)), "#000000", 5.0)
    prediction = classifier.classify(rasterise(Drawing((stroke,))))
    assert all(np.isfinite(getattr(prediction, f"p_{h}")).all() for h in HEADS)

    # the band models: written, listed, and giving the whole model's probabilities
    assert [band["width_px"] for band in meta["bands"]] == [28, 52, 76]
    files = load_model_files(out, SPEC)
    whole = ImageClassifier(LiteRTRunner(files.model_bytes, SPEC), files.metadata, "whole")
    for length in (0, 60, 150):
        dab_or_line = Stroke((Point(100, 120, 0), Point(100 + length, 130, 50)), "#1E90FF", 9.0)
        image = rasterise(Drawing((dab_or_line,)))
        a, b = classifier.classify(image), whole.classify(image)
        assert all(np.abs(np.asarray(getattr(a, f"p_{h}")) - np.asarray(getattr(b, f"p_{h}"))).max() <= 1e-4
                   for h in HEADS)
    assert sum(n for width, n in classifier.calls_by_width.items() if width < 100) == 3

    # --export-bands refuses a model.keras that does not export to the model.tflite the metadata describes
    (out / "metadata.json").write_text(json.dumps({**meta, "model_sha256": "0" * 64}))
    proc = subprocess.run([sys.executable, "run_bridge.py", "train-image", "--export-bands", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "does not export to the model.tflite its metadata describes" in proc.stderr


def test_generated_data_does_not_depend_on_the_number_of_workers():
    recipe = DataRecipe(n_train=6, n_val=6, sizes_px=(100,))
    one = generate_split(recipe, "val", workers=1, chunk=4)
    two = generate_split(recipe, "val", workers=2, chunk=4)
    for key in ("x100", *HEADS):
        assert np.array_equal(one[key], two[key]), key
    assert not np.array_equal(one["x100"][0], one["x100"][1])


def test_training_batches_mirror_half_the_drawings_and_keep_their_labels():
    import tensorflow as tf

    from bridge.training.image_train import _dataset

    tf.config.experimental.enable_op_determinism()
    n = 96  # drawing i has one mark in row i, at the left edge; its pitch target is class i % 12
    x = np.zeros((n, 100, 100, 3), np.uint8)
    x[np.arange(n), np.arange(n), 0, 0] = 255
    data = {"x100": x, "pitch": np.eye(12, dtype=np.float32)[np.arange(n) % 12],
            "volume": np.eye(3, dtype=np.float32)[np.arange(n) % 3],
            "timbre": np.eye(8, dtype=np.float32)[np.arange(n) % 8]}

    def mirrored_per_epoch() -> list[np.ndarray]:
        dataset, epochs = _dataset(data, 100, 32, shuffle_seed=7), []
        for _ in range(2):
            flags = []
            for xb, yb in dataset:
                xb = xb.numpy()
                left, right = xb[:, :, 0, 0].max(1) > 0, xb[:, :, -1, 0].max(1) > 0
                assert np.all(left ^ right)  # whole drawings mirrored, never cut
                rows = xb[..., 0].max(2).argmax(1)
                for head, classes in (("pitch", 12), ("volume", 3), ("timbre", 8)):
                    assert np.array_equal(yb[head].numpy().argmax(1), rows % classes), head
                flags.append(right)
            epochs.append(np.concatenate(flags))
        return epochs

    first, second = mirrored_per_epoch()
    assert 0.3 < first.mean() < 0.7 and 0.3 < second.mean() < 0.7
    assert not np.array_equal(first, second)  # a new draw each epoch ...
    again = mirrored_per_epoch()
    assert np.array_equal(first, again[0]) and np.array_equal(second, again[1])  # ... and reproducible
    validation = _dataset(data, 100, 32, shuffle_seed=None)
    validation_left = np.concatenate([xb.numpy()[:, :, 0, 0].max(1) > 0 for xb, _ in validation])
    assert validation_left.all()  # validation drawings are never mirrored
