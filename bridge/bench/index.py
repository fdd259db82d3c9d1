"""Sound bank figures: index throughput vs. the student project's approach, and re-indexing an unchanged bank.

- `index_files_per_s`: `update_index` (worker processes, batched LiteRT, the real committed model) on a
  fresh folder of 4 s 16 kHz notes; pool start-up included.
- `seed_index_files_per_s`: the student project's approach on the same files in the same run: one file
  at a time, `librosa.load`, a 320-band mel spectrogram, three Keras CNNs each called with `model.predict`
  (untrained weights: only the time matters).
- `reindex_unchanged_s`: `update_index` on an already indexed, unchanged bank of 5,000 small files.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bridge.bench import Figure

log = logging.getLogger(__name__)

NOTE_SECONDS = 4.0
RATE_HZ = 16_000


def write_notes(folder: Path, count: int, *, seconds: float = NOTE_SECONDS, seed: int = 0) -> list[Path]:
    """count harmonic notes (random pitch 69..80, random level) as 16-bit WAVs."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    paths = []
    for i in range(count):
        f0 = 440.0 * 2 ** (rng.integers(0, 12) / 12)
        k = np.arange(1, 9)[:, None]
        tone = (np.sin(2 * np.pi * k * f0 * t) / k).sum(axis=0) * np.exp(-t * rng.uniform(0.2, 2.0))
        tone *= 10 ** (rng.uniform(-30, -1) / 20) / np.abs(tone).max()
        path = folder / f"sub{i % 10}" / f"note_{i:05d}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, tone.astype(np.float32), RATE_HZ, subtype="PCM_16")
        paths.append(path)
    return paths


def _student_models():
    import keras
    from keras import layers

    def cnn(n_classes: int):
        inp = keras.Input(shape=(320, 173, 1))
        x = layers.Conv2D(16, 3, activation="relu")(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(32, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inp, layers.Dense(n_classes, activation="softmax")(x))

    return cnn(12), cnn(3), cnn(8)


def student_files_per_s(paths: list[Path]) -> float:
    """The student project's indexing loop, timed over paths (after one warm-up file)."""
    import librosa

    models = _student_models()

    def one(path: Path) -> None:
        y, sr = librosa.load(path)  # resamples to 22,050 Hz
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=320))
        x = np.zeros((1, 320, 173, 1), np.float32)
        x[0, :, : min(173, mel.shape[1]), 0] = mel[:, :173]
        for model in models:
            model.predict(x, verbose=0)

    one(paths[0])
    started = time.perf_counter()
    for path in paths[1:]:
        one(path)
    return (len(paths) - 1) / (time.perf_counter() - started)


def our_files_per_s(folder: Path, index_path: Path) -> tuple[float, int]:
    from bridge.adapters.soundbank_index import update_index

    started = time.perf_counter()
    report = update_index(folder, index_path=index_path)
    elapsed = time.perf_counter() - started
    if report.skipped:
        raise RuntimeError(f"bench notes were skipped: {report.skipped}")
    return len(report.labelled) / elapsed, len(report.labelled)


def reindex_unchanged(folder: Path, index_path: Path, count: int) -> dict[str, float]:
    """Index count small files once, then time re-indexing them unchanged (in process, and the CLI)."""
    from bridge.adapters.soundbank_index import update_index

    write_notes(folder, count, seconds=0.05, seed=1)
    first = update_index(folder, index_path=index_path)
    assert len(first.entries) == count, first.skipped
    started = time.perf_counter()
    again = update_index(folder, index_path=index_path)
    in_process = time.perf_counter() - started
    assert not again.labelled and not again.written
    started = time.perf_counter()
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-c", "import sys; from bridge.cli import main; sys.exit(main(sys.argv[1:]))",
           "index", str(folder), "--index", str(index_path)]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    cli = time.perf_counter() - started
    if proc.returncode != 0:
        log.warning("index CLI failed (%s): %s", proc.returncode, proc.stderr[-500:])
    return {"in_process_s": in_process, "cli_s": cli if proc.returncode == 0 else float("nan"),
            "first_index_files_per_s": count / first.seconds}


def measure(*, quick: bool) -> list[Figure]:
    n_notes, n_student, n_bank = (64, 12, 1000) if quick else (400, 40, 5000)
    with tempfile.TemporaryDirectory(prefix="p2a-bench-index-") as tmp:
        tmp_path = Path(tmp)
        notes = tmp_path / "notes"
        notes.mkdir()
        paths = write_notes(notes, n_notes)
        ours, n_ours = our_files_per_s(notes, tmp_path / "notes-index.json")
        seed = student_files_per_s(paths[:n_student])
        bank = tmp_path / "bank"
        bank.mkdir()
        re = reindex_unchanged(bank, tmp_path / "bank-index.json", n_bank)
    return [
        Figure("index_files_per_s", "index throughput (4 s 16 kHz notes)", "files/s", round(ours, 2),
               baseline_key="seed_index_files_per_s", baseline=round(seed, 2), higher_is_better=True,
               notes={"n_files": n_ours, "seed_n_files": n_student - 1, "workers": os.cpu_count()}),
        Figure("reindex_unchanged_s", f"re-index unchanged bank ({n_bank} files)", "s", round(re["in_process_s"], 4),
               notes={"n_files": n_bank, "cli_s": round(re["cli_s"], 3),
                      "first_index_files_per_s": round(re["first_index_files_per_s"], 1)}),
    ]
