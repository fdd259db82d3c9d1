"""The image model's own Keras layers (bridge.training.image_train builds the network from them).

Importing this module imports Keras, so bridge.training.image_train imports it inside `build_model`
only. Each layer is registered as "bridge>ClassName": a saved model.keras loads with
`keras.saving.load_model` once this module is imported (or with `custom_objects=CUSTOM_OBJECTS`).
Several replace a plain Keras layer by an equivalent that LiteRT runs inside XNNPACK.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bridge")
class InkVote(keras.layers.Layer):
    """[(b, h, w, k) class logits per place, (b, h, w, 1) ink per place] -> (b, k) ink share of each class.

    Each place votes with its ink for its own class probabilities (a softmax over k): the
    labelling rule "the class holding most of the ink", with the ink and the classes learned.
    """

    def call(self, inputs):
        logits, ink = inputs
        votes = ops.softmax(logits, axis=-1) * ink
        return ops.sum(votes, axis=(1, 2)) / (ops.sum(ink, axis=(1, 2)) + 1e-4)


@keras.saving.register_keras_serializable(package="bridge")
class RowShare(keras.layers.Layer):
    """(b, n, n, 1) ink per place -> (b, n) share of the ink in each row.

    Row means, not sums: LiteRT's MEAN over the last two axes is delegated to XNNPACK and takes
    1 us, its SUM over one inner axis 95 us; the shares are the same.
    """

    def call(self, ink):
        rows = ops.mean(ink, axis=(2, 3))
        return rows / (ops.sum(rows, axis=1, keepdims=True) + 1e-4 / ink.shape[2])


@keras.saving.register_keras_serializable(package="bridge")
class PlaceGain(keras.layers.Layer):
    """[(b, h, w, 1) ink, (b, mh, mw, 1) gain per place] -> ink times its place's gain.

    The same as multiplying by the gain upsampled to h x w, as one broadcast multiply: LiteRT
    upsamples with TILE, which XNNPACK does not run (two more partitions, 17 us more).
    """

    def call(self, inputs):
        ink, gain = inputs
        (h, w), (mh, mw) = ink.shape[1:3], gain.shape[1:3]
        blocks = ops.reshape(ink, (-1, mh, h // mh, mw, w // mw)) * ops.reshape(gain, (-1, mh, 1, mw, 1))
        return ops.reshape(blocks, (-1, h, w, 1))


@keras.saving.register_keras_serializable(package="bridge")
class UpTwo(keras.layers.Layer):
    """(b, mh, mw, c) -> (b, size, width, c), each pixel repeated 2x2 and cropped (nearest upsampling); `width`
    is `size` unless given.

    A broadcast add of zeros instead of UpSampling2D: LiteRT runs that as TILE outside XNNPACK.
    """

    def __init__(self, size: int, width: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = size
        self.width = size if width is None else width

    def get_config(self):
        return {**super().get_config(), "size": self.size, "width": self.width}

    def call(self, x):
        mh, mw, c = x.shape[1], x.shape[2], x.shape[3]
        twice = ops.reshape(x, (-1, mh, 1, mw, 1, c)) + ops.zeros((1, 1, 2, 1, 2, 1), dtype=x.dtype)
        return ops.reshape(twice, (-1, 2 * mh, 2 * mw, c))[:, : self.size, : self.width]


@keras.saving.register_keras_serializable(package="bridge")
class ShareSoftmax(keras.layers.Layer):
    """(b, k) shares -> softmax(scale * log(share)): a calibrated softmax head over the ink shares."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, shares):
        total = ops.sum(shares, axis=-1, keepdims=True) + 1e-6
        return ops.softmax(self.scale * ops.log(shares / total + 1e-4), axis=-1)


@keras.saving.register_keras_serializable(package="bridge")
class StableSoftplus(keras.layers.Layer):
    """log(1 + exp(x)) as relu(x) + log(1 + exp(-|x|)): LiteRT's own softplus overflows to inf."""

    def call(self, x):
        return ops.relu(x) + ops.log(1.0 + ops.exp(-ops.abs(x)))


@keras.saving.register_keras_serializable(package="bridge")
class LogInk(keras.layers.Layer):
    """Absorption -> log(absorption + 0.01): ratios of ink (width, hue) become differences."""

    def call(self, x):
        return ops.log(x + 0.01)


@keras.saving.register_keras_serializable(package="bridge")
class Hue(keras.layers.Layer):
    """Absorption -> absorption / (its largest channel + 0.01): the colour's direction, not its amount."""

    def call(self, x):
        return x / (ops.max(x, axis=-1, keepdims=True) + 0.01)


@keras.saving.register_keras_serializable(package="bridge")
class CrossWidth(keras.layers.Layer):
    """[v, h] cross-section sums -> v h / sqrt(v^2 + h^2): the width of a straight stroke at any angle."""

    def call(self, inputs):
        v, h = inputs
        return v * h / ops.sqrt(v * v + h * h + 1e-6)


@keras.saving.register_keras_serializable(package="bridge")
class LogRatio(keras.layers.Layer):
    """[weighted sums, weights] -> log(weighted mean + 0.01)."""

    def call(self, inputs):
        weighted, weights = inputs
        return ops.log(weighted / (weights + 1e-3) + 0.01)


CUSTOM_OBJECTS: dict[str, type] = {cls.__name__: cls for cls in (
    InkVote, RowShare, PlaceGain, UpTwo, ShareSoftmax, StableSoftplus, LogInk, Hue, CrossWidth, LogRatio)}
