"""`train-sound`: train the mel-spectrogram CNN, measure it against the DSP estimates, export the model.

Recipe (seeded, reproducible): NSynth subset train notes + GM soundfont notes of `TRAIN_PROGRAMS`
(each note in SPEC §3's three levels) -> a small 3-head CNN (pitch, volume, timbre) on THE log-mel of
bridge.adapters.audio_features. Measured on NSynth validation, on `HELD_OUT_PROGRAMS` rendered the same
way (instruments never heard in training) and, when installed, on a second soundfont (TimGM6mb).
For each label the more accurate method (CNN or DSP) becomes the default in the metadata.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.adapters.audio_features import (
    INPUT_SHAPE,
    PREPROCESSING_VERSION,
    SoundFeatures,
    prepare,
)
from bridge.adapters.sound_classifier import (
    METADATA_FILE,
    MODEL_DIR,
    MODEL_FILE,
    LiteRTModel,
    dsp_pitch,
    dsp_volume,
)
from bridge.adapters.soundbank_index import cache_dir
from bridge.core import audio_levels
from bridge.core.labels import CLASSES, HEADS, PITCHES, TIMBRES, VOLUMES
from bridge.training import sound_data
from bridge.training.sound_data import LabelledSound

log = logging.getLogger(__name__)

SHARED_NSYNTH = Path(__file__).resolve().parents[3] / "shared" / "data" / "nsynth_subset"


@dataclass(frozen=True)
class TrainConfig:
    nsynth_dir: Path = SHARED_NSYNTH
    soundfont: str = sound_data.DEFAULT_SOUNDFONT
    second_soundfont: str | None = sound_data.SECOND_SOUNDFONT
    out_dir: Path = MODEL_DIR
    cache_dir: Path | None = None
    seed: int = 1234
    epochs: int = 10
    nsynth_repeat: int = 4  # the NSynth notes are seen this many times per epoch (the reference instruments)
    batch_size: int = 64
    learning_rate: float = 2e-3
    velocities_per_note: int = 3
    workers: int = max(1, min(2, os.cpu_count() or 1))
    train_programs: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(sound_data.TRAIN_PROGRAMS))
    held_out_programs: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(sound_data.HELD_OUT_PROGRAMS))


@dataclass
class FeatureSet:
    """Features and labels of one data set. x: (n, N_MELS, N_FRAMES) float32; y: head -> (n,) int."""

    name: str
    x: np.ndarray
    y: dict[str, np.ndarray]
    features: list[SoundFeatures]
    sources: list[str]


def _prepare_one(item: tuple[np.ndarray, int]) -> SoundFeatures:
    audio, rate = item
    return prepare(audio, sample_rate_hz=rate)


def featurize(name: str, sounds: Sequence[LabelledSound], *, workers: int, cache_dir: Path | None = None) -> FeatureSet:
    """THE preprocessing over a list of sounds, spread over processes; cached per group of sounds (one
    NSynth folder or one rendered program) under cache_dir, keyed by the audio content."""
    started = time.perf_counter()
    groups: dict[str, list[int]] = {}
    for i, sound in enumerate(sounds):
        groups.setdefault(sound.source.rsplit(":", 2)[0] if sound.source.startswith("gm:") else "nsynth", []).append(i)
    feats: list[SoundFeatures | None] = [None] * len(sounds)
    missing: list[int] = []
    for members in groups.values():
        cached = _cached_features([sounds[i] for i in members], cache_dir) if cache_dir else None
        if cached is None:
            missing.extend(members)
        else:
            for i, f in zip(members, cached):
                feats[i] = f
    items = [(sounds[i].audio, sounds[i].sample_rate_hz) for i in missing]
    if workers > 1 and len(items) > 64:
        with ProcessPoolExecutor(workers) as pool:
            computed = list(pool.map(_prepare_one, items, chunksize=64))
    else:
        computed = [_prepare_one(item) for item in items]
    for i, f in zip(missing, computed):
        feats[i] = f
    if cache_dir:
        missing_set = set(missing)
        for members in groups.values():
            if missing_set.intersection(members):
                _store_features([sounds[i] for i in members], [feats[i] for i in members], cache_dir)
    idx = np.array([s.label_indices() for s in sounds], dtype=np.int64).reshape(-1, 3)
    log.info("%s: %d sounds featurised (%d from the cache) in %.1f s", name, len(sounds), len(sounds) - len(missing),
             time.perf_counter() - started)
    done = [f for f in feats if f is not None]
    return FeatureSet(
        name=name,
        x=np.stack([f.log_mel for f in done]).astype(np.float32),
        y={head: idx[:, i] for i, head in enumerate(HEADS)},
        features=done,
        sources=[s.source for s in sounds],
    )


_FEATURE_FIELDS = ("f0_hz", "midi_note", "pitch_stability", "rms_dbfs", "peak_dbfs", "clip_fraction",
                   "clipped_samples", "duration_s")


def _features_key(sounds: Sequence[LabelledSound], cache_dir: Path) -> Path:
    digest = hashlib.sha1(f"{PREPROCESSING_VERSION}|levels-v2|{len(sounds)}".encode())
    for s in sounds:
        digest.update(s.audio.tobytes())
        digest.update(str(s.sample_rate_hz).encode())
    return cache_dir / f"features-{digest.hexdigest()[:20]}.npz"


def _cached_features(sounds: Sequence[LabelledSound], cache_dir: Path) -> list[SoundFeatures] | None:
    path = _features_key(sounds, cache_dir)
    if not path.exists():
        return None
    with np.load(path) as data:
        cols = {k: data[k] for k in _FEATURE_FIELDS}
        mels = data["log_mel"]
    return [
        SoundFeatures(
            log_mel=mels[i],
            f0_hz=None if np.isnan(cols["f0_hz"][i]) else float(cols["f0_hz"][i]),
            midi_note=None if np.isnan(cols["midi_note"][i]) else float(cols["midi_note"][i]),
            pitch_stability=float(cols["pitch_stability"][i]),
            rms_dbfs=float(cols["rms_dbfs"][i]),
            peak_dbfs=float(cols["peak_dbfs"][i]),
            clip_fraction=float(cols["clip_fraction"][i]),
            clipped_samples=int(cols["clipped_samples"][i]),
            duration_s=float(cols["duration_s"][i]),
        )
        for i in range(len(mels))
    ]


def _store_features(sounds: Sequence[LabelledSound], feats: list, cache_dir: Path) -> None:
    path = _features_key(sounds, cache_dir)
    cols = {k: np.array([np.nan if getattr(f, k) is None else getattr(f, k) for f in feats]) for k in _FEATURE_FIELDS}
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, log_mel=np.stack([f.log_mel for f in feats]), **cols)
    os.replace(tmp, path)


def build_model(seed: int):
    """A small CNN with three softmax heads. Input (N_MELS, N_FRAMES, 1)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=INPUT_SHAPE, name="log_mel")
    x = inp
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    # Pitch and volume keep where in frequency things are: average over time only, then flatten.
    by_freq = layers.Flatten()(layers.AveragePooling2D(pool_size=(1, x.shape[2]))(x))
    by_freq = layers.Dropout(0.3)(by_freq)
    # Timbre also gets position-free summaries (so a family is recognised at any pitch).
    pooled = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    shared = layers.Dense(128, activation="relu")(by_freq)
    timbre_in = layers.Dropout(0.3)(layers.Concatenate()([shared, pooled]))
    outputs = {
        "pitch": layers.Dense(len(PITCHES), activation="softmax", name="pitch")(shared),
        "volume": layers.Dense(len(VOLUMES), activation="softmax", name="volume")(shared),
        "timbre": layers.Dense(len(TIMBRES), activation="softmax", name="timbre")(
            layers.Dense(64, activation="relu")(timbre_in)
        ),
    }
    return keras.Model(inp, outputs, name="sound_cnn")


