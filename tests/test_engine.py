"""The session engine: voices, what each event sends, scheduling by drawing time, containment of failures."""

from __future__ import annotations

import numpy as np
import pytest
from stand_ins import InkClassifier, label_matcher

from bridge.core.drawing import Drawing, PlayMode, drawing_from_json
from bridge.core.engine import Engine, EngineConfig
from bridge.core.errors import LabelError
from bridge.core.events import (
    Clear,
    LoadDrawing,
    PenDown,
    PenMove,
    PenUp,
    ReleaseOverrides,
    SetOverride,
    Trigger,
)
from bridge.core.labels import VOLUMES, Labels, band_for_y, timbre_for_rgb
from bridge.core.replay import session_events


def make_engine(*, label_by: str = "stroke", onset: str = "down", **config) -> Engine:
    return Engine(classify=InkClassifier().classify_raster, match=label_matcher,
                  config=EngineConfig(mode=PlayMode(label_by, onset), **config))


def names(bundle) -> list[str]:
    return [m.address.rsplit("/pict2audio/", 1)[1] for m in bundle.messages] if bundle else []


def draw_line(engine: Engine, *, y: float, t0: float = 0.0, n: int = 10, step_ms: float = 10.0,
              color: str = "#000000", width_px: float = 12, x0: float = 20, dx: float = 30) -> list:
    events = [PenDown(t_ms=t0, x=x0, y=y, color=color, width_px=width_px)]
    events += [PenMove(t_ms=t0 + i * step_ms, x=x0 + dx * i, y=y) for i in range(1, n)]
    events.append(PenUp(t_ms=t0 + (n - 1) * step_ms))
    return [engine.handle(e) for e in events]


def plays(bundles) -> list[tuple]:
    return [m.args for b in bundles if b for m in b.find_all("play")]


def test_pen_down_begins_the_voice_and_plays_it_at_once():
    bundle = make_engine().handle(PenDown(t_ms=0, x=10, y=200, color="#1E90FF", width_px=12))
    assert names(bundle) == ["stroke/begin", "labels", "match", "play"]
    stroke_id = bundle.messages[0].args[0]
    assert [m.args[-1] for m in bundle.messages[1:]] == [stroke_id] * 3
    assert bundle.find("play").args[1:4] == (80 - band_for_y(200), "med", "flute")


def test_onset_up_plays_at_pen_up_only():
    bundles = draw_line(make_engine(onset="up"), y=300)
    assert [i for i, b in enumerate(bundles) if b and "play" in names(b)] == [len(bundles) - 1]
    assert names(bundles[-1])[-2:] == ["play", "stroke/end"]
    assert bundles[-1].find("play").args[1:] == (80 - band_for_y(300), "med", "keyboard", 1)


def test_classification_is_rate_limited_by_drawing_time():
    bundles = draw_line(make_engine(classify_interval_ms=30), y=100, n=10, step_ms=10)
    labelled_at = [b.t_ms for b in bundles if b and "labels" in names(b)]
    assert labelled_at == [0, 30, 60, 90]  # pen down, then every 30 ms of drawing time


def test_a_pen_released_where_it_was_last_classified_is_not_classified_again():
    classifier = InkClassifier()
    engine = Engine(classify=classifier.classify_raster, match=label_matcher)
    engine.handle(PenDown(t_ms=0, x=20, y=100, color="#000000", width_px=12))
    assert "labels" in names(engine.handle(PenMove(t_ms=40, x=80, y=100)))
    calls = classifier.calls
    engine.handle(PenMove(t_ms=44, x=80, y=100))  # the canvas sends the release point as a move
    assert names(engine.handle(PenUp(t_ms=44))) == ["stroke/end"]
    assert classifier.calls == calls
    engine.handle(PenDown(t_ms=100, x=20, y=200, color="#000000", width_px=12))
    engine.handle(PenMove(t_ms=140, x=80, y=200))
    engine.handle(PenMove(t_ms=144, x=82, y=200))  # new ink since the last classification
    assert names(engine.handle(PenUp(t_ms=144))) == ["labels", "stroke/end"]


def test_each_stroke_is_labelled_from_its_own_ink_whatever_else_is_on_the_canvas():
    engine = make_engine()
    big = draw_line(engine, y=60, width_px=28, color="#D00000", n=14, dx=28)  # much more ink, high, string
    small = draw_line(engine, y=345, t0=1000, width_px=4, color="#228B22", n=3)  # a short thin reed mark
    assert plays(big)[-1][1:4] == (80 - band_for_y(60), "high", "string")
    assert plays(small)[-1][1:4] == (80 - band_for_y(345), "low", "reed")
    assert all(args[-1] == 2 for b in small if b for m in b.messages if (args := m.args) and len(args) > 1)


