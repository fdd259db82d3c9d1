"""The training and test sets as features: THE preprocessing over the NSynth notes and the rendered runs,
spread over worker processes and cached under $PICT2AUDIO_CACHE/renders (one .npz per NSynth folder,
keyed by its audio, and per rendered run, keyed by its recipe), so a re-run renders nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.adapters.audio_features import PREPROCESSING_VERSION, SoundFeatures, UnusableAudio, prepare
from bridge.core.labels import HEADS
from bridge.training import sound_data
from bridge.training.sound_data import LabelledSound, RenderRun

log = logging.getLogger(__name__)

RECIPE_VERSION = "library-v1"  # bump when sound_data renders or shapes notes differently
_FIELDS = ("f0_hz", "midi_note", "pitch_stability", "rms_dbfs", "peak_dbfs", "clip_fraction", "clipped_samples",
           "duration_s")


@dataclass
class FeatureSet:
    """Features and labels of one data set. x: (n, N_MELS, N_FRAMES) float32; y: head -> (n,) class index;
    notes: the MIDI note played; groups: "nsynth" or "{soundfont}:{program}"; tags: how it was rendered."""

    name: str
    x: np.ndarray
    y: dict[str, np.ndarray]
    features: list[SoundFeatures]
    notes: np.ndarray
    groups: np.ndarray
    tags: np.ndarray  # comma-joined tags per sound

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, mask: np.ndarray, name: str | None = None) -> FeatureSet:
        idx = np.flatnonzero(mask)
        return FeatureSet(name or self.name, self.x[idx], {h: v[idx] for h, v in self.y.items()},
                          [self.features[i] for i in idx], self.notes[idx], self.groups[idx], self.tags[idx])

    @staticmethod
    def concat(name: str, sets: Sequence[FeatureSet]) -> FeatureSet:
        return FeatureSet(
            name, np.concatenate([s.x for s in sets]), {h: np.concatenate([s.y[h] for s in sets]) for h in HEADS},
            [f for s in sets for f in s.features], np.concatenate([s.notes for s in sets]),
            np.concatenate([s.groups for s in sets]), np.concatenate([s.tags for s in sets]),
        )


def _limit_blas() -> None:
    """One BLAS thread per worker: the mel projection is a small product that threads only slow down."""
    from threadpoolctl import threadpool_limits  # installed with librosa (via scikit-learn)

    threadpool_limits(limits=1, user_api="blas")


def _columns(sounds: Sequence[LabelledSound], group: str) -> tuple[dict[str, np.ndarray], int]:
    """THE preprocessing over sounds -> the columns of one cache file (and how many were unusable)."""
    feats, kept, unusable = [], [], 0
    for sound in sounds:
        try:
            feats.append(prepare(sound.audio, sample_rate_hz=sound.sample_rate_hz))
            kept.append(sound)
        except UnusableAudio:
            unusable += 1
    cols: dict[str, np.ndarray] = {
        k: np.array([np.nan if getattr(f, k) is None else getattr(f, k) for f in feats], np.float64) for k in _FIELDS}
    cols["log_mel"] = np.stack([f.log_mel for f in feats]).astype(np.float32)
    cols["y"] = np.array([s.label_indices() for s in kept], np.int64).reshape(-1, 3)
    cols["notes"] = np.array([s.note for s in kept], np.int64)
    cols["tags"] = np.array([",".join(s.tags) for s in kept])
    cols["groups"] = np.array([group] * len(kept))
    return cols, unusable


def _save(path: Path, cols: dict[str, np.ndarray]) -> None:
    write_atomically(path, lambda handle: np.savez(handle, allow_pickle=False, **cols))


def _load(name: str, paths: Sequence[Path]) -> FeatureSet:
    parts = []
    for path in paths:
        with np.load(path) as data:
            cols = {k: data[k] for k in data.files}
        feats = [
            SoundFeatures(
                log_mel=cols["log_mel"][i],
                f0_hz=None if np.isnan(cols["f0_hz"][i]) else float(cols["f0_hz"][i]),
                midi_note=None if np.isnan(cols["midi_note"][i]) else float(cols["midi_note"][i]),
                pitch_stability=float(cols["pitch_stability"][i]),
                rms_dbfs=float(cols["rms_dbfs"][i]),
                peak_dbfs=float(cols["peak_dbfs"][i]),
                clip_fraction=float(cols["clip_fraction"][i]),
                clipped_samples=int(cols["clipped_samples"][i]),
                duration_s=float(cols["duration_s"][i]),
            )
            for i in range(len(cols["log_mel"]))
        ]
        y = cols["y"].reshape(-1, 3)
        parts.append(FeatureSet(name, cols["log_mel"], {h: y[:, i] for i, h in enumerate(HEADS)}, feats,
                                cols["notes"], cols["groups"].astype(str), cols["tags"].astype(str)))
    return FeatureSet.concat(name, parts)


# --- NSynth ----------------------------------------------------------------------------------------

def nsynth_set(name: str, folder: Path, cache_dir: Path) -> FeatureSet:
    """An NSynth subset folder as features (cached, keyed by the audio)."""
    sounds = sound_data.load_nsynth(folder)
    digest = hashlib.sha1(f"{PREPROCESSING_VERSION}|nsynth|{len(sounds)}".encode())
    for s in sounds:
        digest.update(s.source.encode())
        digest.update(s.audio.tobytes())
    path = cache_dir / f"nsynth-{digest.hexdigest()[:20]}.npz"
    if not path.exists():
        _limit_blas()
        cols, unusable = _columns(sounds, "nsynth")
        if unusable:
            log.warning("%s: %d NSynth notes unusable, left out", folder, unusable)
        _save(path, cols)
    return _load(name, [path])


# --- rendered runs ---------------------------------------------------------------------------------

def run_cache_path(run: RenderRun, cache_dir: Path, fluidsynth: str) -> Path:
    """The cache file of one run: keyed by its whole recipe, the soundfont file and the fluidsynth version."""
    recipe = dataclasses.asdict(run)
    recipe["soundfont"] = [run.soundfont.name, os.path.getsize(run.soundfont.path)]
    key = json.dumps([recipe, fluidsynth, PREPROCESSING_VERSION, RECIPE_VERSION], sort_keys=True)
    return cache_dir / f"run-{run.soundfont.name}-{run.program}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def _featurize_run(run: RenderRun, path: str) -> int:
    """Worker: render one run, featurise its notes, store them -> how many notes were unusable."""
    cols, unusable = _columns(list(sound_data.iter_run(run)), f"{run.soundfont.name}:{run.program}")
    _save(Path(path), cols)
    return unusable


def runs_set(name: str, runs: Sequence[RenderRun], cache_dir: Path, *, workers: int) -> FeatureSet:
    """Rendered runs as features: the missing runs are rendered and featurised in worker processes."""
    for soundfont in {run.soundfont for run in runs}:
        sound_data.check_soundfont(soundfont)
    fluidsynth = sound_data.fluidsynth_version()
    paths = [run_cache_path(run, cache_dir, fluidsynth) for run in runs]
    missing = [(run, path) for run, path in zip(runs, paths) if not path.exists()]
    if missing:
        started = time.perf_counter()
        log.info("%s: rendering and featurising %d of %d runs", name, len(missing), len(runs))
        with ProcessPoolExecutor(max(1, workers), initializer=_limit_blas) as pool:
            futures = [pool.submit(_featurize_run, run, str(path)) for run, path in missing]
            unusable = sum(f.result() for f in futures)
        log.info("%s: %d runs done in %.0f s (%d notes unusable)", name, len(missing), time.perf_counter() - started,
                 unusable)
    return _load(name, paths)
