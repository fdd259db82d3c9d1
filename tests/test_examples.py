"""The example drawings in data/drawings/: up to date with their generator, and what the README says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from example_drawings import example_drawings, main
from PIL import Image
from replay_helpers import EXAMPLES

from bridge.core.drawing import ONSETS, PlayMode, drawing_from_json
from bridge.core.engine import EngineConfig
from bridge.core.labels import PITCHES, pitch_for_y, timbre_for_color, volume_for_width
from bridge.core.raster import rasterise
from bridge.core.replay import session_events


def test_committed_examples_match_the_generator():
    for name, drawing in example_drawings().items():
        saved = drawing_from_json((EXAMPLES / f"{name}.json").read_bytes())
        assert saved == drawing, f"data/drawings/{name}.json is stale: run python tests/example_drawings.py"
        png = np.asarray(Image.open(EXAMPLES / f"{name}.png").convert("RGB"))
        assert np.array_equal(png, rasterise(saved))


def test_the_generator_writes_json_and_png(tmp_path: Path):
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["melody.json", "melody.png", "scale.json", "scale.png"]
    assert json.loads((tmp_path / "scale.json").read_text())["format"] == "pict2audio-drawing"


def test_the_scale_goes_up_one_band_per_stroke_in_black():
    scale = drawing_from_json((EXAMPLES / "scale.json").read_bytes())
    assert [pitch_for_y(s.points[0].y) for s in scale.strokes] == list(PITCHES)
    assert all(pitch_for_y(p.y) == pitch_for_y(s.points[0].y) for s in scale.strokes for p in s.points)
    assert {timbre_for_color(s.color) for s in scale.strokes} == {"keyboard"}
    assert {volume_for_width(s.width_px) for s in scale.strokes} == {"med"}


def test_the_melody_has_several_timbres_and_widths():
    melody = drawing_from_json((EXAMPLES / "melody.json").read_bytes())
    assert len({timbre_for_color(s.color) for s in melody.strokes}) >= 5
    assert {volume_for_width(s.width_px) for s in melody.strokes} == {"low", "med", "high"}


def test_the_pen_moves_like_a_hand():
    for name in ("scale", "melody"):
        drawing = drawing_from_json((EXAMPLES / f"{name}.json").read_bytes())
        steps = [b.t_ms - a.t_ms for s in drawing.strokes for a, b in zip(s.points, s.points[1:])]
        assert min(steps) >= 8.0 - 1e-6 and max(steps) <= 16.0 + 1e-6
        starts = [s.points[0].t_ms for s in drawing.strokes]
        assert starts == sorted(starts) and starts[0] == 0


@pytest.fixture(scope="module")
def model_and_bank():
    from bridge.adapters.default_bank import default_bank
    from bridge.adapters.image_classifier import load_image_classifier

    return load_image_classifier(), default_bank()


@pytest.mark.parametrize("onset", ONSETS)
@pytest.mark.parametrize("name", ["melody", "scale"])
def test_every_example_stroke_plays_its_own_drawn_labels(model_and_bank, name: str, onset: str):
    from bridge.app.session import build_engine

    classifier, bank = model_and_bank
    drawing = drawing_from_json((EXAMPLES / f"{name}.json").read_bytes())
    engine = build_engine(classifier, bank, engine_config=EngineConfig(mode=PlayMode("stroke", onset)))
    last_play: dict[int, tuple] = {}
    for event in session_events(drawing):
        bundle = engine.handle(event)
        for play in bundle.find_all("play") if bundle else ():
            last_play[play.args[-1]] = play.args[1:4]
    drawn = {i + 1: (pitch_for_y(s.points[0].y), volume_for_width(s.width_px), timbre_for_color(s.color))
             for i, s in enumerate(drawing.strokes)}
    assert last_play == drawn
    assert engine.errors == []
