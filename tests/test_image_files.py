"""Canvas images from files: EXIF orientation (phone photos) and images too large to decode, with real files."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.adapters import image_files
from bridge.adapters.image_files import MAX_IMAGE_PIXELS, load_canvas_image
from bridge.core.errors import BridgeError

ORIENTATION_TAG = 0x0112
# EXIF orientation -> how a camera stored the upright picture (the inverse of what a viewer applies).
STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright_picture() -> Image.Image:
    """600 x 400, no symmetry: a dark bar near the top left and a red block at the bottom right."""
    pixels = np.full((400, 600, 3), 255, dtype=np.uint8)
    pixels[40:80, 30:330] = (20, 20, 20)
    pixels[300:380, 480:580] = (208, 0, 0)
    return Image.fromarray(pixels)


def save_with_orientation(image: Image.Image, path: Path, orientation: int, **options) -> Path:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    image.save(path, exif=exif, **options)
    return path


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_a_png_with_an_exif_orientation_is_turned_upright(tmp_path: Path, orientation: int):
    upright = upright_picture()
    upright.save(tmp_path / "upright.png")
    stored = upright.transpose(STORED_AS[orientation])
    photo = save_with_orientation(stored, tmp_path / "photo.png", orientation)
    with Image.open(photo) as check:
        assert check.getexif()[ORIENTATION_TAG] == orientation  # the file really carries the tag
    assert np.array_equal(load_canvas_image(photo), load_canvas_image(tmp_path / "upright.png"))


def test_a_sideways_phone_jpeg_is_turned_upright(tmp_path: Path):
    upright = upright_picture()
    upright.save(tmp_path / "upright.jpg", quality=95)
    photo = save_with_orientation(upright.transpose(STORED_AS[6]), tmp_path / "photo.jpg", 6, quality=95)
    expected = load_canvas_image(tmp_path / "upright.jpg").astype(int)
    assert np.abs(load_canvas_image(photo).astype(int) - expected).mean() < 2.0


def png_claiming(width: int, height: int, path: Path) -> Path:
    """A real PNG written by pillow whose header then claims width x height (its pixel data stays tiny)."""
    Image.new("RGB", (4, 4), "white").save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 4  # after the signature and the chunk length
    assert data[ihdr : ihdr + 4] == b"IHDR"
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():  # pillow reads the header it claims: it warns about it, or refuses it
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as check:
                assert check.size == (width, height)
        except Image.DecompressionBombError as exc:
            assert f"({width * height} pixels)" in str(exc)
    return path


@pytest.mark.parametrize("side", [100_000, 10_000])  # beyond pillow's error limit; in its warning range
def test_a_huge_image_header_is_refused_naming_the_file_and_the_limit(tmp_path: Path, side: int):
    path = png_claiming(side, side, tmp_path / "huge.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BridgeError) as info:
            load_canvas_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: image too large"), message
    assert f"at most {MAX_IMAGE_PIXELS} pixels" in message and "decompression bomb" not in message
    if side == 10_000:
        assert "10000 x 10000 px" in message
    assert [w.category.__name__ for w in caught] == []  # no raw DecompressionBombWarning either


def test_a_small_file_that_decodes_to_64_megapixels_is_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "blank.png"
    Image.new("1", (8000, 8000), 1).save(path)  # a few kB on disk, 192 MB as RGB
    assert path.stat().st_size < 100_000
    with pytest.raises(BridgeError, match=r"blank\.png: image too large: 8000 x 8000 px"):
        load_canvas_image(path)


def test_the_pixel_limit_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(image_files, "MAX_IMAGE_PIXELS", 400 * 400)
    Image.new("RGB", (400, 400), "white").save(tmp_path / "at.png")
    Image.new("RGB", (401, 400), "white").save(tmp_path / "over.png")
    assert load_canvas_image(tmp_path / "at.png").shape == (400, 400, 3)
    with pytest.raises(BridgeError, match="401 x 400 px"):
        load_canvas_image(tmp_path / "over.png")


def test_running_out_of_memory_while_decoding_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from PIL import ImageFile

    path = tmp_path / "photo.png"
    upright_picture().save(path)

    def out_of_memory(self: ImageFile.ImageFile) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", out_of_memory)
    with pytest.raises(BridgeError, match=r"photo\.png: not enough memory to decode this image"):
        load_canvas_image(path)
