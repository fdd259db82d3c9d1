"""The canvas as a graphic score, exactly (no wall clock): settings, spans, the offline schedule, the engine's
score voices, and the live player driven step by step on a clock of the test's own."""

from __future__ import annotations

import json

import pytest
from score_rig import Clock, line
from stand_ins import InkClassifier, label_matcher

from bridge.app.score_player import PASS_LEAD_S, START_LEAD_S, ScorePlayer
from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.engine import Engine
from bridge.core.errors import DrawingError
from bridge.core.events import (
    LoadDrawing,
    PenDown,
    PenMove,
    PenUp,
    ScoreNoteOff,
    ScoreNoteOn,
    ScorePlayhead,
    ScoreState,
    TransportControl,
)
from bridge.core.score import ScoreError, ScoreSettings, score_events, settings_from_dict, stroke_span, stroke_spans

ONE_BAR_120 = ScoreSettings(bpm=120, bars=1)  # a pass of 2000 ms: 5 ms per canvas px


def engine() -> Engine:
    return Engine(classify=InkClassifier().classify_raster, match=label_matcher)


# -- settings ------------------------------------------------------------------------------------------


def test_loop_length_from_tempo_and_bars_or_seconds():
    assert ScoreSettings().loop_ms == 4000.0  # 2 bars of 4/4 at 120 bpm
    assert ScoreSettings(bpm=90, bars=3).loop_ms == pytest.approx(8000.0)
    seconds = ScoreSettings.from_seconds(3.0)
    assert (seconds.bars, seconds.bpm, seconds.loop_ms) == (1, 80.0, 3000.0)
    assert ScoreSettings(bpm=60, bars=1).with_tempo(120).loop_ms == 2000.0


@pytest.mark.parametrize("kwargs, where", [
    ({"bpm": 0}, "bpm"), ({"bpm": float("nan")}, "bpm"), ({"bpm": True}, "bpm"), ({"bars": 0}, "bars"),
    ({"bars": 2.5}, "bars"), ({"loop": "yes"}, "loop"), ({"bpm": 999, "bars": 1}, "bpm"),  # a 0.24 s pass
])
def test_settings_out_of_range_name_the_setting(kwargs, where):
    with pytest.raises(ScoreError) as caught:
        ScoreSettings(**kwargs)
    assert caught.value.where == where


def test_a_drawing_records_its_score_settings_and_reads_them_back():
    drawing = Drawing(strokes=(line(10, 50),), score=ScoreSettings(bpm=96, bars=4, loop=False))
    doc = json.loads(drawing.to_json())
    assert doc["score"] == {"bpm": 96, "bars": 4, "loop": False}
    assert drawing_from_json(drawing.to_json()).score == drawing.score
    assert drawing_from_json(Drawing().to_json()).score is None  # saved outside score mode: no score


@pytest.mark.parametrize("score, where", [
    ({"bpm": "fast"}, "score.bpm"), ({"tempo": 120}, "score.tempo"), ([120], "score"),
    ({"seconds": 4, "bpm": 120}, "score.seconds"), ({"seconds": 0.01}, "score.seconds"),
])
def test_a_bad_score_object_is_rejected_naming_the_field(score, where):
    doc = json.loads(Drawing().to_json())
    doc["score"] = score
    with pytest.raises(DrawingError) as caught:
        drawing_from_json(json.dumps(doc))
    assert caught.value.where == where


def test_seconds_in_a_drawing_are_one_bar_of_that_length():
    assert settings_from_dict({"seconds": 5, "loop": False}) == ScoreSettings(bpm=48.0, bars=1, loop=False)


# -- spans ---------------------------------------------------------------------------------------------


def test_a_span_runs_from_the_leftmost_to_the_rightmost_ink_clamped_to_the_canvas():
    span = stroke_span(line(100, 200, width=10))
    assert (span.start, span.end) == (95 / 400, 205 / 400)
    edge = stroke_span(line(2, 398, width=20))
    assert (edge.start, edge.end) == (0.0, 1.0)
    assert stroke_span(line(100, 200, tool="eraser")) is None  # erasers are silent
    assert stroke_span(line(420, 500)) is None  # ink off the canvas
    dab = stroke_span(Stroke((Point(300, 100, 0),), "#000000", 4.0))
    assert (dab.start, dab.end) == (298 / 400, 302 / 400)  # a dab is a short note