def test_canvas_mode_labels_the_whole_picture():
    engine = make_engine(label_by="canvas", onset="up")
    draw_line(engine, y=60, width_px=28, color="#D00000", n=14, dx=28)
    small = draw_line(engine, y=345, t0=1000, width_px=4, color="#228B22", n=3)
    assert plays(small)[-1][1] != 80 - band_for_y(345)  # the bigger first stroke decides the pitch
    assert plays(small)[-1][-1] == 2  # still sent under the stroke's id


def test_a_voice_that_changes_band_while_drawn_is_retriggered_under_its_id():
    engine = make_engine()
    events = [PenDown(t_ms=0, x=20, y=100, color="#000000", width_px=12)]
    events += [PenMove(t_ms=10 * i, x=20 + 10 * i, y=100 + 12 * i) for i in range(1, 16)]  # downwards
    bundles = [engine.handle(e) for e in [*events, PenUp(t_ms=150)]]
    played = plays(bundles)
    assert len(played) >= 2 and len({p[0] for p in played}) == len(played)  # a new sample each time
    assert {p[-1] for p in played} == {1}
    assert "voice/stop" not in [n for b in bundles for n in names(b)]  # a retrigger is not a cut


def test_match_is_sent_only_when_the_voices_sample_changes():
    engine = make_engine()
    bundles = draw_line(engine, y=100)
    assert sum("match" in names(b) for b in bundles) == 1
    second = draw_line(engine, y=100, t0=1000)  # a new voice always announces its match
    assert sum("match" in names(b) for b in second) == 1
    assert plays(bundles)[0][0] != plays(second)[0][0]  # rotation: the second stroke takes the other file


def test_overrides_apply_to_the_voice_being_drawn_and_are_recorded():
    engine = make_engine()
    engine.handle(PenDown(t_ms=0, x=20, y=100, color="#000000", width_px=12))
    bundle = engine.handle(SetOverride(t_ms=5, head="timbre", value="reed"))
    assert names(bundle) == ["override", "match", "play"]
    assert bundle.find("play").args[3:] == ("reed", 1)
    assert names(engine.handle(PenUp(t_ms=10))) == ["stroke/end"]
    released = engine.handle(ReleaseOverrides(t_ms=600))
    assert released.messages[0].args == (-1, "none", "none")
    assert names(released) == ["override", "match"] and released.find("match").args[-1] == 0
    assert [type(c) for c in engine.drawing.controls] == [SetOverride, ReleaseOverrides]


def test_trigger_plays_voice_zero_and_on_an_empty_canvas_still_has_an_answer():
    engine = make_engine()
    engine.handle(SetOverride(t_ms=0, head="pitch", value=72))
    bundle = engine.handle(Trigger(t_ms=10))
    assert names(bundle)[-1] == "play"
    assert bundle.find("play").args[1] == 72 and bundle.find("play").args[-1] == 0


def test_a_new_voice_beyond_the_limit_cuts_the_oldest():
    engine = make_engine(max_voices=2)
    for i in range(3):
        bundles = draw_line(engine, y=50 + 100 * i, t0=1000 * i, n=3)
    assert names(bundles[0]).count("voice/stop") == 1
    assert bundles[0].find("voice_stop").args == (1,)
    assert engine.sounding_voices() == (2, 3)


def test_clear_cuts_every_sounding_voice():
    engine = make_engine()
    draw_line(engine, y=100)
    draw_line(engine, y=200, t0=500)
    engine.handle(Trigger(t_ms=800))
    bundle = engine.handle(Clear(t_ms=900))
    assert names(bundle) == ["voice/stop"] * 3 + ["clear"]
    assert sorted(m.args[0] for m in bundle.find_all("voice_stop")) == [0, 1, 2]
    assert bundle.find("clear").args == (2,)
    assert engine.drawing.strokes == () and engine.prediction is None and engine.sounding_voices() == ()


def test_undo_cuts_the_voice_of_the_stroke_it_removes():
    engine = make_engine()
    draw_line(engine, y=100)
    before = engine.drawing
    draw_line(engine, y=200, t0=500)
    bundle = engine.handle(LoadDrawing(t_ms=900, drawing=before))
    assert names(bundle) == ["voice/stop"] and bundle.messages[0].args == (2,)
    assert engine.sounding_voices() == (1,)
    assert engine.drawing.strokes == before.strokes


