"""The committed sound model measured on instruments it never heard, as `train-sound` measures it.

    python benchmarks/sound_accuracy.py                          # the held-out test sets of the recipe
    python benchmarks/sound_accuracy.py --soundfont other.sf2    # + every program of another GM soundfont
    python benchmarks/sound_accuracy.py --pitch-notes 300        # + YIN vs pYIN vs the index's pitch, side by side
    python benchmarks/sound_accuracy.py --model /tmp/m/sound_cnn.tflite  # a model train-sound --out wrote
    python benchmarks/sound_accuracy.py --json

Prints Markdown tables (overall, inside and outside 69..80, per family, octave errors), then with
--json one JSON object. Renders and features are cached in $PICT2AUDIO_CACHE/renders like training's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.adapters import audio_features  # noqa: E402
from bridge.adapters.sound_classifier import MODEL_DIR, MODEL_FILE, SoundClassifier  # noqa: E402
from bridge.core.audio_levels import fold_pitch  # noqa: E402
from bridge.core.labels import TIMBRES  # noqa: E402
from bridge.training import sound_data, sound_eval  # noqa: E402
from bridge.training.sound_features import runs_set  # noqa: E402
from bridge.training.sound_train import TrainConfig, measure, soundfont_by_path, test_sets, with_unseen_subset  # noqa: E402


def other_soundfont_set(cfg: TrainConfig, path: str):
    """Every program of the recipe (trained and held out) through another soundfont, every note in 3 levels."""
    every = {f: tuple(sorted(cfg.train_programs[f] + cfg.held_out_programs[f])) for f in TIMBRES}
    runs = sound_data.plan_runs(every, (soundfont_by_path(path),), seed=cfg.seed + 2, all_volumes=True)
    return runs_set(f"soundfont {Path(path).name}", runs, cfg.cache, workers=cfg.workers)


def pyin_note(mono: np.ndarray) -> float | None:
    """pYIN over the same first second YIN sees; the median of the voiced frames' f0, as a MIDI note."""
    import librosa

    af = audio_features
    start = int(af.YIN_SKIP_SECONDS * af.SAMPLE_RATE_HZ)
    seg = mono[start : start + int(af.YIN_SECONDS * af.SAMPLE_RATE_HZ)]
    if seg.size < af.YIN_FRAME * 2:
        seg = np.pad(seg, (0, af.YIN_FRAME * 2 - seg.size))
    f0, voiced, _ = librosa.pyin(seg, fmin=af.YIN_FMIN_HZ, fmax=af.YIN_FMAX_HZ, sr=af.SAMPLE_RATE_HZ,
                                 frame_length=af.YIN_FRAME, hop_length=af.YIN_FRAME // 4)
    good = voiced & np.isfinite(f0)
    return float(librosa.hz_to_midi(np.median(f0[good]))) if good.any() else None


def pitch_side_by_side(cfg: TrainConfig, n_notes: int) -> dict:
    """YIN, the index's pitch (YIN + second opinion) and pYIN on NSynth validation and on n_notes notes
    of the held-out programs through the held-out soundfont: pitch-class accuracy, exact-note accuracy
    (octave errors count) and time per note."""
    classifier = SoundClassifier()
    nsynth = sound_data.load_nsynth(cfg.nsynth_dir / "validation")
    runs = sound_data.plan_runs(cfg.held_out_programs, (soundfont_by_path(cfg.held_out_soundfont),), seed=cfg.seed + 2,
                                all_volumes=False)
    rendered = [s for run in runs for s in sound_data.iter_run(run)]
    rng = np.random.default_rng(cfg.seed)
    picked = [rendered[i] for i in sorted(rng.choice(len(rendered), min(n_notes, len(rendered)), replace=False))]
    out = {}
    for name, sounds in (("nsynth_validation", nsynth), ("held_out_instruments", picked)):
        notes = {"yin": [], "index": [], "pyin": []}
        seconds = {"yin+mel": 0.0, "pyin": 0.0}
        for sound in sounds:
            t0 = time.perf_counter()
            features = audio_features.prepare(sound.audio, sample_rate_hz=sound.sample_rate_hz)
            seconds["yin+mel"] += time.perf_counter() - t0
            label = classifier.label([features])[0]
            mono = audio_features.trimmed_mono_16k(sound.audio, sample_rate_hz=sound.sample_rate_hz)
            t0 = time.perf_counter()
            notes["pyin"].append(pyin_note(mono))
            seconds["pyin"] += time.perf_counter() - t0
            notes["yin"].append(features.midi_note)
            notes["index"].append(label.midi_note)
        truth = [s.note for s in sounds]
        out[name] = {"n": len(sounds), "ms_per_note": {k: round(v / len(sounds) * 1000, 1) for k, v in seconds.items()}}
        for method, estimates in notes.items():
            cls = np.mean([m is not None and fold_pitch(m) == fold_pitch(t) for m, t in zip(estimates, truth)])
            exact = np.mean([m is not None and round(m) == t for m, t in zip(estimates, truth)])
            out[name][method] = {"pitch_class": round(float(cls), 4), "exact_note": round(float(exact), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soundfont", action="append", default=[], help="another GM soundfont to measure on")
    parser.add_argument("--pitch-notes", type=int, default=0, help="notes for the YIN/pYIN comparison (0: skip)")
    parser.add_argument("--model", type=Path, default=MODEL_DIR / MODEL_FILE,
                        help="the model file (default: the committed one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cfg = TrainConfig()
    tests = with_unseen_subset(test_sets(cfg), cfg)
    for path in args.soundfont:
        tests[f"soundfont:{Path(path).stem}"] = other_soundfont_set(cfg, path)
    defaults, results = measure(args.model, tests)
    print(f"default methods: {defaults}\n")
    print(sound_eval.format_report(results))
    report = {"default_methods": defaults, "results": results}
    if args.pitch_notes:
        side = pitch_side_by_side(dataclasses.replace(cfg), args.pitch_notes)
        print("\n| test set | notes | method | pitch class | exact note | ms per note |\n|---|---|---|---|---|---|")
        for name, r in side.items():
            for method in ("yin", "index", "pyin"):
                ms = r["ms_per_note"]["pyin" if method == "pyin" else "yin+mel"]
                print(f"| {name} | {r['n']} | {method} | {r[method]['pitch_class']:.1%} | "
                      f"{r[method]['exact_note']:.1%} | {ms} |")
        report["pitch_side_by_side"] = side
    if args.json:
        slim = {name: {k: v for k, v in r.items() if k != "confusion"} for name, r in results.items()}
        print(json.dumps({**report, "results": slim}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
