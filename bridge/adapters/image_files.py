"""Canvas images from files (pillow): PNG/JPEG of any size and mode -> 400x400 RGB uint8."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bridge.core.labels import BACKGROUND_RGB, CANVAS_SIZE_PX
from bridge.errors import BridgeError

if TYPE_CHECKING:
    from PIL import Image


def load_canvas_image(path: str | Path) -> np.ndarray:
    """Read an image file as the canvas would show it: uint8 RGB, shape (400, 400, 3).

    Transparency is composited on the white canvas background; other sizes are scaled to 400x400
    (area averaging when shrinking, bilinear when enlarging). Raises BridgeError if unreadable.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return to_canvas(image)
    except FileNotFoundError as exc:
        raise BridgeError(f"{path}: no such file") from exc
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BridgeError(f"{path}: not a readable image (expected a PNG or JPEG canvas): {exc}") from exc


def to_canvas(image: Image.Image) -> np.ndarray:
    """A pillow image of any mode and size -> uint8 RGB (400, 400, 3) on the white background."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = Image.new("RGBA", rgba.size, (*BACKGROUND_RGB, 255))
        image = Image.alpha_composite(page, rgba)
    image = image.convert("RGB")
    size = (CANVAS_SIZE_PX, CANVAS_SIZE_PX)
    if image.size != size:
        shrinking = image.width >= CANVAS_SIZE_PX and image.height >= CANVAS_SIZE_PX
        image = image.resize(size, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8).copy()
