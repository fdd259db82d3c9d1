"""Canvas images from files (pillow): PNG/JPEG of any size and mode -> 400x400 RGB uint8.

A photo is turned upright by its EXIF orientation (a phone stores pictures sideways and says so in a
tag), and an image larger than MAX_IMAGE_PIXELS is refused before it is decoded, with its size and the
limit, instead of pillow's decompression-bomb warning or a MemoryError.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.labels import BACKGROUND_RGB, CANVAS_SIZE_PX

if TYPE_CHECKING:
    from PIL import Image

# A 50-megapixel phone photo (8160 x 6120) still loads; decoding one takes ~150 MB per RGB copy.
MAX_IMAGE_PIXELS = 50_000_000


def load_canvas_image(path: str | Path) -> np.ndarray:
    """Read an image file as the canvas would show it: uint8 RGB, shape (400, 400, 3).

    The EXIF orientation is applied; transparency is composited on the white canvas background; other
    sizes are scaled to 400x400 (area averaging when shrinking, bilinear when enlarging). Raises
    BridgeError if unreadable or larger than MAX_IMAGE_PIXELS.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # The size is checked below against a lower limit, with a message that names the file.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            _check_size(path, image.size)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            return to_canvas(image)
    except FileNotFoundError as exc:
        raise BridgeError(f"{path}: no such file") from exc
    except Image.DecompressionBombError as exc:  # pillow refuses more than 2 x its own limit at open
        raise BridgeError(_too_large(path, f"more than {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels")) from exc
    except MemoryError as exc:
        raise BridgeError(f"{path}: not enough memory to decode this image; scale it down and try again") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise BridgeError(f"{path}: not a readable image (expected a PNG or JPEG canvas): {exc}") from exc


def _check_size(path: str | Path, size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise BridgeError(_too_large(path, f"{width} x {height} px ({width * height} pixels)"))


def _too_large(path: str | Path, size: str) -> str:
    return (f"{path}: image too large: {size}; at most {MAX_IMAGE_PIXELS} pixels "
            f"({MAX_IMAGE_PIXELS / 1e6:g} megapixels) are read. "
            f"Scale it down (the canvas is {CANVAS_SIZE_PX} x {CANVAS_SIZE_PX}) and try again")


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
