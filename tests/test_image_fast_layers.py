"""The image model's LiteRT-friendly layers compute what the plain Keras layers they replace compute."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # builds Keras layers (imports TensorFlow)


@pytest.fixture(scope="module")
def custom():
    from bridge.training.image_layers import CUSTOM_OBJECTS

    return CUSTOM_OBJECTS


def test_place_gain_equals_the_gain_upsampled_to_every_pixel_of_its_place(custom):
    from keras import layers

    rng = np.random.default_rng(0)
    ink = rng.random((2, 100, 100, 1)).astype(np.float32)
    gain = rng.random((2, 25, 25, 1)).astype(np.float32)
    expected = layers.Multiply()([ink, layers.UpSampling2D(4)(gain)])
    got = custom["PlaceGain"]()([ink, gain])
    assert got.shape == (2, 100, 100, 1)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    assert float(np.asarray(got)[1, 5, 9, 0]) == pytest.approx(ink[1, 5, 9, 0] * gain[1, 1, 2, 0])


def test_up_two_repeats_each_pixel_two_by_two_and_crops(custom):
    from keras import layers

    x = np.random.default_rng(1).random((2, 13, 13, 32)).astype(np.float32)
    expected = layers.Cropping2D(((0, 1), (0, 1)))(layers.UpSampling2D(2)(x))
    got = custom["UpTwo"](25)(x)
    assert got.shape == (2, 25, 25, 32)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def test_row_share_is_each_rows_share_of_the_ink(custom):
    ink = np.zeros((1, 100, 100, 1), np.float32)
    ink[0, 10, :30] = 1.0  # 30 px of ink in row 10
    ink[0, 60, 50:60] = 1.0  # 10 px in row 60
    share = np.asarray(custom["RowShare"]()(ink))[0]
    assert share.shape == (100,)
    assert share[10] == pytest.approx(0.75, abs=1e-4) and share[60] == pytest.approx(0.25, abs=1e-4)
    assert share.sum() == pytest.approx(1.0, abs=1e-4) and np.count_nonzero(share) == 2
    blank = np.asarray(custom["RowShare"]()(np.zeros_like(ink)))
    assert np.all(blank == 0)  # blank paper: no share anywhere, no division by zero


def test_the_exported_graph_runs_in_one_xnnpack_partition():
    """No op falls outside XNNPACK (TILE from Keras upsampling, strided slices, wide concatenations
    did): the whole graph is one delegated partition."""
    from ai_edge_litert.interpreter import Interpreter

    from bridge.training.image_train import build_model, export_tflite

    interpreter = Interpreter(model_content=export_tflite(build_model(100), 100), num_threads=1)
    interpreter.allocate_tensors()
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    assert "TILE" not in ops and "DEPTHWISE_CONV_2D" in ops
    assert ops.count("DELEGATE") == 1
