"""The band of columns of the image model's input that holds all of a drawing's ink, with the context the model
reads around it.

The image model (bridge/training/image_train.py) looks at 25x25 places. Every part of it reads either one
place, or blank paper as zeros, or its neighbours: the 3x3 convolution over places and, after a 2x2 pooling of
places, a 3x3 convolution over the pairs. Blank paper is exactly zero after preprocessing and nothing in the
network adds a bias before the ink weighs in, so a place more than one pair of places away from every inked
column sees exactly what zero padding gives it. The model run on a band of columns (the same weights, exported
for that width) therefore gives the whole input's outputs, up to the rounding of sums in another order.

A band reaches one pair of places beyond the pairs holding ink on each side, starts at a pair (so the pooling
groups the same places) and is 7, 13, 19 or 25 places wide: ink within one pair of places (32 canvas px) takes a
band of 7, a short stroke one of 13, and the model's work shrinks with the band.
"""

from __future__ import annotations

import numpy as np

PLACES = 25  # the model's places across the input
BAND_PLACES = (7, 13, 19, PLACES)


def band_widths(size_px: int) -> tuple[int, ...]:
    """The band widths (input px) for an input of size_px, narrowest first, the whole input last."""
    block = size_px // PLACES
    return tuple(places * block for places in BAND_PLACES)


def column_band(model_input: np.ndarray, widths: tuple[int, ...]) -> tuple[int, int]:
    """(first column, width) in input px of the narrowest band of `widths` (from `band_widths`, or a subset of it
    ending with the whole input) that holds every inked column of the (n, n, 3) input with its context."""
    size_px = model_input.shape[1]
    block = size_px // PLACES
    inked = np.flatnonzero(_column_bits(model_input))
    if inked.size == 0:
        return 0, widths[0]
    first_pair, last_pair = int(inked[0]) // block // 2, int(inked[-1]) // block // 2
    start = max(first_pair - 1, 0) * 2  # places
    end = min((last_pair + 2) * 2, PLACES)
    for width in widths:
        places = width // block
        if places >= end - start:
            return min(start, PLACES - places) * block, width
    raise ValueError(f"no band of {widths} px holds places {start}..{end}: the last width must be the input's")


def _column_bits(model_input: np.ndarray) -> np.ndarray:
    """(n,) the bits of each column's values or-ed together: non-zero where a column holds anything but +0.0
    (an or over the float bits: a fraction of the time `any` takes over two axes)."""
    size_px = model_input.shape[0]
    words = np.ascontiguousarray(model_input, dtype=np.float32).view(np.uint32).reshape(size_px, -1)
    bits: np.ndarray = np.bitwise_or.reduce(words, axis=0).reshape(size_px, 3).max(axis=1)
    return bits
