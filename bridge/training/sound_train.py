"""`train-sound`: train the mel-spectrogram CNN, measure it against the DSP estimates, export the model.

Recipe (seeded, reproducible): NSynth subset train notes + every note of MIDI 36..96 of `TRAIN_PROGRAMS`
rendered through the training soundfonts with a real library's variety (bridge.training.sound_data) ->
`members` small 3-head CNNs (pitch, volume, timbre) on THE log-mel of bridge.adapters.audio_features,
trained with seeds seed, seed+1, ... in parallel processes and exported as one model that averages
their probabilities (two nets err on different unheard instruments). Measured
on NSynth validation, on `HELD_OUT_PROGRAMS` through the training soundfonts and on every program
through a held-out soundfont (instruments never heard in training). For each label the more accurate
method (CNN or DSP) becomes the default in the metadata.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.adapters.audio_features import DB_PER_UNIT, INPUT_SHAPE, LOG_MEL_FLOOR, PREPROCESSING_VERSION
from bridge.adapters.sound_classifier import (
    CNN_SURE_ABOVE,
    HARMONIC_WITHIN_PEAK_DB,
    METADATA_FILE,
    MODEL_DIR,
    MODEL_FILE,
    SUBHARMONIC_BELOW_PEAK_DB,
    TIME_SHIFTS,
    UNSURE_BELOW_STABILITY,
)
from bridge.adapters.soundbank_index import cache_dir
from bridge.core import audio_levels
from bridge.core.labels import CLASSES, HEADS, PITCHES, TIMBRES, VOLUMES
from bridge.training import sound_data, sound_eval
from bridge.training.sound_features import RECIPE_VERSION, FeatureSet, nsynth_set, runs_set

SHARED_NSYNTH = Path(__file__).resolve().parents[3] / "shared" / "data" / "nsynth_subset"


def soundfont_by_path(path: str) -> sound_data.Soundfont:
    """A soundfont by path (the known ones keep the package that installs them)."""
    known = {sf.path: sf for sf in (*sound_data.TRAIN_SOUNDFONTS, sound_data.HELD_OUT_SOUNDFONT)}
    return known.get(path) or sound_data.Soundfont(path, "a General MIDI soundfont")


@dataclass(frozen=True)
class TrainConfig:
    nsynth_dir: Path = SHARED_NSYNTH
    soundfonts: tuple[str, ...] = tuple(sf.path for sf in sound_data.TRAIN_SOUNDFONTS)
    held_out_soundfont: str = sound_data.HELD_OUT_SOUNDFONT.path
    out_dir: Path = MODEL_DIR
    cache_dir: Path | None = None
    seed: int = 1234
    epochs: int = 40
    members: int = 2  # nets trained with seeds seed, seed+1, ...; the exported model averages them
    passes: int = 2  # each training program is rendered this many times per soundfont, with new draws
    nsynth_repeat: int = 4  # the NSynth notes are seen this many times per epoch (the reference instruments)
    batch_size: int = 64
    learning_rate: float = 2e-3
    workers: int = max(1, min(2, os.cpu_count() or 1))
    train_programs: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(sound_data.TRAIN_PROGRAMS))
    held_out_programs: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(sound_data.HELD_OUT_PROGRAMS))

    @property
    def cache(self) -> Path:
        return self.cache_dir or cache_dir() / "renders"


def training_runs(cfg: TrainConfig) -> list[sound_data.RenderRun]:
    return sound_data.plan_runs(cfg.train_programs, tuple(soundfont_by_path(p) for p in cfg.soundfonts), seed=cfg.seed,
                                passes=cfg.passes, all_volumes=False)


def test_runs(cfg: TrainConfig) -> dict[str, list[sound_data.RenderRun]]:
    """The unseen-instrument tests, every note in the three levels: the held-out programs through the
    training soundfonts, and every program (trained and held out) through the held-out soundfont."""
    every = {f: tuple(sorted(cfg.train_programs.get(f, ()) + cfg.held_out_programs.get(f, ()))) for f in TIMBRES}
    training = tuple(soundfont_by_path(p) for p in cfg.soundfonts)
    held_out = soundfont_by_path(cfg.held_out_soundfont)
    return {
        "gm_held_out": sound_data.plan_runs(cfg.held_out_programs, training, seed=cfg.seed + 1, all_volumes=True),
        "soundfont_held_out": sound_data.plan_runs(every, (held_out,), seed=cfg.seed + 2, all_volumes=True),
    }


def training_set(cfg: TrainConfig) -> FeatureSet:
    nsynth = nsynth_set("train", cfg.nsynth_dir / "train", cfg.cache)
    rendered = runs_set("train", training_runs(cfg), cfg.cache, workers=cfg.workers)
    return FeatureSet.concat("train", [nsynth, rendered])


def test_sets(cfg: TrainConfig) -> dict[str, FeatureSet]:
    sets = {"nsynth_validation": nsynth_set("nsynth_validation", cfg.nsynth_dir / "validation", cfg.cache)}
    for name, runs in test_runs(cfg).items():
        sets[name] = runs_set(name, runs, cfg.cache, workers=cfg.workers)
    return sets


CONV_FILTERS = (32, 64, 128, 192, 256)


def build_model(seed: int, name: str = "sound_cnn"):
    """A small CNN with three softmax heads. Input (N_MELS, N_FRAMES, 1): the log-mel as prepared, and
    beside it (a second channel made inside the model) the same spectrogram relative to its loudest
    bin, so pitch and timbre are seen apart from the level while volume keeps the absolute level."""
    import keras
    from keras import layers, ops

    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape=INPUT_SHAPE, name="log_mel")
    relative = layers.Lambda(lambda t: t - ops.max(t, axis=(1, 2, 3), keepdims=True), name="re_loudest")(inp)
    x = layers.Concatenate()([inp, relative])
    x = layers.AveragePooling2D((1, 2))(x)  # 40 ms frames: enough for attacks, half the cost
    for i, filters in enumerate(CONV_FILTERS):
        # Depthwise-separable after the first layer: a third of the cost of full convolutions here.
        conv = layers.Conv2D if i == 0 else layers.SeparableConv2D
        x = conv(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if i < len(CONV_FILTERS) - 1:
            x = layers.MaxPooling2D(2)(x)
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
            layers.Dense(96, activation="relu")(timbre_in)
        ),
    }
    return keras.Model(inp, outputs, name=name)


def ensemble_model(members: list):
    """One model whose heads are the mean of the members' probabilities."""
    import keras
    from keras import layers

    inp = keras.Input(shape=INPUT_SHAPE, name="log_mel")
    outs = [member(inp) for member in members]
    outputs = {h: layers.Average(name=h)([o[h] for o in outs]) for h in HEADS}
    return keras.Model(inp, outputs, name="sound_cnn")


