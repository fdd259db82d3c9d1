"""Saved drawings on disk (SPEC §5): the JSON document and a PNG of the canvas beside it.

Both files are written atomically (bridge.adapters.atomic_write), so a crash or a full disk never leaves
half a drawing behind. The PNG is rendered by the one rasteriser, so it is exactly what the classifier saw.

`read_drawing` is the one way to read a drawing file: size-limited, validated and scaled to the 400 px
canvas (`scaled_to_canvas`), so the canvas, `replay`, `score`, `classify` and `teach` see the same strokes.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from bridge.adapters.atomic_write import write_atomically
from bridge.core.drawing import MAX_DRAWING_BYTES, Drawing, drawing_from_json
from bridge.core.errors import BridgeError, DrawingError
from bridge.core.raster import rasterise, scaled_to_canvas

log = logging.getLogger(__name__)

DEFAULT_FOLDER = Path("~/Pict2Audio")


def default_drawing_path(folder: Path = DEFAULT_FOLDER, *, now: datetime | None = None) -> Path:
    """~/Pict2Audio/drawing-20261124-101500.json"""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return folder.expanduser() / f"drawing-{stamp}.json"


def json_and_png_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """'x' or 'x.json' or 'x.png' -> (x.json, x.png)."""
    path = Path(path).expanduser()
    if path.suffix.lower() in (".json", ".png"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".png")


def save_drawing(drawing: Drawing, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write `path` as .json and the canvas as .png beside it; returns both paths.

    Raises BridgeError with the folder and the reason when it cannot be written.
    """
    from PIL import Image

    json_path, png_path = json_and_png_paths(path)
    try:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(rasterise(drawing))
        write_atomically(json_path, lambda f: f.write(drawing.to_json().encode("utf-8")))
        write_atomically(png_path, lambda f: image.save(f, format="PNG"))
    except OSError as exc:
        raise BridgeError(f"could not save the drawing to {json_path}: {exc.strerror or exc}") from exc
    log.info("saved %s (%d strokes) and %s", json_path, len(drawing.strokes), png_path.name)
    return json_path, png_path


def read_drawing_bytes(path: str | os.PathLike[str]) -> bytes:
    """A drawing file's bytes, reading at most one byte more than a drawing may have (so a huge file, a
    device or a pipe is never read whole). DrawingError if it is larger; OSError as open() raises it."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_DRAWING_BYTES + 1)
    if len(data) > MAX_DRAWING_BYTES:
        problem = f"larger than a drawing may be ({MAX_DRAWING_BYTES} bytes); is it a drawing .json?"
        raise DrawingError("(file)", problem)
    return data


def read_drawing(path: str | os.PathLike[str]) -> Drawing:
    """The drawing in the JSON file `path`, on the 400 px canvas the engine draws on.

    DrawingError naming the field and the problem (the field "" when the file cannot be read); the caller
    names the file."""
    try:
        data = read_drawing_bytes(path)
    except OSError as exc:
        raise DrawingError("", f"cannot be read ({exc.strerror or exc})") from exc
    return scaled_to_canvas(drawing_from_json(data))


def load_drawing_file(path: str | os.PathLike[str]) -> Drawing:
    """Open a saved drawing in the canvas (the .json; given the .png or no suffix, the .json beside it);
    the errors name the file."""
    json_path, _ = json_and_png_paths(path)
    if not json_path.exists():
        raise BridgeError(f"no saved drawing at {json_path} (expected the .json written by save)")
    try:
        return read_drawing(json_path)
    except DrawingError as exc:
        raise DrawingError(f"{json_path.name}: {exc.where}" if exc.where else json_path.name, exc.problem) from exc
