"""A score performance recorded and replayed: the transport as the player applied it (start, tempo, stop, position,
continue, loop, from OSC-like posts and keys) and the strokes drawn while it loops are saved in the drawing, and
`performance_events` makes the same score messages from the saved JSON.

The live side is a real LiveSession, engine and scheduler thread on the monotonic clock; each step waits on the
bundles themselves. Strokes are drawn just after a note was heard, tens of ms from the next note, and handled by the
engine before the transport moves on, so the order the engine got them in is the order of their times (live, a
pen-down and a note within the scheduler's lateness of each other could be numbered either way, and a stroke whose
pen-up the engine has not handled yet when a pass is planned waits for the next pass)."""

from __future__ import annotations

import json

import mido
import pytest
from score_rig import ONE_SECOND, WAIT_S, Rig, draw, line
from stand_ins import InkClassifier, label_matcher

from bridge.app.score_player import performance_events
from bridge.core.drawing import Drawing, drawing_from_json
from bridge.core.engine import Engine
from bridge.core.errors import DrawingError
from bridge.core.events import EditPage, ScoreState, ScoreTransport, TransportControl
from bridge.core.score import ScoreSettings, has_performance


def replayed(drawing: Drawing, *, latency_ms: float = 0.0) -> list:
    """The bundles a fresh engine makes from the saved drawing's performance."""
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    bundles = [engine.handle(event) for event in performance_events(drawing, latency_ms=latency_ms)]
    return [bundle for bundle in bundles if bundle is not None and bundle.messages]


def split(bundles: list) -> tuple[list, list]:
    """(t_ms, messages) of the bundles without a playhead, and (t_ms, position to 1e-9) of the playheads (live
    positions come from monotonic-clock instants, the replay's from session ms: they differ beyond 1e-12)."""
    playheads = [(b.t_ms, round(b.find("playhead").args[0], 9)) for b in bundles if b.find("playhead") is not None]
    return [(b.t_ms, b.messages) for b in bundles if b.find("playhead") is None], playheads


def test_a_performance_with_transport_changes_and_strokes_drawn_while_looping_replays_the_same_messages():
    rig = Rig(ONE_SECOND).start()
    try:
        first = line(40, 60, y=50)
        draw(rig, first)  # its own voice
        rig.session.wait_idle(5.0)  # finished before the pass is planned, as its pen-up time says
        rig.session.post(TransportControl(action="start"))
        rig.wait_plays(2)  # pass 0 reached the stroke
        draw(rig, line(200, 260, y=300))  # drawn while it loops: sounds from pass 1
        rig.session.wait_idle(5.0)
        rig.session.post(TransportControl(action="tempo", value=300.0))
        rig.wait_plays(5)  # its own voice, then pass 1: both strokes
        rig.session.post(EditPage(strokes=rig.engine.finished_strokes()[:1]))  # undo: the second stroke goes
        rig.session.wait_idle(5.0)
        rig.session.post(TransportControl(action="stop"))
        assert rig.changes.wait_until(lambda: rig.transports()[-1:] == [("stopped", 300.0)], WAIT_S)
        rig.session.post(TransportControl(action="position", value=0.05))
        rig.session.post(TransportControl(action="loop", value=0.0))
        rig.session.post(TransportControl(action="continue"))  # from 0.05: the first stroke, then the end
        assert rig.changes.wait_until(lambda: rig.transports()[-1:] == [("stopped", 300.0)]
                                      and len(rig.transports()) == 5, WAIT_S)
        rig.session.wait_idle(5.0)
        saved = drawing_from_json(rig.engine.drawing.to_json())
        with rig.changes:
            live = [bundle for _, bundle in rig.delivered]
    finally:
        rig.close()
    assert [getattr(c, "action", "page") for c in saved.controls] == [
        "start", "tempo", "page", "stop", "position", "loop", "continue"]
    assert saved.score == ONE_SECOND and has_performance(saved)  # the settings it started from
    assert len(saved.strokes) == len(saved.undone) == 1  # the undone stroke is kept for the replay
    live_notes, live_heads = split(live)
    replay_notes, replay_heads = split(replayed(saved))
    assert sum(b.find("play") is not None for b in live) == 6  # 2 own voices, 2 + 2 score notes
    assert replay_notes == live_notes
    assert set(live_heads) <= set(replay_heads)  # one the live thread reached a grid step late is skipped
    assert len(live_heads) >= 0.8 * len(replay_heads)