# -- the offline score through the engine -------------------------------------------------------------


def test_each_stroke_starts_and_stops_at_its_edges_with_a_fresh_voice_every_pass():
    strokes = (line(100, 200, width=10, y=50), line(150, 300, width=10, y=350), line(0, 400, width=4, y=200))
    events = score_events(Drawing(strokes=strokes), ONE_BAR_120, loops=2)
    the_engine = engine()
    timeline = []
    for event in events:
        bundle = the_engine.handle(event)
        for message in bundle.messages if bundle else ():
            timeline.append((bundle.t_ms, message.address, message.args[-1]))
    plays = [(t, voice) for t, address, voice in timeline if address == "/pict2audio/play"]
    stops = [(t, voice) for t, address, voice in timeline if address == "/pict2audio/voice/stop"]
    # ms = 5 * px: the full-width stroke at 0, the others at their left ink; then again 2000 ms later
    assert plays == [(0.0, 1), (475.0, 2), (725.0, 3), (2000.0, 4), (2475.0, 5), (2725.0, 6)]
    assert stops == [(1025.0, 2), (1525.0, 3), (2000.0, 1), (3025.0, 5), (3525.0, 6), (4000.0, 4)]
    transport = [(t, args) for t, address, args in timeline if address == "/pict2audio/transport"]
    assert transport == [(0.0, 120.0), (4000.0, 120.0)]
    assert the_engine.sounding_voices() == ()


def test_score_voices_continue_the_session_ids_and_play_what_the_strokes_own_voices_played():
    the_engine = engine()
    own_plays = []
    for i, (x0, x1, y) in enumerate(((20, 80, 40), (120, 180, 300))):
        t = 100.0 * i
        for event in (PenDown(t_ms=t, x=x0, y=y, color="#1E90FF", width_px=12), PenMove(t_ms=t + 20, x=x1, y=y),
                      PenUp(t_ms=t + 20)):
            bundle = the_engine.handle(event)
            own_plays += [m.args for m in (bundle.find_all("play") if bundle else ())]
    strokes = the_engine.finished_strokes()
    note_plays = []
    for key, stroke in enumerate(strokes, start=1):
        bundle = the_engine.handle(ScoreNoteOn(t_ms=1000.0 + key, stroke=stroke, note=key))
        note_plays += [m.args for m in bundle.find_all("play")]
    assert [args[:-1] for args in note_plays] == [args[:-1] for args in own_plays]  # same sample, same labels
    assert [args[-1] for args in own_plays] == [1, 2] and [args[-1] for args in note_plays] == [3, 4]
    assert the_engine.handle(PenDown(t_ms=2000.0, x=5, y=5, color="#000000", width_px=3)).find(
        "stroke_begin").args == (5,)  # the next stroke's id follows the score's


def test_a_loaded_page_is_classified_stroke_by_stroke_as_classify_strokes_does():
    strokes = (line(20, 60, y=30, color="#D00000", width=25), line(200, 260, y=380, color="#228B22", width=4))
    the_engine = engine()
    the_engine.handle(LoadDrawing(t_ms=0.0, drawing=Drawing(strokes=strokes)))
    plays = [the_engine.handle(ScoreNoteOn(t_ms=1.0, stroke=s, note=i)).find("play").args for i, s in
             enumerate(strokes)]
    assert [args[1:4] for args in plays] == [(80, "high", "string"), (69, "low", "reed")]
    assert [args[0].endswith(f"-{i % 2}.wav") for i, args in enumerate(plays)] == [True, True]  # rotation: its index