def _augment(x, rng_seed):
    """Per-example random shift of up to 3 frames, one frequency mask of up to 6 mel bands, a random
    spectral tilt of up to +-6 dB across the mel range and two random smooth resonances (other
    instruments, sample sets, rooms and microphones)."""
    import tensorflow as tf

    shift = tf.random.stateless_uniform([], seed=rng_seed, minval=0, maxval=4, dtype=tf.int32)
    floor = tf.fill([INPUT_SHAPE[0], shift, 1], LOG_MEL_FLOOR)
    x = tf.concat([floor, x[:, : INPUT_SHAPE[1] - shift, :]], axis=1)
    width = tf.random.stateless_uniform([], seed=rng_seed + 1, minval=0, maxval=7, dtype=tf.int32)
    start = tf.random.stateless_uniform([], seed=rng_seed + 2, minval=0, maxval=INPUT_SHAPE[0] - 6, dtype=tf.int32)
    bands = tf.range(INPUT_SHAPE[0])
    mask = tf.cast((bands >= start) & (bands < start + width), tf.float32)[:, None, None]
    x = x * (1.0 - mask) + LOG_MEL_FLOOR * mask
    tilt_db = tf.random.stateless_uniform([], seed=rng_seed + 3, minval=-6.0, maxval=6.0)
    ramp = tf.linspace(-0.5, 0.5, INPUT_SHAPE[0])[:, None, None]
    # Two smooth resonances or dips (another sample set's colour): +-6 dB, 4..16 mel bands wide.
    centres = tf.random.stateless_uniform([2], seed=rng_seed + 4, minval=0.0, maxval=float(INPUT_SHAPE[0]))
    widths = tf.random.stateless_uniform([2], seed=rng_seed + 5, minval=2.0, maxval=8.0)
    gains = tf.random.stateless_uniform([2], seed=rng_seed + 6, minval=-6.0, maxval=6.0)
    band = tf.cast(tf.range(INPUT_SHAPE[0]), tf.float32)[:, None]
    eq_db = tf.reduce_sum(gains * tf.exp(-0.5 * tf.square((band - centres) / widths)), axis=1)[:, None, None]
    return tf.maximum(x + (tilt_db * ramp + eq_db) / DB_PER_UNIT, LOG_MEL_FLOOR)


