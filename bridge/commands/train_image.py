"""`train-image`: generate the synthetic drawings, train the image model, write models/image/."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from bridge.training.image_data import DataRecipe  # light: numpy only
    from bridge.training.image_train import DEFAULT_CACHE_DIR, DEFAULT_MODEL_DIR, TrainConfig

    recipe, config = DataRecipe(), TrainConfig()
    parser = subparsers.add_parser(
        "train-image", help="train the drawing classifier (seeded, reproducible) and write models/image/",
        description="Generate hand-like synthetic drawings (cached under build/), train the Keras model, "
                    "export LiteRT and write the metadata, confusion matrices and training curves.")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="generated data cache")
    parser.add_argument("--size-px", type=int, default=config.size_px, help="model input size (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=config.epochs)
    parser.add_argument("--seed", type=int, default=config.seed, help="training seed (data seeds are in the recipe)")
    parser.add_argument("--n-train", type=int, default=recipe.n_train, help="training drawings")
    parser.add_argument("--n-val", type=int, default=recipe.n_val, help="validation drawings")
    parser.add_argument("--data-sizes", default=",".join(map(str, recipe.sizes_px)),
                        help="input sizes to generate data for (comma-separated; must include --size-px)")
    parser.add_argument("--workers", type=int, default=2, help="processes generating data")
    parser.add_argument("--export-bands", action="store_true",
                        help="do not train: write the band models of the trained model in --out from its model.keras")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.core.errors import ConfigError
    from bridge.training.image_data import DataRecipe
    from bridge.training.image_train import TrainConfig, export_bands, train

    if args.export_bands:
        print(json.dumps({"out": str(args.out), "bands": export_bands(args.out)}, indent=2))
        return 0
    sizes = tuple(int(s) for s in str(args.data_sizes).split(",") if s.strip())
    if args.size_px not in sizes:
        raise ConfigError(f"--size-px {args.size_px} must be one of --data-sizes {sizes}")
    recipe = dataclasses.replace(DataRecipe(), n_train=args.n_train, n_val=args.n_val, sizes_px=sizes)
    config = TrainConfig(size_px=args.size_px, epochs=args.epochs, seed=args.seed, recipe=recipe)
    metadata = train(config, out_dir=args.out, cache_dir=args.cache_dir, workers=args.workers)
    print(json.dumps({"out": str(args.out), "accuracy": metadata["accuracy"]}, indent=2))
    return 0