def test_stop_cuts_the_sounding_score_notes_and_undo_cuts_the_notes_of_its_stroke():
    a, b = line(10, 100), line(200, 300, y=100)
    the_engine = engine()
    the_engine.handle(LoadDrawing(t_ms=0.0, drawing=Drawing(strokes=(a, b))))
    the_engine.handle(ScoreNoteOn(t_ms=1.0, stroke=a, note=1))
    the_engine.handle(ScoreNoteOn(t_ms=2.0, stroke=b, note=2))
    undo = the_engine.handle(LoadDrawing(t_ms=3.0, drawing=Drawing(strokes=(a,))))
    assert [m.args for m in undo.find_all("voice_stop")] == [(2,)]
    assert the_engine.handle(ScoreNoteOff(t_ms=4.0, note=2)) is None  # already cut: no second stop
    stop = the_engine.handle(ScoreState(t_ms=5.0, state="stopped", bpm=120.0))
    assert [m.address for m in stop.messages] == ["/pict2audio/voice/stop", "/pict2audio/transport"]
    assert stop.messages[0].args == (1,) and stop.messages[1].args == ("stopped", 120.0)
    assert the_engine.handle(ScoreNoteOff(t_ms=6.0, note=1)) is None
    assert the_engine.handle(ScorePlayhead(t_ms=7.0, position=0.25)).find("playhead").args == (0.25,)


def test_a_bundle_of_a_note_scheduled_ahead_carries_its_due_time_outside_its_value():
    stroke = line(10, 50)
    the_engine = engine()
    bundle = the_engine.handle(ScoreNoteOn(t_ms=10.0, stroke=stroke, note=1, due_unix_s=1234.5))
    assert bundle.due_unix_s == 1234.5
    assert ScoreNoteOn(t_ms=10.0, stroke=stroke, note=1, due_unix_s=1.0) == ScoreNoteOn(t_ms=10.0, stroke=stroke,
                                                                                          note=1)


# -- the live player on the test's clock -------------------------------------------------------------


class Stepper:
    """A ScorePlayer on a clock of its own, stepped from one due time to the next (no thread)."""

    def __init__(self, settings: ScoreSettings, strokes: list[Stroke], *, latency_ms: float = 0.0) -> None:
        self.clock = Clock()
        self.posted: list = []
        self.strokes = strokes
        self.player = ScorePlayer(settings, post=self.posted.append, strokes=lambda: tuple(self.strokes),
                                  session_ms=lambda instant: (instant - 50.0) * 1000.0, latency_ms=latency_ms,
                                  clock=self.clock, wall=lambda: 1_000_000.0 + self.clock.t)

    def until(self, t_s: float) -> None:
        """Step through every due time up to the test clock's t_s (posting at each exactly when due)."""
        while True:
            due = self.player.step()
            if due > t_s:
                self.clock.t = t_s
                self.player.step()
                return
            self.clock.t = max(due, self.clock.t)

    def notes(self, kind=ScoreNoteOn) -> list:
        return [e for e in self.posted if isinstance(e, kind)]


LEAD_MS = (START_LEAD_S + PASS_LEAD_S) * 1000.0  # the first pass starts this long after start


def test_the_live_player_posts_the_offline_schedule_exactly():
    strokes = [line(100, 200, width=10, y=50), line(150, 300, width=10, y=350)]
    stepper = Stepper(ONE_BAR_120, strokes)
    stepper.player.control(TransportControl(action="start"))
    stepper.until(50.0 + 4.5)
    live = [(round(e.t_ms - LEAD_MS, 3), type(e).__name__) for e in stepper.posted
            if isinstance(e, ScoreNoteOn | ScoreNoteOff)]
    offline = [(e.t_ms, type(e).__name__) for e in score_events(Drawing(strokes=tuple(strokes)), ONE_BAR_120, 2)
               if isinstance(e, ScoreNoteOn | ScoreNoteOff)]
    assert live == offline
    playheads = stepper.notes(ScorePlayhead)
    assert 120 <= len(playheads) <= 140  # 30 a second for 4.5 s
    assert all(0.0 <= p.position <= 1.0 for p in playheads)


def test_notes_go_out_ahead_by_the_latency_with_their_due_time():
    stepper = Stepper(ONE_BAR_120, [line(100, 200)], latency_ms=200.0)
    stepper.player.control(TransportControl(action="start"))
    stepper.until(50.0 + 0.9)
    on = stepper.notes()[0]
    due_ms = 200.0 + LEAD_MS + 475.0  # the latency delays the start of the pass too
    assert on.t_ms == pytest.approx(due_ms, abs=1e-3)
    assert on.due_unix_s == pytest.approx(1_000_000.0 + 50.0 + due_ms / 1000.0)


