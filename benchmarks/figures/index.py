"""Sound bank figures: index throughput vs. a librosa + Keras baseline, start-up, memory on a long file,
and re-indexing an unchanged bank.

- `index_files_per_s`: `update_index` (worker processes, batched LiteRT, the real committed model) on a
  fresh folder of 4 s 16 kHz notes, in the steady state: files labelled per second once every worker has
  finished its first batch, up to the last batch (2,000 notes; 200 with --quick).
- `index_startup_s`: the run's fixed cost, its duration minus files / steady rate: imports, the model
  check, the warm-up labelling in the parent, forking and initialising the workers. Its parts are in the
  notes: `warm_up_s` (a fresh interpreter importing and labelling one note, `_warm_up`) and `jit_s` (0:
  nothing in the labelling path is compiled at run time).
- `seed_index_files_per_s`: the baseline, on the same files in the same run: one file
  at a time, `librosa.load`, a 320-band mel spectrogram, three Keras CNNs each called with `model.predict`
  (untrained weights: only the time matters).
- `index_peak_rss_mb`: the peak resident memory of a process indexing one 10-minute 96 kHz stereo
  16-bit WAV (1 minute with --quick), generated in a temporary folder; `short_file_mb` in its notes is
  the same for one 4 s note, so the difference is what the long file costs.
- `reindex_unchanged_s`: `update_index` on an already indexed, unchanged bank of 5,000 small files.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.figures import Figure

log = logging.getLogger(__name__)

NOTE_SECONDS = 4.0
RATE_HZ = 16_000
ROOT = Path(__file__).resolve().parents[2]


def write_notes(folder: Path, count: int, *, seconds: float = NOTE_SECONDS, seed: int = 0) -> list[Path]:
    """count harmonic notes (random pitch 69..80, random level) as 16-bit WAVs."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    k = np.arange(1, 9)[:, None]
    partials = {step: (np.sin(2 * np.pi * k * 440.0 * 2 ** (step / 12) * t) / k).sum(axis=0) for step in range(12)}
    paths = []
    for i in range(count):
        tone = partials[int(rng.integers(0, 12))] * np.exp(-t * rng.uniform(0.2, 2.0))
        tone *= 10 ** (rng.uniform(-30, -1) / 20) / np.abs(tone).max()
        path = folder / f"sub{i % 10}" / f"note_{i:05d}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(path, tone.astype(np.float32), RATE_HZ, subtype="PCM_16")
        paths.append(path)
    return paths


def write_long_file(path: Path, seconds: float, *, rate: int = 96_000, block_s: float = 10.0) -> Path:
    """A stereo 16-bit WAV of `seconds`: a slowly swept tone with a little noise, written block by block."""
    import soundfile as sf

    rng = np.random.default_rng(3)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16") as out:
        done = 0
        total = int(seconds * rate)
        while done < total:
            n = min(int(block_s * rate), total - done)
            t = (done + np.arange(n)) / rate
            tone = 0.3 * np.sin(2 * np.pi * (220.0 + 20.0 * np.sin(t / 30.0)) * t)
            block = np.stack([tone, tone * 0.8], axis=1) + rng.normal(0.0, 0.01, (n, 2))
            out.write(block.astype(np.float32))
            done += n
    return path


def _baseline_models():
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


def baseline_files_per_s(paths: list[Path]) -> float:
    """The baseline's indexing loop (librosa mel spectrogram, three Keras CNNs per file), timed over paths
    (after one warm-up file)."""
    import librosa

    models = _baseline_models()

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


def our_throughput(folder: Path, index_path: Path) -> dict[str, float]:
    """{"files_per_s" (steady state), "startup_s", "total_s", "files"} of one `update_index` run."""
    from bridge.adapters.soundbank_index import CHUNK_FILES, update_index

    marks: list[tuple[float, int]] = []
    started = time.perf_counter()
    report = update_index(folder, index_path=index_path, progress=lambda done, _: marks.append((time.perf_counter(),
                                                                                                   done)))
    total = time.perf_counter() - started
    if report.skipped:
        raise RuntimeError(f"bench notes were skipped: {report.skipped}")
    workers = os.cpu_count() or 1
    first = next((i for i, (_, done) in enumerate(marks) if done >= workers * CHUNK_FILES), 0)
    (t0, done0), (t1, done1) = marks[first], marks[-1]
    rate = (done1 - done0) / (t1 - t0) if t1 > t0 else len(report.labelled) / total
    return {"files_per_s": rate, "startup_s": max(total - len(report.labelled) / rate, 0.0), "total_s": total,
            "files": len(report.labelled)}


