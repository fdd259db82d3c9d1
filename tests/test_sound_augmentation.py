"""The sound model's training augmentation: a transposed note moves whole mel bands and teaches no pitch."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.adapters.audio_features import INPUT_SHAPE, LOG_MEL_FLOOR


@pytest.fixture(scope="module")
def ramp():
    import tensorflow as tf

    bands = np.arange(INPUT_SHAPE[0], dtype=np.float32) / 100.0  # every band its own value, above the floor
    return tf.constant(np.broadcast_to(bands[:, None, None], INPUT_SHAPE).copy())


def band_shift(moved: np.ndarray, original: np.ndarray) -> int:
    """How many bands `moved` is `original` moved by (upwards positive), checked over every band."""
    for shift in range(-INPUT_SHAPE[0] + 1, INPUT_SHAPE[0]):
        expected = np.full_like(original, LOG_MEL_FLOOR)
        if shift >= 0:
            expected[shift:] = original[: INPUT_SHAPE[0] - shift]
        else:
            expected[:shift] = original[-shift:]
        if np.array_equal(moved, expected):
            return shift
    raise AssertionError("not a whole-band move of the input")


def test_half_the_notes_move_up_or_down_by_one_to_four_bands_and_the_rest_stay(ramp):
    import tensorflow as tf

    from bridge.training.sound_train import TRANSPOSE_BANDS, _transposed

    shifts, flags = [], []
    for seed in range(400):
        moved, flag = _transposed(ramp, tf.constant([seed, seed]))
        shifts.append(band_shift(moved.numpy(), ramp.numpy()))
        flags.append(float(flag))
    shifts_arr, flags_arr = np.array(shifts), np.array(flags)
    assert np.array_equal(flags_arr == 1.0, shifts_arr != 0)  # the flag says exactly which notes moved
    assert 0.4 <= flags_arr.mean() <= 0.6
    assert set(shifts_arr[shifts_arr != 0]) == {*range(-TRANSPOSE_BANDS, 0), *range(1, TRANSPOSE_BANDS + 1)}


def test_a_moved_note_keeps_its_family_and_level_weights_but_loses_its_pitch_weight(ramp):
    import tensorflow as tf

    from bridge.training.sound_train import _example, _transposed

    features = tf.stack([ramp[..., 0]])
    labels = {"pitch": tf.constant(3), "volume": tf.constant(1), "timbre": tf.constant(5)}
    weights = {"pitch": tf.constant(1.0), "volume": tf.constant(1.0), "timbre": tf.constant(0.7)}
    seen = set()
    for seed in range(40):
        _, moved = _transposed(tf.zeros(INPUT_SHAPE), tf.constant([seed, seed]))
        x, out_labels, out_weights = _example(features, tf.constant(0), labels, weights, tf.constant(seed))
        assert x.shape == INPUT_SHAPE and out_labels is labels
        assert float(out_weights["pitch"]) == 1.0 - float(moved)
        assert float(out_weights["volume"]) == 1.0 and float(out_weights["timbre"]) == pytest.approx(0.7)
        seen.add(float(moved))
    assert seen == {0.0, 1.0}
