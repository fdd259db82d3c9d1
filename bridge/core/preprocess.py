"""The one preprocessing function: a 400x400 canvas image -> the image model's input.

Training (bridge.training), live classification and `classify` all call `preprocess`, so the model
always sees the same representation. Three steps, pure numpy:

1. Area-average downsampling by an integer factor (400 -> `size_px`): a stroke narrower than a block
   survives as a grey level proportional to its width, so thickness stays measurable at low resolution.
2. Flat-field: an off-white page colour and each row and column of blocks at a grid position whose
   median is a light neutral grey (a grid line of any shade or width) are divided out, so the model
   sees no grid.
3. "Ink absorption" `1 - rgb`: 0 on paper, up to 1 for full ink. Anti-aliased edges scale the absorption
   vector without turning it, so the colour direction of thin strokes survives.

`Preprocessor` gives the same output, bit for bit, for a stream of canvases that change a little at a time
(a stroke as it is drawn): it finds the pixels that changed since its last canvas (or follows a
`CanvasRaster`, which says where they are) and recomputes only the blocks and the line medians they touch,
with the same steps.

Bump PREPROCESSING_VERSION whenever the output changes for the same input: models record it and the
classifier refuses a model trained on a different version.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from bridge.core.labels import CANVAS_SIZE_PX, GRID_STEP_PX

if TYPE_CHECKING:
    from bridge.core.raster import CanvasRaster

PREPROCESSING_VERSION = "absorb-flatfield-v1"
INPUT_SIZE_PX = 100  # chosen by measurement, see docs/image_model.md
SUPPORTED_SIZES_PX: tuple[int, ...] = tuple(n for n in range(25, CANVAS_SIZE_PX + 1) if CANVAS_SIZE_PX % n == 0)

_GRID_MIN = np.float32(0.5)  # a line median lighter than this (transmittance) near a grid position is grid ...
_PAPER_MIN = np.float32(0.75)  # the page (median of all lines) is divided out if lighter than this
_PAPER_MAX_TINT = np.float32(0.1)  # ... and only if its channels differ by at most this much (neutral grey)
_GRID_SLACK_PX = 2  # grid lines sit at multiples of 33 px, give or take this (composers' canvases drift)
_MEDIAN_STRIDE = 2  # line medians look at every 2nd pixel: half the work, same answer on a canvas


def preprocess(image: np.ndarray, *, size_px: int = INPUT_SIZE_PX) -> np.ndarray:
    """uint8 RGB canvas, shape (400, 400, 3) -> float32 absorption, shape (size_px, size_px, 3), in [0, 1]."""
    transmittance = downsample(image, size_px=size_px)
    return 1.0 - flat_field(transmittance)


def downsample(image: np.ndarray, *, size_px: int) -> np.ndarray:
    """Area average of a uint8 (400, 400, 3) image -> float32 (size_px, size_px, 3) in [0, 1]."""
    _check_input(image, size_px)
    return _block_average(image, CANVAS_SIZE_PX // size_px)


def _check_input(image: np.ndarray, size_px: int) -> None:
    if image.shape != (CANVAS_SIZE_PX, CANVAS_SIZE_PX, 3) or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image of shape (400, 400, 3), got {image.dtype} {image.shape}")
    if size_px not in SUPPORTED_SIZES_PX:
        raise ValueError(f"size_px must divide {CANVAS_SIZE_PX}: one of {SUPPORTED_SIZES_PX}, got {size_px}")


def _block_average(pixels: np.ndarray, k: int) -> np.ndarray:
    """uint8 (h*k, w*k, 3) pixels -> float32 (h, w, 3): the mean of each k x k block, in [0, 1]. Exact sums, so a
    block comes out the same whichever part of the canvas it is computed with."""
    h, w = pixels.shape[0] // k, pixels.shape[1] // k
    # Sum k rows at a time (contiguous, fast); k*255 fits the integer type.
    rows = pixels.reshape(h, k, w * k * 3).sum(axis=1, dtype=np.uint32 if k > 16 else np.uint16)
    # Then the k pixels of a block side by side, 3k numbers, summed per channel by one matrix product: exact
    # (small integers in float32) and a third of the time k strided adds take
    blocks = rows.reshape(h * w, 3 * k).astype(np.float32) @ _channel_sums(k)
    transmittance: np.ndarray = blocks.reshape(h, w, 3) * np.float32(1.0 / (255 * k * k))
    return transmittance


@functools.cache
def _channel_sums(k: int) -> np.ndarray:
    """(3k, 3) float32: sums k interleaved RGB pixels per channel."""
    return np.tile(np.eye(3, dtype=np.float32), (k, 1))


def flat_field(transmittance: np.ndarray) -> np.ndarray:
    """Divide out the page colour and the grid lines; float32 (n, n, 3) in [0, 1].

    The page is the median of the line medians when it is a near-white neutral grey (else white).
    A line of blocks near a grid position (within `_GRID_SLACK_PX` of a multiple of 33 px) whose median
    is a light neutral grey is grid (ink covering less than half of a line leaves its median on the
    grid) and is divided out. A straight pen line away from the grid positions is never touched.
    """
    line_med = _line_medians(transmittance)  # (2, n, 3): rows, columns
    page = _page(line_med)
    row_factor, col_factor = _grid_factor(line_med, _near_grid(transmittance.shape[0]), page)
    return _divide_out(transmittance, page, row_factor, col_factor)


def _page(line_med: np.ndarray) -> float:
    """The page's transmittance from the line medians (2, n, 3): the median of the row medians if it is a light
    neutral grey, else 1 (white)."""
    n = line_med.shape[1]
    page_med = np.partition(line_med[0], n // 2, axis=0)[n // 2]  # (3,)
    return float(page_med.mean()) if _is_neutral(page_med, _PAPER_MIN) else 1.0


def _divide_out(transmittance: np.ndarray, page: float, row_factor: np.ndarray, col_factor: np.ndarray) -> np.ndarray:
    """(h, w, 3) blocks divided by the page and by the grid factors of their rows (h,) and columns (w,), at most 1.
    Each block on its own, so a part of the canvas comes out as it does within the whole."""
    gain = np.float32(1.0 / page) / (row_factor[:, None] * col_factor[None, :])  # (h, w)
    out: np.ndarray = transmittance * gain[:, :, None]
    np.minimum(out, np.float32(1.0), out=out)
    return out


def _line_medians(transmittance: np.ndarray) -> np.ndarray:
    """(n, n, 3) -> (2, n, 3): the median of every row and of every column (every 2nd pixel), per channel."""
    n = transmittance.shape[0]
    return _medians_through(transmittance, (0, n, 0, n)).reshape(2, n, 3)


def _medians_through(transmittance: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The medians of the rows y0..y1 and then of the columns x0..x1 of the box, (y1 - y0 + x1 - x0, 3).

    Both sets are copied into one array whose last axis runs along the lines: numpy partitions a
    contiguous last axis about twice as fast as a strided one.
    """
    y0, y1, x0, x1 = box
    rows = transmittance[y0:y1, ::_MEDIAN_STRIDE]  # row y: (x, channel)
    columns = transmittance[::_MEDIAN_STRIDE, x0:x1]  # column x: (y, channel)
    lines = np.empty((y1 - y0 + x1 - x0, 3, rows.shape[1]), dtype=transmittance.dtype)
    lines[: y1 - y0] = rows.transpose(0, 2, 1)
    lines[y1 - y0 :] = columns.transpose(1, 2, 0)
    return _medians(lines)