def _augment(x, y, rng_seed):
    """Per-example random shift of up to 3 frames, one frequency mask of up to 6 mel bands and a random
    spectral tilt of up to +-6 dB across the mel range (other instruments, rooms and microphones)."""
    import tensorflow as tf

    shift = tf.random.stateless_uniform([], seed=rng_seed, minval=0, maxval=4, dtype=tf.int32)
    floor = tf.fill([INPUT_SHAPE[0], shift, 1], -2.0)
    x = tf.concat([floor, x[:, : INPUT_SHAPE[1] - shift, :]], axis=1)
    width = tf.random.stateless_uniform([], seed=rng_seed + 1, minval=0, maxval=7, dtype=tf.int32)
    start = tf.random.stateless_uniform([], seed=rng_seed + 2, minval=0, maxval=INPUT_SHAPE[0] - 6, dtype=tf.int32)
    bands = tf.range(INPUT_SHAPE[0])
    mask = tf.cast((bands >= start) & (bands < start + width), tf.float32)[:, None, None]
    x = x * (1.0 - mask) + (-2.0) * mask
    tilt_db = tf.random.stateless_uniform([], seed=rng_seed + 3, minval=-6.0, maxval=6.0)
    ramp = tf.linspace(-0.5, 0.5, INPUT_SHAPE[0])[:, None, None]
    return tf.maximum(x + tilt_db / 50.0 * ramp, -2.0), y