# The peak is the process's own VmHWM: ru_maxrss would include the memory of the (forked) parent it started from.
_CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from bridge.adapters.soundbank_index import update_index
report = update_index(sys.argv[1], index_path=sys.argv[2])
try:
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": time.perf_counter() - started, "labelled": len(report.labelled),
                  "skipped": report.skipped, "peak_rss_kb": peak_kb}))
"""

_WARM_UP_CHILD = """
import json, time
started = time.perf_counter()
from bridge.adapters.soundbank_index import _warm_up
_warm_up(None)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def _child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"bench child failed ({proc.returncode}): {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb(folder: Path, index_path: Path) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a fresh process indexing folder."""
    out = _child(_CHILD, str(folder), str(index_path))
    if out["skipped"] or out["labelled"] != 1:
        raise RuntimeError(f"bench long file not labelled: {out}")
    return out["peak_rss_kb"] / 1024.0, out["seconds"]


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
    cmd = [sys.executable, "-c", "import sys; from bridge.cli import main; sys.exit(main(sys.argv[1:]))",
           "index", str(folder), "--index", str(index_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    cli = time.perf_counter() - started
    if proc.returncode != 0:
        log.warning("index CLI failed (%s): %s", proc.returncode, proc.stderr[-500:])
    return {"in_process_s": in_process, "cli_s": cli if proc.returncode == 0 else float("nan"),
            "first_index_files_per_s": count / first.seconds}


def memory(tmp_path: Path, *, quick: bool) -> dict[str, float]:
    """Peak RSS of indexing the long file, and of indexing one short note (the baseline)."""
    long_s = 60.0 if quick else 600.0
    (tmp_path / "long").mkdir()
    write_long_file(tmp_path / "long" / "take.wav", long_s)
    rss, seconds = peak_rss_mb(tmp_path / "long", tmp_path / "long-index.json")
    (tmp_path / "short").mkdir()
    write_notes(tmp_path / "short", 1)
    short_rss, _ = peak_rss_mb(tmp_path / "short", tmp_path / "short-index.json")
    return {"peak_rss_mb": rss, "seconds": seconds, "file_s": long_s, "short_file_mb": short_rss}


def measure(*, quick: bool) -> list[Figure]:
    n_notes, n_baseline, n_bank = (200, 12, 1000) if quick else (2000, 40, 5000)
    with tempfile.TemporaryDirectory(prefix="p2a-bench-index-") as tmp:
        tmp_path = Path(tmp)
        notes = tmp_path / "notes"
        notes.mkdir()
        paths = write_notes(notes, n_notes)
        ours = our_throughput(notes, tmp_path / "notes-index.json")
        warm_up_s = _child(_WARM_UP_CHILD)["seconds"]
        seed = baseline_files_per_s(paths[:n_baseline])
        rss = memory(tmp_path, quick=quick)
        bank = tmp_path / "bank"
        bank.mkdir()
        re = reindex_unchanged(bank, tmp_path / "bank-index.json", n_bank)
    return [
        Figure("index_files_per_s", "index throughput, steady state (4 s 16 kHz notes)", "files/s",
               round(ours["files_per_s"], 2), baseline_key="seed_index_files_per_s", baseline=round(seed, 2),
               higher_is_better=True,
               notes={"n_files": ours["files"], "seed_n_files": n_baseline - 1, "workers": os.cpu_count(),
                      "overall_files_per_s": round(ours["files"] / ours["total_s"], 2)}),
        Figure("index_startup_s", "index start-up (imports, warm-up, workers)", "s", round(ours["startup_s"], 3),
               notes={"warm_up_s": round(warm_up_s, 3), "jit_s": 0.0}),
        Figure("index_peak_rss_mb", f"index peak RSS, one {rss['file_s'] / 60:g}-min 96 kHz stereo file", "MB",
               round(rss["peak_rss_mb"], 1),
               notes={"file_s": rss["file_s"], "seconds": round(rss["seconds"], 2),
                      "short_file_mb": round(rss["short_file_mb"], 1)}),
        Figure("reindex_unchanged_s", f"re-index unchanged bank ({n_bank} files)", "s", round(re["in_process_s"], 4),
               notes={"n_files": n_bank, "cli_s": round(re["cli_s"], 3),
                      "first_index_files_per_s": round(re["first_index_files_per_s"], 1)}),
    ]