def _medians(lines: np.ndarray) -> np.ndarray:
    """The median (the upper one of an even count) along the last axis: a selection, so exact."""
    half = lines.shape[-1] // 2
    medians: np.ndarray = np.partition(lines, half, axis=-1)[..., half]
    return medians


def _is_neutral(rgb: np.ndarray, lightest: np.float32) -> np.ndarray | bool:
    lo, hi = rgb.min(axis=-1), rgb.max(axis=-1)
    neutral: np.ndarray | bool = (lo >= lightest) & (hi - lo <= _PAPER_MAX_TINT)
    return neutral


def _grid_factor(median: np.ndarray, near_grid: np.ndarray, page: float) -> np.ndarray:
    """(..., n, 3) line medians -> (..., n) how much darker than the page each grid line is (1 = no grid)."""
    is_grid = near_grid & _is_neutral(median, _GRID_MIN)
    factor = np.minimum(median.mean(axis=-1) / np.float32(page), np.float32(1.0))
    return np.where(is_grid, factor, np.float32(1.0)).astype(np.float32)


@functools.cache
def _near_grid(n: int) -> np.ndarray:
    """Which of n block lines come within `_GRID_SLACK_PX` of a grid position (multiples of 33 px)."""
    k = CANVAS_SIZE_PX // n
    starts = np.arange(n) * k
    grid = np.arange(0, CANVAS_SIZE_PX + 1, GRID_STEP_PX)
    lo, hi = grid[None, :] - _GRID_SLACK_PX, grid[None, :] + _GRID_SLACK_PX
    near = (starts[:, None] <= hi) & (starts[:, None] + k - 1 >= lo)
    near_any: np.ndarray = np.any(near, axis=1)
    return near_any