def train_model(train: FeatureSet, cfg: TrainConfig):
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(cfg.seed)
    is_nsynth = np.array([not src.startswith("gm:") for src in train.sources])
    order = np.concatenate([np.arange(len(train.x))] + [np.flatnonzero(is_nsynth)] * (cfg.nsynth_repeat - 1))
    x, y = train.x[order], {h: train.y[h][order] for h in HEADS}
    steps = int(np.ceil(len(order) / cfg.batch_size)) * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={h: "sparse_categorical_crossentropy" for h in HEADS},
        loss_weights={"pitch": 1.0, "volume": 1.0, "timbre": 1.5},
        metrics={h: "accuracy" for h in HEADS},
    )
    n = len(order)
    data = tf.data.Dataset.from_tensor_slices((x[..., None], y))
    data = data.shuffle(n, seed=cfg.seed, reshuffle_each_iteration=True)
    # A new augmentation per example and epoch: the random stream is zipped after shuffling.
    seeds = tf.data.Dataset.random(seed=cfg.seed).map(lambda r: tf.cast(r % (2**31 - 8), tf.int32))
    ds = (
        tf.data.Dataset.zip((data, seeds))
        .map(lambda xy, s: _augment(xy[0], xy[1], tf.stack([s, s])), num_parallel_calls=1, deterministic=True)
        .batch(cfg.batch_size)
        .prefetch(2)
    )
    with contextlib.redirect_stdout(sys.stderr):  # progress on stderr: stdout is the command's result
        model.fit(ds, epochs=cfg.epochs, verbose=2)
    return model