def test_a_recorded_transport_control_round_trips_through_json_and_bad_ones_name_the_field():
    controls = (TransportControl(t_ms=10, action="start"), TransportControl(t_ms=20.5, action="tempo", value=96),
                TransportControl(t_ms=30, action="sync", value=1.234567891, bpm=90.123456),
                TransportControl(t_ms=40, action="loop", value=0))
    drawing = Drawing(controls=controls, score=ScoreSettings())
    doc = json.loads(drawing.to_json())
    assert doc["controls"][2] == {"t_ms": 30, "kind": "transport", "action": "sync", "value": 1.234567891,
                                  "bpm": 90.123456}
    assert drawing_from_json(drawing.to_json()).controls == controls
    for bad, where in (({"action": "rewind"}, "action"), ({"action": "tempo", "value": 0}, "value"),
                       ({"action": "start", "value": 1}, "value"), ({"action": "sync", "value": 1}, "bpm"),
                       ({"action": "clock"}, "action")):
        doc["controls"] = [{"t_ms": 5, "kind": "transport", **bad}]
        with pytest.raises(DrawingError) as caught:
            drawing_from_json(json.dumps(doc))
        assert caught.value.where == f"controls[0].{where}"


def test_a_page_edit_keeps_the_strokes_it_took_off_and_round_trips_through_json():
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    for t, y in ((0, 50), (100, 150), (200, 250)):
        draw_at(engine, line(20, 80, y=y), t)
    a, b, c = engine.finished_strokes()
    stops = engine.handle(EditPage(t_ms=300, strokes=(a,)))  # undo twice
    assert sorted(m.args for m in stops.find_all("voice_stop")) == [(2,), (3,)]
    engine.handle(EditPage(t_ms=400, strokes=(a, b)))  # redo once
    drawing = engine.drawing
    assert (drawing.strokes, drawing.undone) == ((a, b), (c,))
    doc = json.loads(drawing.to_json())
    assert [c["strokes"] for c in doc["controls"]] == [[0], [0, 1]] and len(doc["undone"]) == 1
    assert drawing_from_json(drawing.to_json()) == drawing
    doc["controls"][0]["strokes"] = [3]
    with pytest.raises(DrawingError) as caught:
        drawing_from_json(json.dumps(doc))
    assert caught.value.where == "controls[0].strokes"


def draw_at(engine: Engine, stroke, t_ms: float) -> None:
    from bridge.core.events import PenDown, PenMove, PenUp

    first, *rest = stroke.points
    engine.handle(PenDown(t_ms=t_ms, x=first.x, y=first.y, color=stroke.color, width_px=stroke.width_px))
    for point in rest:
        engine.handle(PenMove(t_ms=t_ms + point.t_ms, x=point.x, y=point.y))
    engine.handle(PenUp(t_ms=t_ms + rest[-1].t_ms))


def test_the_engine_records_what_the_player_applied_and_the_settings_the_take_started_from():
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    start = TransportControl(t_ms=5, action="start")
    assert engine.handle(ScoreTransport(t_ms=5, control=start, settings=ONE_SECOND)) is None  # nothing sent
    tempo = TransportControl(t_ms=9, action="tempo", value=100)
    engine.handle(ScoreTransport(t_ms=9, control=tempo, settings=ONE_SECOND.with_tempo(100)))
    assert engine.drawing.controls == (start, tempo) and engine.drawing.score == ONE_SECOND


def test_a_performance_replays_through_the_replay_command(tmp_path):
    from replay_helpers import run_bridge

    stroke = line(100, 140, y=120)
    controls = (TransportControl(t_ms=100, action="start"), TransportControl(t_ms=1100, action="tempo", value=480),
                TransportControl(t_ms=1600, action="stop"))
    doc = json.loads(Drawing(strokes=(stroke,), controls=controls, score=ONE_SECOND).to_json())
    path = tmp_path / "take.json"
    path.write_text(json.dumps(doc))
    mid = tmp_path / "take.mid"
    done = run_bridge("replay", str(path), "--fast", "--audio", "none", "--osc", "127.0.0.1:9", "--midi", str(mid))
    assert done.returncode == 0, done.stderr
    # its own voice, pass 0 (at 240 bpm), then pass 1 at 480 bpm until the stop: three notes
    assert "1 strokes, 3 notes" in done.stdout and "(type 1, 240 then 480 bpm)" in done.stdout, done.stdout
    midi = mido.MidiFile(mid)
    assert [mido.tempo2bpm(m.tempo) for m in midi.tracks[0] if m.type == "set_tempo"] == [240, 480]
    t_s, ons = 0.0, []
    for msg in midi:
        t_s += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            ons.append(t_s * 1000.0)
    # pen-down at 0; pass 0 from 160 ms (start + leads); at 1100 ms (0.94 through pass 0) the tempo doubles
    assert ons == pytest.approx([0.0, 160 + 95 / 400 * 1000, 1130 + 95 / 400 * 500], abs=0.6)


def test_the_replay_ends_the_pass_it_was_in_when_the_recording_ends():
    stroke = line(300, 320)
    drawing = Drawing(strokes=(stroke,), controls=(TransportControl(t_ms=1000, action="start"),), score=ONE_SECOND)
    events = performance_events(drawing)
    states = [e for e in events if isinstance(e, ScoreState)]
    assert [(e.state, e.t_ms) for e in states] == [("playing", 1000.0), ("stopped", pytest.approx(2060.0))]