def test_canvas_mode_load_classifies_the_picture():
    engine = make_engine(label_by="canvas")
    draw_line(engine, y=100)
    saved = engine.drawing
    engine.handle(Clear(t_ms=900))
    assert (engine.raster.image() == engine.raster.background.astype(np.uint8)).all()
    assert names(engine.handle(LoadDrawing(t_ms=1000, drawing=saved))) == ["labels", "match"]


def test_a_failing_classifier_is_contained_and_the_last_state_kept():
    flaky = InkClassifier()
    flaky.fail_after = 1

    engine = Engine(classify=flaky.classify_raster, match=label_matcher, config=EngineConfig(mode=PlayMode(onset="up")))
    bundles = draw_line(engine, y=100)
    assert names(bundles[-1])[-2:] == ["play", "stroke/end"]  # the stroke still plays
    assert engine.prediction is not None
    assert engine.errors and "injected classifier failure" in engine.errors[-1]


def test_a_failing_matcher_is_contained():
    def broken(*args, **kwargs):
        raise KeyError("bank gone")

    engine = Engine(classify=InkClassifier().classify_raster, match=broken)
    bundles = draw_line(engine, y=100)
    assert names(bundles[-1]) == ["stroke/end"]  # nothing to play
    assert "bank gone" in engine.errors[-1]


def test_eraser_strokes_do_not_sound():
    engine = make_engine()
    draw_line(engine, y=100)
    bundle = engine.handle(PenDown(t_ms=500, x=20, y=100, color="#000000", width_px=20, tool="eraser"))
    assert names(bundle) == ["stroke/begin"]
    assert names(engine.handle(PenUp(t_ms=510))) == ["stroke/end"]


@pytest.mark.parametrize("label_by", ["stroke", "canvas"])
@pytest.mark.parametrize("onset", ["down", "up"])
def test_replaying_the_saved_drawing_gives_the_same_bundles(label_by, onset):
    live = make_engine(label_by=label_by, onset=onset)
    bundles = [*draw_line(live, y=100), live.handle(SetOverride(t_ms=95, head="volume", value="high"))]
    bundles += [*draw_line(live, y=250, t0=200, n=6, color="#E6A700"), live.handle(Trigger(t_ms=400))]
    saved = drawing_from_json(live.drawing.to_json())
    assert saved.mode == PlayMode(label_by, onset)

    replayed = make_engine(label_by=label_by, onset=onset)
    out = [replayed.handle(event) for event in session_events(saved)]
    assert [b for b in out if b] == [b for b in bundles if b]


def test_a_lost_pen_up_finishes_the_old_stroke():
    engine = make_engine()
    engine.handle(PenDown(t_ms=0, x=1, y=1, color="#000000", width_px=3))
    engine.handle(PenDown(t_ms=10, x=5, y=5, color="#000000", width_px=3))
    engine.handle(PenUp(t_ms=20))
    assert len(engine.drawing.strokes) == 2


def test_events_and_labels_are_validated():
    with pytest.raises(LabelError):
        SetOverride(head="pitch", value=99)
    with pytest.raises(LabelError):
        SetOverride(head="loudness", value="high")
    with pytest.raises(ValueError):
        Labels(70, "loud", "reed")
    with pytest.raises(ValueError, match="no t_ms"):
        make_engine().handle(Trigger())
    with pytest.raises(ValueError, match="voices"):
        make_engine(max_voices=0)
    assert Drawing().duration_ms() == 0.0


def test_event_times_are_quantised_like_the_saved_file():
    engine = make_engine()
    bundle = engine.handle(PenDown(t_ms=12.3456789, x=10, y=10, color="#000000", width_px=4))
    assert bundle.t_ms == 12.346
    assert engine.handle(SetOverride(t_ms=20.00049, head="pitch", value=70)).t_ms == 20.0


def test_a_classifier_returning_nan_is_contained():
    nan_classifier = InkClassifier()
    nan_classifier.nan = True

    engine = Engine(classify=nan_classifier.classify_raster, match=label_matcher)
    bundle = engine.handle(PenDown(t_ms=0, x=10, y=10, color="#000000", width_px=4))
    assert names(bundle) == ["stroke/begin"]
    assert "non-finite" in engine.errors[-1]


def test_every_volume_and_timbre_reaches_its_own_voice():
    engine = make_engine()
    colors = {"low": ("#6A0DAD", 5), "med": ("#FF69B4", 15), "high": ("#8B4513", 26)}
    for i, volume in enumerate(VOLUMES):
        color, width = colors[volume]
        played = plays(draw_line(engine, y=40 + 120 * i, t0=1000 * i, color=color, width_px=width))
        assert played[-1][2:] == (volume, timbre_for_rgb(tuple(int(color[j:j + 2], 16) for j in (1, 3, 5))), i + 1)