def test_a_stroke_drawn_while_it_loops_sounds_from_the_next_pass_and_an_undone_one_at_once_no_more():
    a, b, late = line(40, 60, y=50), line(300, 320, y=100), line(10, 30, y=300)
    strokes = [a, b]
    stepper = Stepper(ONE_BAR_120, strokes)
    stepper.player.control(TransportControl(action="start"))
    stepper.until(50.0 + 1.0)  # half-way through pass 0: a has played, b has not
    strokes.append(late)  # drawn left of the playhead ...
    strokes.remove(b)  # ... and b undone right of it
    stepper.until(50.0 + 3.9)  # to the end of pass 1
    played = [(e.stroke, round(e.t_ms - LEAD_MS)) for e in stepper.notes()]
    assert played == [(a, 175), (late, 2025), (a, 2175)]  # b's note in pass 0 is silent; pass 1: late and a


def test_tempo_keeps_the_position_and_stop_continue_resume_where_it_stopped():
    strokes = [line(100, 120), line(300, 320, y=300)]
    stepper = Stepper(ONE_BAR_120, strokes)
    stepper.player.control(TransportControl(action="start"))
    t0 = 50.0 + LEAD_MS / 1000.0  # the instant pass 0 begins
    stepper.until(t0 + 1.0)  # position 0.5
    stepper.player.control(TransportControl(action="tempo", value=240.0))  # now 1000 ms a pass
    stepper.until(t0 + 1.5)
    second = stepper.notes()[1]
    assert second.t_ms == pytest.approx((t0 - 50.0) * 1000 + 1000.0 + (295 / 400 - 0.5) * 1000.0, abs=1e-3)
    assert [e.bpm for e in stepper.notes(ScoreState)] == [120.0, 240.0]
    stepper.player.control(TransportControl(action="stop"))
    assert stepper.notes(ScoreState)[-1].state == "stopped"
    assert stepper.player.position() == pytest.approx(0.0, abs=1e-9)  # 0.5, then half a second at 1 s a pass
    count = len(stepper.notes())
    stepper.until(t0 + 5.0)
    assert len(stepper.notes()) == count  # stopped: nothing more
    stepper.player.control(TransportControl(action="position", value=0.6))
    stepper.player.control(TransportControl(action="continue"))
    stepper.until(t0 + 5.9)
    assert [e.stroke for e in stepper.notes()[count:]] == [strokes[1], strokes[0]]  # from 0.6: 300 first, then 100


def test_without_loop_one_pass_plays_and_the_transport_stops_at_its_end():
    stepper = Stepper(ScoreSettings(bpm=120, bars=1, loop=False), [line(100, 120)])
    stepper.player.control(TransportControl(action="start"))
    stepper.until(50.0 + 6.0)
    assert len(stepper.notes()) == 1
    end = stepper.notes(ScoreState)[-1]
    assert end.state == "stopped" and end.t_ms == pytest.approx(LEAD_MS + 2000.0, abs=1e-3)
    assert stepper.player.state == "stopped"


def test_a_tempo_out_of_range_is_ignored():
    stepper = Stepper(ONE_BAR_120, [])
    stepper.player.control(TransportControl(action="tempo", value=5000.0))
    assert stepper.player.settings == ONE_BAR_120
    with pytest.raises(ValueError):
        TransportControl(action="tempo")  # a tempo needs its value
    with pytest.raises(ValueError):
        TransportControl(action="rewind")


def test_every_pass_is_timed_from_one_anchor():
    strokes = [line(0, 10)]
    stepper = Stepper(ScoreSettings(bpm=999, bars=4), strokes)  # a pass of 0.96 s
    stepper.player.control(TransportControl(action="start"))
    stepper.until(50.0 + 200 * 0.961)
    ons = [e.t_ms for e in stepper.notes()]
    assert len(ons) == 200
    assert ons[-1] - ons[0] == pytest.approx(199 * ScoreSettings(bpm=999, bars=4).loop_ms, abs=2e-3)  # no drift
    assert stroke_spans(strokes)[0].start == 0.0
