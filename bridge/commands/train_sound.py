"""`train-sound`: train the sound CNNs on NSynth + rendered GM notes, compare them with DSP, export models/sound/."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from bridge.core.labels import HEADS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-sound", help="train the sound-labelling CNN (NSynth + GM soundfont notes)")
    parser.add_argument("--nsynth", dest="nsynth_dir", type=Path, help="folder with train/ and validation/ "
                        "(default ../shared/data/nsynth_subset)")
    parser.add_argument("--soundfont", dest="soundfonts", action="append", metavar="SF2",
                        help="a GM soundfont to train on (repeat it; default FluidR3_GM, MuseScore_General_Lite, "
                             "sf_GMbank)")
    parser.add_argument("--held-out-soundfont", metavar="SF2",
                        help="the GM soundfont only measured on (default TimGM6mb)")
    parser.add_argument("--out", dest="out_dir", type=Path, help="where the model and metadata go (models/sound)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--members", type=int, help="nets trained with seeds seed, seed+1, ... and averaged in the "
                        "exported model (default 2; trained in parallel, up to --workers at a time)")
    parser.add_argument("--passes", type=int, help="renders per training program and soundfont (default 2)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workers", type=int, help="processes for rendering and features (default: up to 2)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.training.sound_train import TrainConfig
    from bridge.training.sound_train import run as train

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if getattr(args, f.name, None)}
    if "soundfonts" in given:
        given["soundfonts"] = tuple(given["soundfonts"])
    cfg = dataclasses.replace(TrainConfig(), **given)
    meta = train(cfg)
    print(f"model written to {cfg.out_dir} (default methods: {json.dumps(meta['default_methods'])})")
    print(f"{'test set':<32} {'method':<6} " + " ".join(f"{h:>8}" for h in HEADS))
    for name, by_method in meta["accuracy"].items():
        for method, accs in by_method.items():
            cells = " ".join(f"{accs[h]:>8.1%}" if h in accs else f"{'-':>8}" for h in HEADS)
            print(f"{name:<32} {method:<6} {cells}")
    return 0
