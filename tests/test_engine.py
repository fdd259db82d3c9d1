"""The session engine: what each event sends, scheduling by drawing time, containment of failures."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.core.bank import Match, Sample
from bridge.core.drawing import Drawing, drawing_from_json
from bridge.core.engine import Engine, EngineConfig
from bridge.core.labels import PITCHES, Labels, Overrides, Prediction, band_for_y
from bridge.core.replay import session_events


def ink_band_classifier(image: np.ndarray) -> Prediction:
    """A deterministic stand-in classifier for engine logic: pitch from the mean row of dark ink."""
    rows = np.nonzero((image.min(axis=2) < 128).any(axis=1))[0]
    p_pitch = np.full(12, 0.01)
    if rows.size:
        p_pitch[PITCHES.index(80 - band_for_y(float(rows.mean())))] = 0.89
    return Prediction.from_probabilities(p_pitch, [0.1, 0.8, 0.1], [0.02] * 2 + [0.86] + [0.02] * 5)


def label_matcher(prediction: Prediction, overrides: Overrides, *, rotation: int) -> Match:
    labels = overrides.apply(prediction.labels)
    path = f"/bank/{labels.pitch}-{labels.volume}-{labels.timbre}-{rotation % 2}.wav"
    return Match(Sample(path, labels), 1.0)


def make_engine(**config) -> Engine:
    return Engine(classify=ink_band_classifier, match=label_matcher, config=EngineConfig(**config))


def names(bundle) -> list[str]:
    return [m.address.rsplit("/pict2audio/", 1)[1] for m in bundle.messages] if bundle else []


def draw_line(engine: Engine, *, y: float, t0: float = 0.0, n: int = 10, step_ms: float = 10.0) -> list:
    bundles = [engine.pen_down(x=20, y=y, t_ms=t0, color="#000000", width_px=12)]
    bundles += [engine.pen_move(x=20 + 30 * i, y=y, t_ms=t0 + i * step_ms) for i in range(1, n)]
    bundles.append(engine.pen_up(t_ms=t0 + (n - 1) * step_ms))
    return bundles


def test_pen_down_begins_the_stroke_and_classifies_at_once():
    bundle = make_engine().pen_down(x=10, y=200, t_ms=0, color="#000000", width_px=12)
    assert names(bundle) == ["stroke/begin", "labels", "match"]
    assert bundle.messages[1].args[0] == 80 - band_for_y(200)


def test_classification_is_rate_limited_by_drawing_time():
    bundles = draw_line(make_engine(classify_interval_ms=30), y=100, n=10, step_ms=10)
    labelled_at = [b.t_ms for b in bundles if b and "labels" in names(b)]
    assert labelled_at == [0, 30, 60, 90]  # pen down, then every 30 ms of drawing time


def test_pen_up_plays_the_match_and_ends_the_stroke_in_one_bundle():
    bundle = draw_line(make_engine(), y=300)[-1]
    assert names(bundle)[-2:] == ["play", "stroke/end"]
    play = bundle.find("play")
    assert play.args[1:] == (80 - band_for_y(300), "med", "keyboard")


def test_match_is_sent_only_when_the_sample_changes():
    engine = make_engine()
    bundles = draw_line(engine, y=100)
    assert sum("match" in names(b) for b in bundles) == 1
    second = draw_line(engine, y=100, t0=1000)  # rotation moves to the other file
    assert sum("match" in names(b) for b in second) == 1


def test_overrides_rematch_and_are_recorded_as_controls():
    engine = make_engine()
    draw_line(engine, y=100)
    bundle = engine.set_override("timbre", "reed", t_ms=500)
    assert names(bundle) == ["override", "match"]
    assert bundle.messages[0].args == (-1, "none", "reed")
    assert bundle.messages[1].args[3] == "reed"
    released = engine.release_overrides(t_ms=600)
    assert released.messages[0].args == (-1, "none", "none")
    assert [c.kind for c in engine.drawing.controls] == ["override", "release"]


def test_trigger_on_an_empty_canvas_still_has_an_answer():
    engine = make_engine()
    engine.set_override("pitch", 72, t_ms=0)
    bundle = engine.trigger(t_ms=10)
    assert names(bundle)[-1] == "play"
    assert bundle.find("play").args[1] == 72


def test_a_failing_classifier_is_contained_and_the_last_state_kept():
    calls = {"n": 0}

    def flaky(image):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("model exploded")
        return ink_band_classifier(image)

    engine = Engine(classify=flaky, match=label_matcher)
    bundles = draw_line(engine, y=100)
    assert names(bundles[-1])[-2:] == ["play", "stroke/end"]  # the stroke still plays
    assert engine.prediction is not None
    assert engine.errors and "model exploded" in engine.errors[-1]


def test_a_failing_matcher_is_contained():
    def broken(*args, **kwargs):
        raise KeyError("bank gone")

    engine = Engine(classify=ink_band_classifier, match=broken)
    bundles = draw_line(engine, y=100)
    assert names(bundles[-1]) == ["stroke/end"]
    assert "bank gone" in engine.errors[-1]


def test_clear_and_load_drawing():
    engine = make_engine()
    draw_line(engine, y=100)
    saved = engine.drawing
    assert names(engine.clear(t_ms=900)) == ["clear"]
    assert engine.drawing.strokes == () and engine.prediction is None
    assert (engine.raster.image() == engine.raster.background.astype(np.uint8)).all()
    bundle = engine.load_drawing(saved, t_ms=1000)
    assert names(bundle) == ["labels", "match"]


def test_eraser_strokes_do_not_play():
    engine = make_engine()
    draw_line(engine, y=100)
    engine.pen_down(x=20, y=100, t_ms=500, color="#000000", width_px=20, tool="eraser")
    assert "play" not in names(engine.pen_up(t_ms=510))


def test_replaying_the_saved_drawing_gives_the_same_bundles():
    live = make_engine()
    bundles = [*draw_line(live, y=100), live.set_override("volume", "high", t_ms=95)]
    bundles += [*draw_line(live, y=250, t0=200, n=6), live.trigger(t_ms=400)]
    saved = drawing_from_json(live.drawing.to_json())

    replayed = make_engine()
    out = [getattr(replayed, call.event)(**call.kwargs) for call in session_events(saved)]
    assert [b for b in out if b] == [b for b in bundles if b]


def test_a_lost_pen_up_finishes_the_old_stroke():
    engine = make_engine()
    engine.pen_down(x=1, y=1, t_ms=0, color="#000000", width_px=3)
    engine.pen_down(x=5, y=5, t_ms=10, color="#000000", width_px=3)
    engine.pen_up(t_ms=20)
    assert len(engine.drawing.strokes) == 2


def test_labels_and_overrides_are_validated():
    with pytest.raises(ValueError):
        make_engine().set_override("pitch", 99, t_ms=0)
    with pytest.raises(ValueError):
        Labels(70, "loud", "reed")
    assert Drawing().duration_ms() == 0.0


def test_event_times_are_quantised_like_the_saved_file():
    engine = make_engine()
    bundle = engine.pen_down(x=10, y=10, t_ms=12.3456789, color="#000000", width_px=4)
    assert bundle.t_ms == 12.346
    assert engine.set_override("pitch", 70, t_ms=20.00049).t_ms == 20.0


def test_a_classifier_returning_nan_is_contained():
    def nan_classifier(image):
        return Prediction.from_probabilities([float("nan")] * 12, [0.1, 0.8, 0.1], [0.125] * 8)

    engine = Engine(classify=nan_classifier, match=label_matcher)
    bundle = engine.pen_down(x=10, y=10, t_ms=0, color="#000000", width_px=4)
    assert names(bundle) == ["stroke/begin"]
    assert "non-finite" in engine.errors[-1]