def export_tflite(model, path: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range int8 weights: 4x smaller
    data = converter.convert()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def predict_tflite(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Probabilities of the exported model, through the same LiteRT code as indexing."""
    return LiteRTModel(path.read_bytes(), num_threads=2).predict_proba(x)


def dsp_predictions(fs: FeatureSet) -> dict[str, np.ndarray]:
    """DSP class indices (-1 where YIN found no f0)."""
    pitch = np.array([PITCHES.index(p[0]) if (p := dsp_pitch(f)) else -1 for f in fs.features])
    volume = np.array([VOLUMES.index(dsp_volume(f)[0]) for f in fs.features])
    return {"pitch": pitch, "volume": volume}


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if p >= 0:
            m[t, p] += 1
    return m


def evaluate(fs: FeatureSet, cnn_probs: dict[str, np.ndarray]) -> dict[str, dict]:
    """{method: {head: {"accuracy", "n", "confusion"}}} for one data set."""
    preds = {"cnn": {h: np.argmax(p, axis=1) for h, p in cnn_probs.items()}, "dsp": dsp_predictions(fs)}
    out: dict[str, dict] = {}
    for method, by_head in preds.items():
        out[method] = {}
        for head, pred in by_head.items():
            out[method][head] = {
                "accuracy": round(float(np.mean(pred == fs.y[head])), 4),
                "n": len(pred),
                "confusion": confusion(fs.y[head], pred, len(CLASSES[head])).tolist(),
            }
    return out


def choose_defaults(results: dict[str, dict]) -> dict[str, str]:
    """Per head, the method with the higher mean accuracy over the test sets (ties go to DSP: cheaper)."""
    defaults = {}
    for head in HEADS:
        scores = {}
        for method in ("cnn", "dsp"):
            accs = [r[method][head]["accuracy"] for r in results.values() if head in r.get(method, {})]
            if accs:
                scores[method] = float(np.mean(accs))
        defaults[head] = max(scores, key=lambda m: (scores[m], m == "dsp"))
    return defaults


def dsp_calibration(fs: FeatureSet) -> dict[str, float]:
    """How well the level thresholds separate the training notes (for the record)."""
    peak = np.array([f.peak_dbfs for f in fs.features])
    clipped = np.array([f.clipped_samples for f in fs.features])
    rms = np.array([f.rms_dbfs for f in fs.features])
    vol = fs.y["volume"]
    return {
        "low_peak_max_dbfs": round(float(peak[vol == 0].max()), 2),
        "med_peak_min_dbfs": round(float(peak[vol == 1].min()), 2),
        "med_rms_max_dbfs": round(float(rms[vol == 1].max()), 2),
        "med_clipped_samples_max": int(clipped[vol == 1].max()),
        "high_clipped_samples_min": int(clipped[vol == 2].min()),
    }


def run(cfg: TrainConfig) -> dict:
    """The whole recipe; writes the model, metadata and confusion PNGs into cfg.out_dir."""
    started = time.perf_counter()
    cache = cfg.cache_dir or cache_dir() / "renders"
    train_sounds = sound_data.load_nsynth(cfg.nsynth_dir / "train") + sound_data.rendered_sounds(
        cfg.train_programs, soundfont=cfg.soundfont, velocities_per_note=cfg.velocities_per_note,
        seed=cfg.seed, cache_dir=cache,
    )
    test_sets = {
        "nsynth_validation": sound_data.load_nsynth(cfg.nsynth_dir / "validation"),
        "gm_held_out": sound_data.rendered_sounds(
            cfg.held_out_programs, soundfont=cfg.soundfont, velocities_per_note=cfg.velocities_per_note,
            seed=cfg.seed + 1, cache_dir=cache,
        ),
    }
    if cfg.second_soundfont and os.path.exists(cfg.second_soundfont):
        # Each training program also through a second soundfont's samples (more instruments per family);
        # the held-out programs of that soundfont are a second unseen-instrument test.
        train_sounds += sound_data.rendered_sounds(
            cfg.train_programs, soundfont=cfg.second_soundfont, velocities_per_note=2, seed=cfg.seed + 3,
            cache_dir=cache,
        )
        test_sets["second_soundfont_held_out"] = sound_data.rendered_sounds(
            cfg.held_out_programs, soundfont=cfg.second_soundfont, velocities_per_note=cfg.velocities_per_note,
            seed=cfg.seed + 2, cache_dir=cache,
        )
    else:
        log.warning("second soundfont %s not installed (apt-get install timgm6mb-soundfont): training on one "
                    "soundfont only", cfg.second_soundfont)
    train = featurize("train", train_sounds, workers=cfg.workers, cache_dir=cache)
    tests = {name: featurize(name, sounds, workers=cfg.workers, cache_dir=cache) for name, sounds in test_sets.items()}
    del train_sounds, test_sets

    t0 = time.perf_counter()
    model = train_model(train, cfg)
    train_seconds = time.perf_counter() - t0
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = cfg.out_dir / MODEL_FILE
    export_tflite(model, model_path)

    results = {name: evaluate(fs, predict_tflite(model_path, fs.x)) for name, fs in tests.items()}
    defaults = choose_defaults(results)
    for name, res in results.items():
        save_confusion_png(res, cfg.out_dir / f"confusion_{name}.png", title=name)
    meta = {
        "name": "sound_cnn",
        "format": "tflite (LiteRT), dynamic-range quantised",
        "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),  # checked when the model loads
        "classes": {h: list(CLASSES[h]) for h in HEADS},
        "input_shape": list(INPUT_SHAPE),
        "input": "bridge.adapters.audio_features.prepare(...).log_mel",
        "preprocessing_version": PREPROCESSING_VERSION,
        "default_methods": defaults,
        "methods": {
            "cnn": "mel-spectrogram CNN, 3 softmax heads",
            "dsp_pitch": "YIN f0, RMS-weighted vote of octave-folded semitones over the first second",
            "dsp_volume": (
                f"high if >= {audio_levels.HIGH_MIN_CLIPPED_SAMPLES} samples at full scale or RMS > "
                f"{audio_levels.HIGH_RMS_ABOVE_DBFS} dBFS; low if peak < {audio_levels.LOW_PEAK_BELOW_DBFS} dBFS; "
                "else med"
            ),
        },
        "dsp_calibration_on_train": dsp_calibration(train),
        "accuracy": {name: {m: {h: r["accuracy"] for h, r in by.items()} for m, by in res.items()}
                     for name, res in results.items()},
        "confusion": {name: {m: {h: r["confusion"] for h, r in by.items()} for m, by in res.items()}
                      for name, res in results.items()},
        "test_set_sizes": {name: len(fs.x) for name, fs in tests.items()},
        "training": {
            "data": "NSynth subset train (../shared/data/nsynth_subset/train) + notes of train_programs rendered "
                    "with fluidsynth from soundfont (3 velocities per note) and second_soundfont (2 velocities), "
                    "SPEC §3 gain scheme (med peak-normalised to -9..-0.5 dBFS)",
            "soundfont": Path(cfg.soundfont).name,
            "second_soundfont": Path(cfg.second_soundfont).name if cfg.second_soundfont else None,
            "train_programs": cfg.train_programs,
            "held_out_programs": cfg.held_out_programs,
            "n_train": len(train.x),
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "nsynth_repeat": cfg.nsynth_repeat,
            "batch_size": cfg.batch_size,
            "learning_rate": cfg.learning_rate,
            "velocities_per_note": cfg.velocities_per_note,
            "train_seconds": round(train_seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
        },
        "command": "python run_bridge.py train-sound",
    }
    tmp = cfg.out_dir / (METADATA_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, cfg.out_dir / METADATA_FILE)
    return meta


def save_confusion_png(result: dict[str, dict], path: Path, *, title: str, cell_px: int = 24) -> None:
    """One PNG per test set: a row per method, a confusion matrix per head (rows true, columns predicted)."""
    from PIL import Image, ImageDraw

    margin, gap, head_px = 34, 20, 34
    block_h = head_px + len(PITCHES) * cell_px + 24
    width = gap + sum(margin + len(CLASSES[h]) * cell_px + gap for h in HEADS)
    img = Image.new("RGB", (width, 26 + len(result) * block_h), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), f"{title}: confusion matrices (rows = true class, columns = predicted)", fill="black")
    for r, (method, by_head) in enumerate(result.items()):
        top = 26 + r * block_h
        left = gap
        for head in HEADS:
            names = [str(c)[:3] for c in CLASSES[head]]
            x0, y0 = left + margin, top + head_px
            if head in by_head:
                m = np.array(by_head[head]["confusion"])
                draw.text((left, top), f"{method.upper()} {head}: {by_head[head]['accuracy']:.1%}", fill="black")
                norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
                for i, name in enumerate(names):
                    draw.text((left + 2, y0 + i * cell_px + 6), name, fill="black")
                    draw.text((x0 + i * cell_px + 2, y0 - 14), name, fill="black")
                    for j in range(len(names)):
                        shade = int(255 * (1 - norm[i, j]))
                        color = (shade, shade, 255) if i == j else (255, shade, shade)
                        box = (x0 + j * cell_px, y0 + i * cell_px)
                        draw.rectangle([*box, box[0] + cell_px - 1, box[1] + cell_px - 1], fill=color, outline="#ccc")
                        if m[i, j]:
                            ink = "white" if norm[i, j] > 0.6 else "black"
                            draw.text((box[0] + 3, box[1] + 6), str(m[i, j]), fill=ink)
            left += margin + len(names) * cell_px + gap
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp)
    os.replace(tmp, path)
