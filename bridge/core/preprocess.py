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
    # Sum k rows at a time (contiguous, fast), then every k-th column; k*k*255 fits the integer type.
    rows = image.reshape(size_px, k, CANVAS_SIZE_PX * 3).sum(axis=1, dtype=np.uint32 if k > 16 else np.uint16)
    rows = rows.reshape(size_px, CANVAS_SIZE_PX, 3)
    blocks = rows[:, 0::k].copy()
    for i in range(1, k):
        blocks += rows[:, i::k]
    return blocks.astype(np.float32) * np.float32(1.0 / (255 * k * k))


def flat_field(transmittance: np.ndarray) -> np.ndarray:
    """Divide out the page colour and the grid lines; float32 (n, n, 3) in [0, 1].

    The page is the median of the line medians when it is a near-white neutral grey (else white).
    A line of blocks near a grid position (within `_GRID_SLACK_PX` of a multiple of 33 px) whose median
    is a light neutral grey is grid (ink covering less than half of a line leaves its median on the
    grid) and is divided out. A straight pen line away from the grid positions is never touched.
    """
    n = transmittance.shape[0]
    near_grid = _near_grid(n)
    half = (n + _MEDIAN_STRIDE - 1) // _MEDIAN_STRIDE // 2
    row_med = np.partition(transmittance[:, ::_MEDIAN_STRIDE], half, axis=1)[:, half]  # (n, 3)
    col_med = np.partition(transmittance[::_MEDIAN_STRIDE], half, axis=0)[half]
    page_med = np.partition(row_med, n // 2, axis=0)[n // 2]  # (3,)
    page = float(page_med.mean()) if _is_neutral(page_med, _PAPER_MIN) else 1.0
    gain = np.float32(1.0 / page) / (_grid_factor(row_med, near_grid, page)[:, None]
                                     * _grid_factor(col_med, near_grid, page)[None, :])  # (n, n)
    out = transmittance * gain.reshape(n, n, 1)
    return np.minimum(out, np.float32(1.0), out=out)


def _is_neutral(rgb: np.ndarray, lightest: np.float32) -> np.ndarray | bool:
    lo, hi = rgb.min(axis=-1), rgb.max(axis=-1)
    return (lo >= lightest) & (hi - lo <= _PAPER_MAX_TINT)


def _grid_factor(median: np.ndarray, near_grid: np.ndarray, page: float) -> np.ndarray:
    """(n, 3) line medians -> (n,) how much darker than the page each grid line is (1 = no grid)."""
    is_grid = near_grid & _is_neutral(median, _GRID_MIN)
    factor = np.minimum(median.mean(axis=1) / np.float32(page), np.float32(1.0))
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
