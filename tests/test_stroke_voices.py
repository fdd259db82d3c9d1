"""Every stroke is its own voice (SPEC §2): on realistic multi-stroke drawings, with the committed model and
the default bank, each stroke's last play carries its own pitch, volume and timbre."""

from __future__ import annotations

import pytest
from stroke_drawings import multi_stroke_drawings, play_accuracy

from bridge.adapters.default_bank import default_bank
from bridge.adapters.image_classifier import load_image_classifier
from bridge.app.session import build_engine
from bridge.core.drawing import PlayMode
from bridge.core.engine import EngineConfig
from bridge.core.labels import HEADS

DRAWINGS = 60
SEED = 1
FLOOR = 0.99


@pytest.fixture(scope="module")
def model_and_bank():
    return load_image_classifier(), default_bank()


@pytest.fixture(scope="module")
def drawings():
    return multi_stroke_drawings(SEED, DRAWINGS)


@pytest.mark.parametrize("onset", ["down", "up"])
def test_each_strokes_last_play_is_its_own(model_and_bank, drawings, onset):
    classifier, bank = model_and_bank
    config = EngineConfig(mode=PlayMode("stroke", onset))
    accuracy = play_accuracy(lambda: build_engine(classifier, bank, engine_config=config), drawings)
    assert accuracy["strokes"] > 300
    assert all(accuracy[head] >= FLOOR for head in HEADS), accuracy


def test_the_whole_picture_rule_does_not_give_each_stroke_its_own_labels(model_and_bank, drawings):
    """The same drawings in canvas mode: later strokes take the labels of the ink that dominates the page."""
    classifier, bank = model_and_bank
    config = EngineConfig(mode=PlayMode("canvas", "up"))
    accuracy = play_accuracy(lambda: build_engine(classifier, bank, engine_config=config), drawings)
    assert all(accuracy[head] < 0.9 for head in HEADS), accuracy
