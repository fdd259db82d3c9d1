"""Train the image model: one Keras network, a shared trunk and three softmax heads.

    input (n, n, 3) ink absorption (bridge.core.preprocess), n = 100 (25x25 "places" of 16 canvas px)
      coverage per pixel = a colour-blind ink amount x a gain from the hue of the place's darkest pixel
      pitch  -> coverage summed per input row, rows mapped to the 12 bands (a Dense initialised to the
                band membership), ShareSoftmax
      width  -> coverage summed across strokes vertically (v), horizontally (h) and along both
                diagonals at 50 px; v h / sqrt(v^2 + h^2) is a straight stroke's width at any angle
                (the same for the diagonal pair), the least of the four sums a round dab's; per place
                the coverage-weighted means of the seven, in log
      places -> 1x1 conv "ink maps" -> k x k / k conv 16 -> 3x3 conv 32 at 25x25 and at 13x13, with the
                log mean and peak absorption, the width measures and the coverage: 78 features per place
             -> per-place logits for volume and timbre; each head = the coverage-weighted mean of the
                per-place softmax (InkVote), then a calibrated softmax over those shares (ShareSoftmax)

The network is the labelling rule with learned parts: a drawing is labelled by where most of its
ink is, so each head shares out the ink among its classes. Targets are the ink shares computed by
`image_data.ink_shares` (soft labels); accuracy is measured on the argmax.

Writes to the output directory: model.keras, model.tflite, the same network for narrower bands of the
input's columns (model_band{width}.tflite, bridge.core.column_bands), metadata.json, confusion_{head}.png and
training_curves.png. TensorFlow is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.core.column_bands import band_widths
from bridge.core.labels import CANVAS_SIZE_PX, CLASSES, HEADS, PITCHES, pitch_for_y
from bridge.core.preprocess import PREPROCESSING_VERSION, preprocess
from bridge.training.image_data import DataRecipe, load_split

log = logging.getLogger(__name__)

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO_DIR / "models" / "image"
DEFAULT_CACHE_DIR = REPO_DIR / "build" / "image_data"
DEV_DRAWINGS_DIR = REPO_DIR.parent / "shared" / "data" / "drawings_dev"
METADATA_FORMAT = "pict2audio-image-model"
DECIDABLE_MARGIN = 0.1  # a head's label is "decidable" when its leading class has >= 10 % more ink
TRAIN_AUGMENTATION = "left-right mirror of a seeded random half of the training drawings, drawn anew each epoch"


@dataclass(frozen=True)
class TrainConfig:
    size_px: int = 100
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 7
    loss_weights: tuple[float, float, float] = (1.0, 2.0, 1.0)  # pitch, volume, timbre: width is the hardest
    recipe: DataRecipe = field(default_factory=DataRecipe)


# ---------------------------------------------------------------- the network


def band_membership(size_px: int) -> np.ndarray:
    """(size_px, 12): the fraction of each input row's canvas rows in each pitch class (index = note - 69)."""
    k = CANVAS_SIZE_PX // size_px
    member = np.zeros((size_px, len(PITCHES)), dtype=np.float32)
    for y in range(CANVAS_SIZE_PX):
        member[y // k, PITCHES.index(pitch_for_y(y + 0.5))] += 1.0 / k
    return member


WIDTH_PX = 50  # the pen-width measure runs on 8 canvas px per pixel: a quarter of the work, the same sums


def width_window(size_px: int) -> int:
    """Odd length (pixels at `size_px`) of the cross-section sums: holds a 30 px pen seen from its edge."""
    k = CANVAS_SIZE_PX // size_px
    return 2 * -(-32 // k) + 1


def build_model(size_px: int, width_px: int | None = None):
    """The Keras model: input (size_px, width_px, 3) float32, outputs [pitch (12), volume (3), timbre (8)].

    `width_px` (size_px unless given) makes the same network for a band of the input's columns
    (bridge.core.column_bands): given the square model's weights, on a band holding all the ink with its
    context it gives the square model's outputs."""
    import keras
    from keras import layers

    from bridge.training.image_layers import InkVote, LogInk, ShareSoftmax

    if size_px % 25 or size_px > 200:
        raise ValueError(f"the model works on 25x25 places: input size must be 25, 50, 100 or 200 px, got {size_px}")
    width_px = size_px if width_px is None else width_px
    if width_px not in band_widths(size_px):
        raise ValueError(f"a band of columns must be one of {band_widths(size_px)} px wide, got {width_px}")
    inputs = keras.Input((size_px, width_px, 3), name="absorption")
    block = size_px // 25  # 25x25 places of 16 canvas px
    mean_ink = layers.AveragePooling2D(block, name="mean_ink")(inputs)
    peak_ink = layers.MaxPooling2D(block, name="peak_ink")(inputs)
    ink_maps = layers.Conv2D(8, 1, activation="relu", use_bias=False, name="ink_maps")(inputs)
    log_peak = LogInk(name="log_peak_ink")(peak_ink)
    coverage = _coverage(ink_maps, peak_ink, log_peak)
    pitch = _pitch_head(coverage, size_px)
    place_ink, place_width = _place_widths(coverage, size_px)
    places = _places(ink_maps, block, [LogInk(name="log_mean_ink")(mean_ink), log_peak, place_width,
                                       LogInk(name="log_place_ink")(place_ink)])

    # volume and timbre: every place votes with its coverage for what it looks like
    hidden = layers.Conv2D(96, 1, activation="relu", name="place_hidden")(places)
    votes_v = layers.Conv2D(len(CLASSES["volume"]), 1, name="volume_logits")(hidden)
    votes_t = layers.Conv2D(len(CLASSES["timbre"]), 1, name="timbre_logits")(hidden)
    volume = ShareSoftmax(name="volume")(InkVote(name="volume_vote")([votes_v, place_ink]))
    timbre = ShareSoftmax(name="timbre")(InkVote(name="timbre_vote")([votes_t, place_ink]))
    return keras.Model(inputs, [pitch, volume, timbre], name="pict2audio_image")


def _coverage(ink_maps, peak_ink, log_peak):
    """Coverage per input pixel: a colour-blind ink amount (no biases: blank paper carries no ink) times a
    gain from the colour of the place's darkest pixel: its hue (an anti-aliased edge scales the absorption
    without turning it) and its strength (a pale colour, where a pen wider than 4 px shows it in full)."""
    import keras
    from keras import layers

    from bridge.training.image_layers import Hue, PlaceGain, StableSoftplus

    fine = layers.Conv2D(1, 1, activation="relu", use_bias=False, kernel_constraint=keras.constraints.NonNeg(),
                         kernel_initializer=keras.initializers.Constant(0.3), name="ink_fine")(ink_maps)
    colour = layers.Concatenate(name="colour")([Hue(name="hue")(peak_ink), log_peak])
    gain = layers.Conv2D(16, 1, activation="relu", name="gain_hidden")(colour)
    gain = StableSoftplus(name="colour_gain_pos")(layers.Conv2D(1, 1, name="colour_gain")(gain))
    return PlaceGain(name="coverage")([fine, gain])


def _pitch_head(coverage, size_px: int):
    """Pitch: coverage summed per input row, rows mapped to the 12 bands (a Dense initialised to the band
    membership), then a calibrated softmax over the bands' shares."""
    import keras
    from keras import layers

    from bridge.training.image_layers import RowShare, ShareSoftmax

    rows = RowShare(name="row_share")(coverage)
    bands = layers.Dense(len(PITCHES), use_bias=False, kernel_constraint=keras.constraints.NonNeg(), name="bands",
                         kernel_initializer=keras.initializers.Constant(band_membership(size_px)))(rows)
    return ShareSoftmax(name="pitch")(bands)


def _place_widths(coverage, size_px: int):
    """-> (coverage per place, the coverage-weighted means of the seven width measures per place, in log).

    The coverage summed across the stroke, vertically (v) and horizontally (h): a straight stroke at
    angle a gives v = w / cos a and h = w / sin a, so w = v h / sqrt(v^2 + h^2) at any angle. The same
    along the diagonals (steps of sqrt(2) px, so the sums are scaled by sqrt(2)). A round dab gives the
    same sum in all four directions (its diameter) and v h / sqrt(v^2 + h^2) = w / sqrt(2); a straight
    stroke gives w from both pairs: the smallest sum tells the two shapes apart."""
    import keras
    from keras import layers

    from bridge.training.image_layers import CrossWidth, LogRatio

    block = size_px // 25
    pool = max(size_px // WIDTH_PX, 1)
    cover = layers.AveragePooling2D(pool, name="coverage_coarse")(coverage) if pool > 1 else coverage
    window = width_window(size_px // pool)
    sums = layers.DepthwiseConv2D(window, padding="same", depth_multiplier=4, use_bias=False, trainable=False,
                                  name="cross_sums",
                                  depthwise_initializer=keras.initializers.Constant(_cross_kernels(window)))(cover)
    measures = layers.Concatenate(name="measures")([
        # (v, h), (d, a); channel slices of stride 1 (XNNPACK runs no strided slice)
        CrossWidth(name="cross_widths")([layers.Concatenate(name="v_d")([sums[..., 0:1], sums[..., 2:3]]),
                                         layers.Concatenate(name="h_a")([sums[..., 1:2], sums[..., 3:4]])]),
        keras.ops.min(sums, axis=-1, keepdims=True), sums])
    weighted = layers.Multiply(name="by_coverage")([measures, cover])
    place_ink = layers.AveragePooling2D(block // pool, name="place_ink")(cover)
    weighted = layers.AveragePooling2D(block // pool, name="place_measures")(weighted)
    return place_ink, LogRatio(name="place_width")([weighted, place_ink])


def _cross_kernels(window: int) -> np.ndarray:
    """(window, window, 1, 4) fixed kernels of one depthwise convolution making the four cross-section sums
    (channels v, h, d, a): one LiteRT op where separate kernels take four, and the pair widths and the least
    sum one op each (a call takes 0.08 ms less than with separate ops)."""
    lines = np.zeros((window, window, 1, 4))
    lines[:, window // 2, 0, 0] = 1.0
    lines[window // 2, :, 0, 1] = 1.0
    lines[:, :, 0, 2] = np.sqrt(2) * np.eye(window)
    lines[:, :, 0, 3] = np.sqrt(2) * np.fliplr(np.eye(window))
    return lines


def _places(ink_maps, block: int, ink_and_width: list):
    """78 features per place: convolutions over the ink maps at 25x25 and 13x13 places (the context), with
    `ink_and_width`: the log of the mean and of the peak absorption (the peak's channel ratios are the
    hue), the width measures and the log coverage (concatenated in two steps: XNNPACK did not take the
    six-input concatenation, which split the graph)."""
    from keras import layers

    from bridge.training.image_layers import UpTwo

    x = layers.Conv2D(16, block, strides=block, activation="relu", use_bias=False, name="blocks")(ink_maps)
    x25 = layers.Conv2D(32, 3, padding="same", activation="relu", use_bias=False, name="conv_a")(x)
    x13 = layers.MaxPool2D(2, padding="same", name="pool")(x25)
    x13 = layers.Conv2D(32, 3, padding="same", activation="relu", use_bias=False, name="conv_b")(x13)
    up = UpTwo(x25.shape[1], x25.shape[2], name="up")(x13)
    return layers.Concatenate(name="places")([layers.Concatenate(name="context")([x25, up]),
                                              layers.Concatenate(name="ink_and_width")(ink_and_width)])


# ---------------------------------------------------------------- training


def _dataset(data: dict[str, np.ndarray], size_px: int, batch_size: int, *, shuffle_seed: int | None):
    import tensorflow as tf

    x = data[f"x{size_px}"]
    targets = {head: data[head] for head in HEADS}
    ds = tf.data.Dataset.from_tensor_slices((x, targets))
    if shuffle_seed is None:
        ds = ds.batch(batch_size).map(lambda xb, yb: (tf.cast(xb, tf.float32) / 255.0, yb))
        return ds.prefetch(2)
    ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    # Mirror left-right half of the drawings (seeded, new each epoch): every label survives a mirror
    # (pitch is the row, volume the width, timbre the colour), and the strokes' shapes double.
    coins = tf.data.Dataset.random(seed=shuffle_seed, rerandomize_each_iteration=True).map(lambda r: r % 2 == 1)
    ds = tf.data.Dataset.zip((ds, coins)).batch(batch_size)

    def to_input(batch, mirror):
        xb, yb = batch
        xb = tf.cast(xb, tf.float32) / 255.0
        return tf.where(mirror[:, None, None, None], tf.reverse(xb, axis=[2]), xb), yb

    return ds.map(to_input).prefetch(2)


def train(config: TrainConfig, *, out_dir: Path = DEFAULT_MODEL_DIR, cache_dir: Path = DEFAULT_CACHE_DIR,
          workers: int = 2) -> dict[str, Any]:
    """Generate (or load cached) data, train, evaluate, export; returns the metadata written."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN's fused kernels vary run to run
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    recipe = config.recipe
    if config.size_px not in recipe.sizes_px:
        raise ValueError(f"the data recipe makes inputs of {recipe.sizes_px} px, not {config.size_px}")
    started = time.time()
    val = load_split(recipe, "val", cache_dir=cache_dir, workers=workers)
    train_data = load_split(recipe, "train", cache_dir=cache_dir, workers=workers)
    model, history = _fit(config, train_data, val)
    train_seconds = time.time() - started

    out_dir.mkdir(parents=True, exist_ok=True)
    tflite = _save_model(model, config.size_px, out_dir)
    bands = save_band_models(model, config.size_px, out_dir)
    accuracy, confusion = _accuracy(model, tflite, val, config.size_px)
    save_confusion_pngs(confusion, out_dir)
    save_curves_png(history, out_dir / "training_curves.png")
    metadata = {**_metadata(config, model, tflite, history, train_seconds, accuracy), "bands": bands}
    text = json.dumps(metadata, indent=2) + "\n"
    write_atomically(out_dir / "metadata.json", lambda handle: handle.write(text.encode("utf-8")))
    log.info("wrote %s", out_dir)
    return metadata


def _fit(config: TrainConfig, train_data: dict[str, np.ndarray], val: dict[str, np.ndarray]):
    """-> (the trained model, its history: metric -> value per epoch). Seeded and deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(config.size_px)
    steps = config.epochs * -(-config.recipe.n_train // config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 10, steps, warmup_target=config.learning_rate, warmup_steps=min(500, steps // 10))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={head: keras.losses.CategoricalCrossentropy() for head in HEADS},
        loss_weights=dict(zip(HEADS, config.loss_weights)),
        metrics={head: [keras.metrics.CategoricalAccuracy(name="acc")] for head in HEADS},
    )
    log.info("model: %d parameters, input %d px", model.count_params(), config.size_px)
    with contextlib.redirect_stdout(sys.stderr):  # progress on stderr: stdout is the command's result
        history = model.fit(
            _dataset(train_data, config.size_px, config.batch_size, shuffle_seed=config.seed),
            validation_data=_dataset(val, config.size_px, 512, shuffle_seed=None),
            epochs=config.epochs, verbose=2,
        )
    return model, history.history


def _save_model(model, size_px: int, out_dir: Path) -> bytes:
    """Write model.keras (the network without the optimizer's state: a smaller file) and model.tflite;
    the LiteRT flatbuffer."""
    artefact = build_model(size_px)
    artefact.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as folder:  # Keras saves to a path named .keras, not to a handle
        saved = Path(folder) / "model.keras"
        artefact.save(saved)
        write_atomically(out_dir / "model.keras", lambda handle: handle.write(saved.read_bytes()))
    tflite = export_tflite(model, size_px)
    write_atomically(out_dir / "model.tflite", lambda handle: handle.write(tflite))
    return tflite


def band_file(width_px: int) -> str:
    return f"model_band{width_px}.tflite"


def save_band_models(model, size_px: int, out_dir: Path) -> list[dict[str, Any]]:
    """Write the model for each band of columns narrower than the input (bridge.core.column_bands), with the
    trained model's weights; -> the metadata's "bands" list (width, file, sha256)."""
    bands = []
    for width in band_widths(size_px)[:-1]:
        narrow = build_model(size_px, width)
        for layer in narrow.layers:
            if layer.weights:
                layer.set_weights(model.get_layer(layer.name).get_weights())
        tflite = export_tflite(narrow, size_px, width)
        write_atomically(out_dir / band_file(width), lambda handle: handle.write(tflite))  # noqa: B023 (called here)
        bands.append({"width_px": width, "file": band_file(width), "sha256": hashlib.sha256(tflite).hexdigest()})
    return bands


def export_bands(model_dir: Path = DEFAULT_MODEL_DIR) -> list[dict[str, Any]]:
    """Write the band models of a trained model folder from its model.keras, and list them in its metadata.

    model.keras must be the network model.tflite was exported from: it is exported again and compared with the
    metadata's sha256 first (ModelError when they differ)."""
    import keras

    from bridge.core.errors import ModelError
    from bridge.training.image_layers import CUSTOM_OBJECTS

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    metadata = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))
    size_px = int(metadata["input"]["shape"][1])
    model = keras.saving.load_model(model_dir / "model.keras", custom_objects=CUSTOM_OBJECTS)
    exported = hashlib.sha256(export_tflite(model, size_px)).hexdigest()
    if exported != metadata["model_sha256"]:
        raise ModelError(f"{model_dir / 'model.keras'} does not export to the model.tflite its metadata describes "
                         f"(sha256 {exported[:12]} against {metadata['model_sha256'][:12]}); train it with: "
                         f"python run_bridge.py train-image")
    metadata["bands"] = save_band_models(model, size_px, model_dir)
    text = json.dumps(metadata, indent=2) + "\n"
    write_atomically(model_dir / "metadata.json", lambda handle: handle.write(text.encode("utf-8")))
    return metadata["bands"]


def _accuracy(model, tflite: bytes, val: dict[str, np.ndarray], size_px: int) -> tuple[dict[str, Any], dict]:
    """-> (the metadata's accuracy section, the validation confusion matrices) of the exported model;
    RuntimeError when the export gives non-finite probabilities."""
    x = val[f"x{size_px}"]
    probs = predict_tflite(tflite, x.astype(np.float32) / 255.0)
    if not all(np.isfinite(p).all() for p in probs.values()):
        raise RuntimeError("the LiteRT export gives non-finite probabilities; the export is broken")
    keras_probs = model.predict(x[:256].astype(np.float32) / 255.0, verbose=0)
    drift = max(float(np.abs(probs[h][:256] - k).max()) for h, k in zip(HEADS, keras_probs))
    report = evaluate(probs, val)
    return {
        "validation": report["accuracy"],
        "validation_decidable": report["accuracy_decidable"],
        "validation_counts": report["counts"],
        "tflite_vs_keras_max_abs_diff": drift,
        "drawings_dev_pitch": evaluate_dev_drawings(tflite, size_px),
    }, report["confusion"]


def _metadata(config: TrainConfig, model, tflite: bytes, history: dict[str, list[float]], train_seconds: float,
              accuracy: dict[str, Any]) -> dict[str, Any]:
    """metadata.json: what the model reads and gives, how it was made, and how well it does."""
    import keras
    import tensorflow as tf

    return {
        "format": METADATA_FORMAT,
        "version": 1,
        "classes": {head: list(CLASSES[head]) for head in HEADS},
        "input": {"shape": [1, config.size_px, config.size_px, 3], "dtype": "float32",
                  "meaning": "ink absorption 1 - rgb/255 after flat-field, see bridge/core/preprocess.py"},
        "outputs": {head: len(CLASSES[head]) for head in HEADS},
        "preprocessing_version": PREPROCESSING_VERSION,
        "model_sha256": hashlib.sha256(tflite).hexdigest(),
        "parameters": int(model.count_params()),
        "data": {**config.recipe.as_dict(), "labels": "ink shares per class (soft targets); the label is the argmax",
                 "decidable_margin": DECIDABLE_MARGIN},
        "training": {"seed": config.seed, "epochs": config.epochs, "batch_size": config.batch_size,
                     "learning_rate": config.learning_rate, "augmentation": TRAIN_AUGMENTATION,
                     "loss_weights": dict(zip(HEADS, config.loss_weights)), "seconds": round(train_seconds, 1),
                     "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
                     "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.items()}},
        "accuracy": accuracy,
    }


# ---------------------------------------------------------------- export and evaluation


def export_tflite(model, size_px: int, width_px: int | None = None) -> bytes:
    """LiteRT flatbuffer of the model for a batch of one (float32 in, three softmax vectors out).

    Keras 3's own LiteRT export: converting a tf.function by hand keeps the weights as resource
    variables that the interpreter never initialises (NaN outputs).
    """
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        spec = tf.TensorSpec((1, size_px, width_px or size_px, 3), tf.float32, name="absorption")
        model.export(str(path), format="litert", input_signature=[spec], verbose=False)
        return path.read_bytes()


def predict_tflite(tflite: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run the exported model one input at a time (as live does); x (n, s, s, 3) -> probabilities per head."""
    from bridge.adapters.image_classifier import SPEC
    from bridge.adapters.litert_model import LiteRTRunner

    runner = LiteRTRunner(tflite, SPEC)
    outs: dict[str, list[np.ndarray]] = {head: [] for head in HEADS}
    for sample in x:
        for head, p in runner.run_one(sample).items():
            outs[head].append(p)
    return {head: np.stack(v) for head, v in outs.items()}


def evaluate(probs: dict[str, np.ndarray], data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Accuracy per head on all samples and on the decidable ones, and confusion matrices (true x predicted)."""
    acc, acc_dec, counts, confusion = {}, {}, {}, {}
    for head in HEADS:
        shares = data[head]
        truth, pred = shares.argmax(axis=1), probs[head].argmax(axis=1)
        top2 = np.sort(shares, axis=1)[:, -2:]
        decidable = top2[:, 1] - top2[:, 0] >= DECIDABLE_MARGIN
        acc[head] = round(float((truth == pred).mean()), 5)
        acc_dec[head] = round(float((truth == pred)[decidable].mean()), 5)
        counts[head] = {"all": int(truth.size), "decidable": int(decidable.sum())}
        k = len(CLASSES[head])
        confusion[head] = np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
    return {"accuracy": acc, "accuracy_decidable": acc_dec, "counts": counts, "confusion": confusion}


def evaluate_dev_drawings(tflite: bytes, size_px: int, folder: Path = DEV_DRAWINGS_DIR) -> dict[str, Any] | None:
    """Pitch score on the composer's drawings (pitch from the file name); None if the folder is missing."""
    from bridge.adapters.image_files import load_canvas_image

    files = sorted(folder.glob("draw*_*.png"))
    if not files:
        log.warning("no composer drawings in %s: drawings_dev score not measured", folder)
        return None
    x = np.stack([preprocess(load_canvas_image(f), size_px=size_px) for f in files])
    pred = predict_tflite(tflite, x)["pitch"].argmax(axis=1)
    truth = np.array([int(f.stem[4:].split("_")[0]) - PITCHES[0] for f in files])
    wrong = [f.name for f, t, p in zip(files, truth, pred) if t != p]
    return {"correct": int((truth == pred).sum()), "total": len(files), "wrong": wrong}


# ---------------------------------------------------------------- pictures (pillow; no plotting library needed)


def save_confusion_pngs(confusion: dict[str, np.ndarray], out_dir: Path) -> None:
    from PIL import Image, ImageDraw

    for head, matrix in confusion.items():
        names = [str(c) for c in CLASSES[head]]
        k, cell, margin = len(names), 44, 80
        image = Image.new("RGB", (margin + k * cell + 10, margin + k * cell + 30), "white")
        draw = ImageDraw.Draw(image)
        rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        for i in range(k):
            draw.text((4, margin + i * cell + cell // 2 - 5), names[i][:9], fill="black")
            draw.text((margin + i * cell + 4, margin - 16), names[i][:6], fill="black")
            for j in range(k):
                shade = int(255 * (1 - rows[i, j]))
                box = (margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 1, margin + (i + 1) * cell - 1)
                draw.rectangle(box, fill=(shade, shade, 255), outline=(200, 200, 200))
                draw.text((box[0] + 4, box[1] + cell // 2 - 5), str(int(matrix[i, j])),
                          fill="white" if rows[i, j] > 0.5 else "black")
        draw.text((4, 4), f"{head}: rows = true class, columns = predicted (validation)", fill="black")
        draw.text((4, margin + k * cell + 10), f"accuracy {np.trace(matrix) / max(matrix.sum(), 1):.4f}", fill="black")
        _save_png(image, out_dir / f"confusion_{head}.png")


def save_curves_png(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, training (thin) and validation (thick), one colour per head."""
    from PIL import Image, ImageDraw

    colours = {"pitch": (200, 0, 0), "volume": (0, 120, 0), "timbre": (0, 0, 200)}
    width, height, pad = 900, 340, 40
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    panels = [("loss", 0), ("acc", width // 2)]
    for metric, x0 in panels:
        keys = [k for k in history if k.endswith(f"_{metric}") and k.split("_")[-2] in colours]
        values = np.concatenate([history[k] for k in keys]) if keys else np.zeros(1)
        lo, hi = (float(values.min()), float(values.max())) if metric == "loss" else (float(values.min()), 1.0)
        hi = hi if hi > lo else lo + 1
        box = (x0 + pad, pad, x0 + width // 2 - 10, height - pad)
        draw.rectangle(box, outline="black")
        draw.text((box[0], 10), f"{metric} per epoch (thin: training, thick: validation)", fill="black")
        draw.text((box[0] - 36, box[1]), f"{hi:.3g}", fill="black")
        draw.text((box[0] - 36, box[3] - 10), f"{lo:.3g}", fill="black")
        for key in keys:
            series = history[key]
            if len(series) < 2:
                continue
            xs = np.linspace(box[0], box[2], len(series))
            ys = box[3] - (np.asarray(series) - lo) / (hi - lo) * (box[3] - box[1])
            head = key.split("_")[-2]
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colours[head], width=3 if key.startswith("val_") else 1)
        for i, (head, colour) in enumerate(colours.items()):
            draw.text((box[0] + 8 + 70 * i, box[3] + 8), head, fill=colour)
    _save_png(image, path)


def _save_png(image: Any, path: Path) -> None:
    """A PIL image written atomically as PNG."""
    write_atomically(path, lambda handle: image.save(handle, format="PNG"))
