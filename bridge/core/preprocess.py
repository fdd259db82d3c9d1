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

Bump PREPROCESSING_VERSION whenever the output changes for the same input: models record it and the
classifier refuses a model trained on a different version.
"""

from __future__ import annotations

import functools

import numpy as np

from bridge.core.labels import CANVAS_SIZE_PX, GRID_STEP_PX

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
    if image.shape != (CANVAS_SIZE_PX, CANVAS_SIZE_PX, 3) or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image of shape (400, 400, 3), got {image.dtype} {image.shape}")
    if size_px not in SUPPORTED_SIZES_PX:
        raise ValueError(f"size_px must divide {CANVAS_SIZE_PX}: one of {SUPPORTED_SIZES_PX}, got {size_px}")
    k = CANVAS_SIZE_PX // size_px
    # Sum k rows at a time (contiguous, fast); k*255 fits the integer type.
    rows = image.reshape(size_px, k, CANVAS_SIZE_PX * 3).sum(axis=1, dtype=np.uint32 if k > 16 else np.uint16)
    # Then the k pixels of a block side by side, 3k numbers, summed per channel by one matrix product: exact
    # (small integers in float32) and a third of the time of k strided adds (0.1 ms instead of 0.23 at 100 px)
    blocks = rows.reshape(size_px * size_px, 3 * k).astype(np.float32) @ _channel_sums(k)
    return blocks.reshape(size_px, size_px, 3) * np.float32(1.0 / (255 * k * k))


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
    n = transmittance.shape[0]
    line_med = _line_medians(transmittance)  # (2, n, 3): rows, columns
    page_med = np.partition(line_med[0], n // 2, axis=0)[n // 2]  # (3,)
    page = float(page_med.mean()) if _is_neutral(page_med, _PAPER_MIN) else 1.0
    row_factor, col_factor = _grid_factor(line_med, _near_grid(n), page)
    gain = np.float32(1.0 / page) / (row_factor[:, None] * col_factor[None, :])  # (n, n)
    out = transmittance * gain.reshape(n, n, 1)
    return np.minimum(out, np.float32(1.0), out=out)


def _line_medians(transmittance: np.ndarray) -> np.ndarray:
    """(n, n, 3) -> (2, n, 3): the median of every row and of every column (every 2nd pixel), per channel.

    Both sets are copied into one array whose last axis runs along the lines: numpy partitions a
    contiguous last axis about twice as fast as a strided one (0.07 ms for the two, instead of 0.1).
    """
    n = transmittance.shape[0]
    every = transmittance[:, ::_MEDIAN_STRIDE].shape[1]
    lines = np.empty((2, n, 3, every), dtype=transmittance.dtype)
    lines[0] = transmittance[:, ::_MEDIAN_STRIDE].transpose(0, 2, 1)  # row y: (channel, x)
    lines[1] = transmittance[::_MEDIAN_STRIDE].transpose(1, 2, 0)  # column x: (channel, y)
    half = every // 2
    return np.partition(lines, half, axis=3)[..., half]


def _is_neutral(rgb: np.ndarray, lightest: np.float32) -> np.ndarray | bool:
    lo, hi = rgb.min(axis=-1), rgb.max(axis=-1)
    return (lo >= lightest) & (hi - lo <= _PAPER_MAX_TINT)


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
    return near.any(axis=1)
