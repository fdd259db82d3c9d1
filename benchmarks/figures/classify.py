"""`classify_ms`: classify one drawing, the live path against three Keras CNNs called with `model.predict`.

Live path: `ImageClassifier.classify(canvas)` = the one preprocessing function (numpy) + the LiteRT
model, on a 400x400 canvas with a hand-like stroke, called back to back after a warm-up. The figure is
wall-clock time; the note `classify_ms_cpu_ms` gives the same calls' thread CPU time, which a machine
shared with other busy processes does not inflate (its scheduler's preemptions show in the wall p99).

Baseline, in the same run: three separate 400x400 Keras CNNs (pitch,
volume, timbre), each Conv32-BN-MaxPool3, Conv64-BN-MaxPool2, Conv128-BN-MaxPool2, Conv256-BN-MaxPool2,
Flatten, Dense64, BN, Dropout, softmax (3x3 kernels, ReLU, "same" padding; untrained weights, which
cost the same), each called with `model.predict` on the canvas scaled to 0..1. One baseline call is
the three predictions one drawing needs.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from benchmarks.figures import Figure, percentiles_ms

log = logging.getLogger(__name__)

LIVE_CALLS, SEED_CALLS, QUICK_CALLS = 2000, 500, 20
WARMUP_CALLS = 50


def bench_canvas() -> np.ndarray:
    """A canvas with one wobbly, medium-width black stroke, as drawn live; uint8 (400, 400, 3)."""
    from bridge.core.drawing import Drawing, Point, Stroke
    from bridge.core.raster import rasterise

    xs = np.arange(20.0, 380.0, 6.0)
    points = tuple(Point(x, 180 + 6 * np.sin(x / 40), 8 * i) for i, x in enumerate(xs))
    return rasterise(Drawing((Stroke(points, "#000000", 12.0),)))


def time_calls_ms(call, count: int, *, warmup: int = WARMUP_CALLS) -> tuple[list[float], list[float]]:
    """Wall-clock and thread CPU time of each call, in ms, after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(count):
        start, start_cpu = time.perf_counter(), time.thread_time()
        call()
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.thread_time() - start_cpu) * 1e3)
    return wall, cpu


def seed_models():
    """The baseline's three Keras CNNs (untrained), 400x400x3 input."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from keras import layers

    from bridge.core.labels import CLASSES, HEADS

    keras.utils.set_random_seed(0)
    models = []
    for head in HEADS:
        x = inputs = keras.Input((400, 400, 3))
        for filters, pool in ((32, 3), (64, 2), (128, 2), (256, 2)):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.BatchNormalization()(x)
            x = layers.MaxPooling2D(pool)(x)
        x = layers.Flatten()(x)
        x = layers.Dense(64, activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Dropout(0.5)(x)
        models.append(keras.Model(inputs, layers.Dense(len(CLASSES[head]), activation="softmax")(x), name=head))
    return models


def measure(*, quick: bool = False) -> list[Figure]:
    from bridge.adapters.image_classifier import load_image_classifier

    canvas = bench_canvas()
    classifier = load_image_classifier()
    live, live_cpu = time_calls_ms(lambda: classifier.classify(canvas), QUICK_CALLS * 10 if quick else LIVE_CALLS)

    models = seed_models()  # TensorFlow is imported only now, after the live path was timed
    batch = canvas[None].astype(np.float32) / 255.0
    seed, _ = time_calls_ms(lambda: [m.predict(batch, verbose=0) for m in models],
                            QUICK_CALLS if quick else SEED_CALLS, warmup=2)
    return [Figure(
        key="classify_ms",
        title="classify one drawing",
        unit="ms",
        value=percentiles_ms(live),
        baseline_key="seed_classify_ms",
        baseline=percentiles_ms(seed),
        notes={"model": classifier.version, "input_px": classifier.size_px,
               "cpu_ms": {k: round(v, 4) for k, v in percentiles_ms(live_cpu).items() if k != "n"},
               "path": "numpy preprocess + LiteRT, 1 thread", "baseline": "3 x keras model.predict, 400x400 CNNs"},
    )]
