"""`classify`: classify canvas images or saved drawings with the image model.

    run_bridge.py classify FILE... [--strokes] [--json] [--model-dir DIR]

FILE is a canvas image (PNG/JPEG, any size: scaled to 400x400; transparency on white) or a saved
drawing (.json, rendered by the one rasteriser), classified as a whole picture. With --strokes, each
pen stroke of a drawing is classified from its own ink alone, as a stroke voice is when it is played
(a canvas image has no strokes and is still classified whole). With --json, one JSON object per line:
{"file", ["stroke": index,] "pitch", "note", "volume", "timbre", "confidence": {head: p}, "model"}.
A file that cannot be read gets one line on stderr and the others are still classified; the exit code
is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bridge.errors import BridgeError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("classify", help="classify canvas images (PNG/JPEG) or saved drawings (JSON)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="canvas images or drawing .json files")
    parser.add_argument("--strokes", action="store_true",
                        help="drawings: one line per pen stroke, classified from its own ink (as stroke voices are)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument("--model-dir", type=Path, default=None, help="image model folder (default: models/image)")
    parser.set_defaults(func=run)


def load_canvases(path: str, *, strokes: bool = False) -> list[tuple[int | None, np.ndarray]]:
    """A file as 400x400 uint8 RGB canvases: (None, the whole picture), or with `strokes` a drawing's
    (stroke index, that stroke alone) for every pen stroke. An image is loaded and scaled."""
    from bridge.adapters.image_files import load_canvas_image

    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith(b"{") or Path(path).suffix.lower() == ".json":
        return _drawing_canvases(path, strokes=strokes)
    return [(None, load_canvas_image(path))]


def _drawing_canvases(path: str, *, strokes: bool) -> list[tuple[int | None, np.ndarray]]:
    """A saved drawing rendered by the one rasteriser (scaled to the 400 px canvas as `replay` scales it);
    every error names the file."""
    from bridge.adapters.drawing_files import read_drawing_bytes
    from bridge.core.drawing import drawing_from_json
    from bridge.core.raster import rasterise, rasterise_strokes

    try:
        drawing = drawing_from_json(read_drawing_bytes(path))
        return list(rasterise_strokes(drawing)) if strokes else [(None, rasterise(drawing))]
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except BridgeError as exc:
        raise BridgeError(f"{path}: not a valid drawing: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.image_classifier import load_image_classifier
    from bridge.core.labels import note_name

    classifier = load_image_classifier(args.model_dir)  # a missing model stops here with how to train it
    rows: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        try:
            canvases = load_canvases(path, strokes=args.strokes)
        except BridgeError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr, flush=True)
            continue
        for stroke_index, image in canvases:
            prediction = classifier.classify(image)
            labels = prediction.labels
            row: dict[str, Any] = {"file": path} if stroke_index is None else {"file": path, "stroke": stroke_index}
            row.update(pitch=labels.pitch, note=note_name(labels.pitch), volume=labels.volume, timbre=labels.timbre,
                       confidence={head: round(p, 4) for head, p in prediction.confidences().items()},
                       model=classifier.version)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                rows.append(row)
    if not args.json and rows:
        print(format_table(rows))
    return 1 if failed else 0


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("file", "pitch", "volume", "timbre", "confidence p/v/t")
    lines = [header]
    for r in rows:
        c = r["confidence"]
        name = r["file"] if "stroke" not in r else f"{r['file']} stroke {r['stroke']}"
        lines.append((name, f"{r['pitch']} {r['note']}", r["volume"], r["timbre"],
                      f"{c['pitch']:.2f} / {c['volume']:.2f} / {c['timbre']:.2f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