TRANSPOSED_SHARE = 0.5  # of the examples, each epoch
TRANSPOSE_BANDS = 4  # at most; above 1 kHz a mel band is about 0.56 semitone


def _transposed(x, rng_seed):
    """(x moved up or down by 1..TRANSPOSE_BANDS mel bands for TRANSPOSED_SHARE of the examples, 1.0 where moved):
    the instrument as a sampler plays it off its recorded key, its formants moved with its pitch. The
    family and level stay; the pitch class does not, so a moved example teaches no pitch."""
    import tensorflow as tf

    draw = tf.random.stateless_uniform([], seed=rng_seed + 7)
    bands = tf.random.stateless_uniform([], seed=rng_seed + 8, minval=1, maxval=TRANSPOSE_BANDS + 1, dtype=tf.int32)
    shift = tf.where(draw < TRANSPOSED_SHARE / 2, bands, tf.where(draw < TRANSPOSED_SHARE, -bands, 0))
    source = tf.range(INPUT_SHAPE[0]) - shift
    inside = ((source >= 0) & (source < INPUT_SHAPE[0]))[:, None, None]
    moved = tf.where(inside, tf.roll(x, shift=shift, axis=0), LOG_MEL_FLOOR)
    return moved, tf.cast(shift != 0, tf.float32)


def _example(features, index, labels, weights, seed):
    """One training example as the model sees it: augmented, perhaps transposed (then without pitch weight)."""
    import tensorflow as tf

    rng_seed = tf.stack([seed, seed])
    x, moved = _transposed(_augment(tf.gather(features, index)[..., None], rng_seed), rng_seed)
    return x, labels, {**weights, "pitch": weights["pitch"] * (1.0 - moved)}


def family_weights(timbre: np.ndarray) -> np.ndarray:
    """Per-sound weight of the timbre loss that gives every family the same total weight."""
    counts = np.bincount(timbre, minlength=len(TIMBRES)).astype(np.float64)
    per_family = counts.sum() / (len(TIMBRES) * np.maximum(counts, 1))
    return per_family[timbre].astype(np.float32)


