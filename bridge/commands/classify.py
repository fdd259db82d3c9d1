"""`classify`: classify canvas images or saved drawings with the image model.

    run_bridge.py classify FILE... [--strokes] [--json] [--model-dir DIR]

FILE is a canvas image (PNG/JPEG, any size: scaled to 400x400; transparency on white) or a saved
drawing (.json, rendered by the one rasteriser), classified as a whole picture. With --strokes, each
pen stroke of a drawing is classified from its own ink alone, as a stroke voice is when it is played
(a canvas image has no strokes and is still classified whole). A drawing that recorded the composer's
palette is classified with it, as `replay` plays it (the timbre of each stroke's colour, or of the ink of
the whole picture: bridge/core/palette.py). With --json, one JSON object per line:
{"file", ["stroke": index,] "pitch", "note", "volume", "timbre", "confidence": {head: p}, "model"}.
With --language LANGUAGE.json (written by `teach`), a drawing's shape is recognised too: the whole drawing's
pen strokes as one shape, or with --strokes the shape each stroke completes (grouped as a live voice's:
docs/language.md). A recognised shape sets the head its class names (its confidence under that head), and each
line gets "gesture" (the class, e.g. "timbre=brass", or null) and "gesture_confidence" (or null); an image has
no strokes, so no shape.
A file that cannot be read gets one line on stderr and the others are still classified; the exit code
is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from bridge.core.errors import BridgeError

if TYPE_CHECKING:
    from bridge.core.drawing import Stroke
    from bridge.core.language import Gesture, Recogniser
    from bridge.core.palette import Palette


class Canvas(NamedTuple):
    """One picture to classify: a stroke's index (None: the whole picture), its uint8 (400, 400, 3) image, and
    the palette its drawing recorded with the stroke's pen colour."""

    stroke: int | None
    image: np.ndarray
    palette: Palette | None = None
    color: str | None = None
    strokes: tuple[Stroke, ...] = ()  # the drawing's strokes (400 px canvas) up to this one, or all for the whole


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("classify", help="classify canvas images (PNG/JPEG) or saved drawings (JSON)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="canvas images or drawing .json files")
    parser.add_argument("--strokes", action="store_true",
                        help="drawings: one line per pen stroke, classified from its own ink (as stroke voices are)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument("--language", type=Path, metavar="LANGUAGE.json",
                        help="taught shapes (`teach`): recognise each drawing's shape and give its class's label")
    parser.add_argument("--model-dir", type=Path, default=None, help="image model folder (default: models/image)")
    parser.set_defaults(func=run)


def load_canvases(path: str, *, strokes: bool = False) -> list[Canvas]:
    """A file as 400x400 uint8 RGB canvases: the whole picture (stroke None), or with `strokes` each pen stroke
    of a drawing alone, with the drawing's palette and the stroke's colour. An image is loaded and scaled."""
    from bridge.adapters.image_files import load_canvas_image

    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith(b"{") or Path(path).suffix.lower() == ".json":
        return _drawing_canvases(path, strokes=strokes)
    return [Canvas(None, load_canvas_image(path))]


def _drawing_canvases(path: str, *, strokes: bool) -> list[Canvas]:
    """A saved drawing (read on the 400 px canvas, as `replay` reads it) rendered by the one rasteriser;
    every error names the file."""
    from bridge.adapters.drawing_files import read_drawing
    from bridge.core.raster import rasterise, rasterise_strokes

    try:
        drawing = read_drawing(path)
    except BridgeError as exc:
        raise BridgeError(f"{path}: not a valid drawing: {exc}") from exc
    drawn = drawing.strokes
    if strokes:
        pens = rasterise_strokes(drawing)
        return [Canvas(i, image, drawing.palette, drawn[i].color, drawn[: i + 1]) for i, image in pens]
    return [Canvas(None, rasterise(drawing), drawing.palette, None, tuple(s for s in drawn if s.tool == "pen"))]


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.image_classifier import load_image_classifier
    from bridge.core.labels import note_name

    classifier = load_image_classifier(args.model_dir)  # a missing model stops here with how to train it
    recogniser = _recogniser(args.language)
    rows: list[dict[str, Any]] = []
    failed = 0
    for path in args.files:
        try:
            canvases = load_canvases(path, strokes=args.strokes)
        except BridgeError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr, flush=True)
            continue
        for canvas in canvases:
            prediction = classifier.classify(canvas.image)
            if canvas.palette is not None:
                prediction = canvas.palette.apply(prediction, canvas.image, canvas.color)
            gesture = _gesture(recogniser, canvas)
            if gesture is not None:
                prediction = gesture.apply(prediction)
            labels = prediction.labels
            row: dict[str, Any] = {"file": path} if canvas.stroke is None else {"file": path, "stroke": canvas.stroke}
            row.update(pitch=labels.pitch, note=note_name(labels.pitch), volume=labels.volume, timbre=labels.timbre,
                       confidence={head: round(p, 4) for head, p in prediction.confidences().items()},
                       model=classifier.version)
            if recogniser is not None:
                row.update(gesture=None if gesture is None else gesture.name,
                           gesture_confidence=None if gesture is None else gesture.confidence)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                rows.append(row)
    if not args.json and rows:
        print(format_table(rows))
    return 1 if failed else 0


def _recogniser(path: Path | None) -> Recogniser | None:
    """The recogniser of the --language file, or None; BridgeError naming the file when it cannot be used."""
    if path is None:
        return None
    from bridge.adapters.language_files import read_language
    from bridge.core.language import Recogniser

    return Recogniser(read_language(path))


def _gesture(recogniser: Recogniser | None, canvas: Canvas) -> Gesture | None:
    """The shape of a drawing (all its pen strokes as one), or the one a stroke completes; None otherwise."""
    if recogniser is None or not canvas.strokes:
        return None
    return recogniser.match(canvas.strokes) if canvas.stroke is None else recogniser(canvas.strokes)


def format_table(rows: list[dict[str, Any]]) -> str:
    shapes = any("gesture" in r for r in rows)  # --language: a column for the recognised shape
    header = ("file", "pitch", "volume", "timbre", "confidence p/v/t", *(("shape",) if shapes else ()))
    lines = [header]
    for r in rows:
        c = r["confidence"]
        name = r["file"] if "stroke" not in r else f"{r['file']} stroke {r['stroke']}"
        shape = (f"{r['gesture']} {r['gesture_confidence']:.2f}" if r.get("gesture") else "-",) if shapes else ()
        lines.append((name, f"{r['pitch']} {r['note']}", r["volume"], r["timbre"],
                      f"{c['pitch']:.2f} / {c['volume']:.2f} / {c['timbre']:.2f}", *shape))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