class Preprocessor:
    """`preprocess` for a stream of canvases, bit-identical to it, redoing only what the changed pixels touch.

        model_input = Preprocessor(size_px)(image)    # == preprocess(image, size_px=size_px), exactly
        model_input = preprocessor.read(raster)        # == preprocess(raster.image(), ...), exactly

    It keeps its last canvas with that canvas's block averages, line medians, page, grid factors and output.
    A new canvas is compared with the last one (a pass over the bytes, cheaper than downsampling); the blocks
    in the box of changed pixels are averaged again and the medians of the rows and columns of blocks through
    that box taken again. When those medians stay as they were (a stroke covering less than half of every
    line it crosses), so do the page and the grid factors, and only the box's output is computed again; else
    the page, grid and gain steps run on all blocks. Each block, median and factor depends only on its own
    pixels and is computed by the same code as in `preprocess`, so the result is the same. Not thread-safe:
    one per thread. `read(raster)` takes the box of changed pixels from the raster instead of comparing.
    """

    def __init__(self, size_px: int = INPUT_SIZE_PX) -> None:
        if size_px not in SUPPORTED_SIZES_PX:
            raise ValueError(f"size_px must divide {CANVAS_SIZE_PX}: one of {SUPPORTED_SIZES_PX}, got {size_px}")
        self.size_px = size_px
        self._k = CANVAS_SIZE_PX // size_px
        self._image: np.ndarray | None = None  # the last canvas (a copy); what follows was computed from it
        self._source: int | None = None  # id of the raster the last canvas was read from (None: given as an image)
        self._transmittance = np.empty((size_px, size_px, 3), dtype=np.float32)
        self._line_med = np.empty((2, size_px, 3), dtype=np.float32)
        self._page = 1.0
        self._row_factor = np.empty(size_px, dtype=np.float32)
        self._col_factor = np.empty(size_px, dtype=np.float32)
        self._out: np.ndarray = np.empty((size_px, size_px, 3), dtype=np.float32)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """uint8 RGB canvas (400, 400, 3) -> float32 absorption (size_px, size_px, 3), as `preprocess` gives it;
        a new array the caller may keep."""
        _check_input(image, self.size_px)
        self._source = None
        if self._image is None:
            self._image = np.array(image, order="C")
            self._transmittance = _block_average(self._image, self._k)
            self._line_med = _line_medians(self._transmittance)
            self._flat_field_all()
        else:
            box = _changed_blocks(self._image, image, self._k)
            if box is not None:
                self._update(image, box)
        return self._out.copy()

    def read(self, raster: CanvasRaster) -> np.ndarray:
        """The model input of the raster's canvas, as `self(raster.image())` gives it; when this preprocessor's
        last canvas came from the same raster, only the pixels the raster says changed are looked at."""
        pixels, changed = raster.read(self)
        if self._source != id(raster) or self._image is None:
            output = self(pixels)
            self._source = id(raster)
            return output
        if changed is not None:
            y0, y1, x0, x1 = changed
            k = self._k
            self._update(pixels, (y0 // k, -(-y1 // k), x0 // k, -(-x1 // k)))
        return self._out.copy()

    def _update(self, image: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Take the changed blocks (rows y0..y1, columns x0..x1 of blocks) from `image` and redo what they touch."""
        assert self._image is not None
        y0, y1, x0, x1 = box
        k = self._k
        self._image[y0 * k : y1 * k, x0 * k : x1 * k] = image[y0 * k : y1 * k, x0 * k : x1 * k]
        self._transmittance[y0:y1, x0:x1] = _block_average(self._image[y0 * k : y1 * k, x0 * k : x1 * k], k)
        medians = _medians_through(self._transmittance, box)
        rows, columns = medians[: y1 - y0], medians[y1 - y0 :]
        if (rows != self._line_med[0, y0:y1]).any() or (columns != self._line_med[1, x0:x1]).any():
            self._line_med[0, y0:y1] = rows
            self._line_med[1, x0:x1] = columns
            self._flat_field_all()
            return
        # The line medians are as they were, so are the page and the grid factors: only the box changes.
        self._out[y0:y1, x0:x1] = 1.0 - _divide_out(self._transmittance[y0:y1, x0:x1], self._page,
                                                    self._row_factor[y0:y1], self._col_factor[x0:x1])

    def _flat_field_all(self) -> None:
        """The page, the grid factors and the output of every block, from the line medians (as flat_field)."""
        self._page = _page(self._line_med)
        self._row_factor, self._col_factor = _grid_factor(self._line_med, _near_grid(self.size_px), self._page)
        self._out = 1.0 - _divide_out(self._transmittance, self._page, self._row_factor, self._col_factor)


def _changed_blocks(old: np.ndarray, new: np.ndarray, k: int) -> tuple[int, int, int, int] | None:
    """The box of k x k blocks (y0, y1, x0, x1, ends excluded) holding every pixel where the (h, w, 3) uint8
    `new` differs from `old` (C-contiguous); None when they are equal. Compared 8 bytes at a time where a row's
    bytes allow it: the box may then take in up to 2 unchanged pixels on each side, which changes nothing."""
    height, row_bytes = old.shape[0], old.shape[1] * 3
    word = np.uint64 if row_bytes % 8 == 0 else np.uint8
    new_bytes = np.ascontiguousarray(new).reshape(height, row_bytes)
    differs = old.reshape(height, row_bytes).view(word) != new_bytes.view(word)
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:
        return None
    py0, py1 = int(rows[0]), int(rows[-1]) + 1
    words = np.flatnonzero(differs[py0:py1].any(axis=0))
    size = np.dtype(word).itemsize
    px0, px1 = int(words[0]) * size // 3, -(-(int(words[-1]) + 1) * size // 3)
    return py0 // k, -(-py1 // k), px0 // k, -(-px1 // k)