def train_model(train: FeatureSet, cfg: TrainConfig, seed: int):
    """One member, trained on `train` with its own seed (initial weights, order, augmentation)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(seed)
    is_nsynth = train.groups == "nsynth"
    order = np.concatenate([np.arange(len(train))] + [np.flatnonzero(is_nsynth)] * (cfg.nsynth_repeat - 1))
    y = {h: train.y[h][order] for h in HEADS}
    weights = {h: np.ones(len(order), np.float32) for h in HEADS}
    weights["timbre"] = family_weights(y["timbre"])
    steps = int(np.ceil(len(order) / cfg.batch_size)) * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss={h: "sparse_categorical_crossentropy" for h in HEADS},
        loss_weights={"pitch": 1.0, "volume": 1.0, "timbre": 1.5},
        metrics={h: "accuracy" for h in HEADS},
    )
    n = len(order)
    # The examples are gathered by index inside the pipeline, so the spectrograms are held once.
    features = tf.constant(train.x)
    data = tf.data.Dataset.from_tensor_slices((order, y, weights))
    data = data.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    # A new augmentation per example and epoch: the random stream is zipped after shuffling.
    seeds = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % (2**31 - 8), tf.int32))
    ds = (
        tf.data.Dataset.zip((data, seeds))
        .map(lambda d, s: _example(features, d[0], d[1], d[2], s), num_parallel_calls=1, deterministic=True)
        .batch(cfg.batch_size)
        .prefetch(2)
    )
    with contextlib.redirect_stdout(sys.stderr):  # progress on stderr: stdout is the command's result
        model.fit(ds, epochs=cfg.epochs, verbose=2)
    return model


_INHERITED: dict = {}  # the training set and config, handed to the member processes by fork (not pickled)


def _train_member(seed: int, weights_path: str) -> None:
    """Member process: train one member on the inherited training set, save its weights (.npz)."""
    model = train_model(_INHERITED["train"], _INHERITED["cfg"], seed)
    np.savez(weights_path, *model.get_weights())


def member_seeds(cfg: TrainConfig) -> list[int]:
    return [cfg.seed + i for i in range(cfg.members)]


def train_members(train: FeatureSet, cfg: TrainConfig) -> list:
    """Every member, trained in up to cfg.workers forked processes (TensorFlow is imported only in them,
    so the parent forks cleanly), rebuilt here from their saved weights."""
    seeds = member_seeds(cfg)
    with tempfile.TemporaryDirectory(prefix="p2a-members-") as tmp:
        paths = [str(Path(tmp) / f"member-{seed}.npz") for seed in seeds]
        _INHERITED.update(train=train, cfg=cfg)
        try:
            with ProcessPoolExecutor(max(1, min(len(seeds), cfg.workers)),
                                     mp_context=multiprocessing.get_context("fork")) as pool:
                for future in [pool.submit(_train_member, s, p) for s, p in zip(seeds, paths)]:
                    future.result()
        finally:
            _INHERITED.clear()
        members = []
        for i, (seed, path) in enumerate(zip(seeds, paths)):
            member = build_model(seed, name=f"member_{i}")
            with np.load(path) as weights:
                member.set_weights([weights[f"arr_{k}"] for k in range(len(weights.files))])
            members.append(member)
    return members


def export_tflite(model, path: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range int8 weights: 4x smaller
    data = converter.convert()
    write_atomically(path, lambda handle: handle.write(data))


def dsp_calibration(fs: FeatureSet) -> dict[str, float]:
    """Where the training notes of each level lie against the level rule's thresholds (for the record)."""
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
        "high_rms_min_dbfs": round(float(rms[vol == 2].min()), 2),
    }


def members_timbre_accuracy(members: list, tests: dict[str, FeatureSet]) -> dict[str, dict[str, float]]:
    """{test set: {member: timbre accuracy}} of each member exported alone, one view (no time shifts):
    what the ensemble and the shifted views add."""
    out: dict[str, dict[str, float]] = {name: {} for name in tests}
    with tempfile.TemporaryDirectory(prefix="p2a-member-") as tmp:
        for member in members:
            path = Path(tmp) / f"{member.name}.tflite"
            export_tflite(member, path)
            for name, fs in tests.items():
                timbre = sound_eval.predict_tflite(path, fs.x, time_shifts=(0,))["timbre"]
                out[name][member.name] = round(float(np.mean(np.argmax(timbre, axis=1) == fs.y["timbre"])), 4)
    return out


def measure(model_path: Path, tests: dict[str, FeatureSet]) -> tuple[dict, dict]:
    """(default methods, results per test set) of an exported model."""
    probs = {name: sound_eval.predict_tflite(model_path, fs.x) for name, fs in tests.items()}
    return sound_eval.evaluate_all(tests, probs)


def with_unseen_subset(tests: dict[str, FeatureSet], cfg: TrainConfig) -> dict[str, FeatureSet]:
    """Adds the held-out soundfont's held-out programs as their own test set (nothing of them was heard)."""
    name = "soundfont_held_out"
    if name not in tests:
        return tests
    held = {f"{Path(cfg.held_out_soundfont).stem}:{p}" for progs in cfg.held_out_programs.values() for p in progs}
    subset = tests[name].subset(np.isin(tests[name].groups, sorted(held)), "soundfont_and_programs_held_out")
    return {**tests, subset.name: subset}


def run(cfg: TrainConfig) -> dict:
    """The whole recipe; writes the model, metadata and confusion PNGs into cfg.out_dir."""
    started = time.perf_counter()
    train = training_set(cfg)
    tests = with_unseen_subset(test_sets(cfg), cfg)
    data_seconds = time.perf_counter() - started

    t0 = time.perf_counter()
    members = train_members(train, cfg)
    train_seconds = time.perf_counter() - t0
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = cfg.out_dir / MODEL_FILE
    member_timbre = members_timbre_accuracy(members, tests)
    export_tflite(ensemble_model(members), model_path)

    defaults, results = measure(model_path, tests)
    for name, res in results.items():
        sound_eval.save_confusion_png(res, cfg.out_dir / f"confusion_{name}.png", title=name)
    timings = {"data_seconds": round(data_seconds, 1), "train_seconds": round(train_seconds, 1),
               "total_seconds": round(time.perf_counter() - started, 1)}
    meta = _metadata(cfg, model_path, member_timbre, defaults, results, train, tests, timings)
    write_atomically(cfg.out_dir / METADATA_FILE, lambda handle: handle.write(json.dumps(meta, indent=1).encode()))
    return meta


def _metadata(cfg: TrainConfig, model_path: Path, member_timbre: dict[str, dict[str, float]], defaults: dict,
              results: dict, train: FeatureSet, tests: dict[str, FeatureSet], timings: dict[str, float]) -> dict:
    """What the model's JSON says: its files, classes, input, methods, accuracy per test set and its recipe."""
    return {
        "name": "sound_cnn",
        "format": "tflite (LiteRT), dynamic-range quantised",
        "members": {"seeds": member_seeds(cfg), "combined": "mean of the members' probabilities per head",
                    "timbre_accuracy_alone_one_view": member_timbre},
        "time_shifts_frames": list(TIME_SHIFTS),
        "model_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),  # checked when the model loads
        "classes": {h: list(CLASSES[h]) for h in HEADS},
        "input_shape": list(INPUT_SHAPE),
        "input": "bridge.adapters.audio_features.prepare(...).log_mel",
        "preprocessing_version": PREPROCESSING_VERSION,
        "default_methods": defaults,
        "methods": {
            "cnn": f"mel-spectrogram CNNs ({cfg.members} averaged), 3 softmax heads, probabilities averaged over "
                   f"the note delayed by {list(TIME_SHIFTS)} log-mel frames",
            "yin": "YIN f0, RMS-weighted vote of octave-folded semitones over the first second",
            "dsp_pitch": (
                f"YIN, moved up to the first multiple of its f0 that sounds (within {HARMONIC_WITHIN_PEAK_DB} dB of "
                f"the loudest band) when nothing sounds at the f0 itself ({SUBHARMONIC_BELOW_PEAK_DB} dB below it); "
                f"the CNN's pitch class where YIN's stability < {UNSURE_BELOW_STABILITY} and the CNN's "
                f"confidence >= {CNN_SURE_ABOVE} for another class"
            ),
            "dsp_volume": (
                f"high if >= {audio_levels.HIGH_MIN_CLIPPED_SAMPLES} samples at full scale or RMS > "
                f"{audio_levels.HIGH_RMS_ABOVE_DBFS} dBFS; low if peak < {audio_levels.LOW_PEAK_BELOW_DBFS} dBFS; "
                "else med"
            ),
            "index": "the labels as the index gives them: the default methods, pitch with its second opinion",
        },
        "dsp_calibration_on_train": dsp_calibration(train),
        "accuracy": {name: r["accuracy"] for name, r in results.items()},
        "results": {name: {k: v for k, v in r.items() if k not in ("accuracy", "confusion")}
                    for name, r in results.items()},
        "confusion": {name: r["confusion"] for name, r in results.items()},
        "test_set_sizes": {name: len(fs) for name, fs in tests.items()},
        "training": {
            "data": "NSynth subset train (../shared/data/nsynth_subset/train) + every note of MIDI 36..96 of "
                    "train_programs rendered with fluidsynth from each of soundfonts (passes renders per program "
                    "and soundfont, one gain-scheme level drawn per note), SPEC §3 gain scheme",
            "soundfonts": [Path(p).name for p in cfg.soundfonts],
            "held_out_soundfont": Path(cfg.held_out_soundfont).name,
            "train_programs": cfg.train_programs,
            "held_out_programs": cfg.held_out_programs,
            "variety": sound_data.variety_record(),
            "recipe_version": RECIPE_VERSION,
            "n_train": len(train),
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "members": cfg.members,
            "passes": cfg.passes,
            "nsynth_repeat": cfg.nsynth_repeat,
            "batch_size": cfg.batch_size,
            "learning_rate": cfg.learning_rate,
            **timings,
        },
        "command": "python run_bridge.py train-sound",
    }
