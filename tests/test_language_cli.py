"""Taught shapes end to end: `teach`, `classify --language`, and a live session with a language replayed from its
saved drawing (real image model, default bank, OSC over loopback)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import REPO
from replay_helpers import OscRecorder, run_bridge
from shape_drawings import shape_drawing

from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.replay import session_events

SHIPPED = REPO / "data" / "languages" / "shapes"


def black(drawing: Drawing, *, after_ms: float = 0.0) -> Drawing:
    """The drawing in the default pen colour (keyboard by the fixed rules), `after_ms` later."""
    return replace(drawing, strokes=tuple(
        Stroke(tuple(Point(p.x, p.y, p.t_ms + after_ms) for p in s.points), "#000000", s.width_px)
        for s in drawing.strokes))


def write(drawing: Drawing, path: Path) -> Path:
    path.write_text(drawing.to_json(), encoding="utf-8")
    return path


def test_the_shipped_examples_are_the_careful_hand_s_drawings():
    """data/languages/shapes/examples/CLASS/SHAPE-N.json is shape_drawing(SHAPE, seed=7, index=N-1), hand A."""
    from shape_drawings import STYLE_A

    files = sorted((SHIPPED / "examples").glob("*/*.json"))
    assert len(files) == 18
    for path in files:
        shape, number = path.stem.rsplit("-", 1)
        drawing = shape_drawing(shape, seed=7, index=int(number) - 1, style=STYLE_A)
        assert drawing_from_json(path.read_bytes()).strokes == drawing.strokes, path


def test_teach_makes_the_shipped_language_from_its_examples(tmp_path):
    out = tmp_path / "shapes.json"
    proc = run_bridge("teach", str(SHIPPED / "examples"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["hash"] == json.loads((SHIPPED / "language.json").read_text())["hash"]
    assert "self-check: 18 of 18 examples recognised from the others" in proc.stdout
    assert "timbre=flute: 3 examples" in proc.stdout


def test_teach_names_every_bad_input_and_writes_nothing(tmp_path):
    examples = tmp_path / "examples"
    shutil.copytree(SHIPPED / "examples" / "timbre=flute", examples / "timbre=flute")
    (examples / "colour=red").mkdir()
    (examples / "timbre=brass").mkdir()
    write(shape_drawing("dab", seed=1, index=0), examples / "timbre=brass" / "dab.json")
    (examples / "timbre=brass" / "broken.json").write_text('{"format": "pict2audio-drawing", "version": 1}')
    (examples / "volume=high").mkdir()
    out = tmp_path / "shapes.json"
    proc = run_bridge("teach", str(examples), "-o", str(out))
    assert proc.returncode == 1
    assert not out.exists()
    lines = proc.stderr.splitlines()
    assert any("colour=red" in line and "HEAD=VALUE" in line for line in lines)
    assert any("dab.json" in line and "smaller than" in line for line in lines)
    assert any("broken.json" in line and "canvas" in line for line in lines)
    assert any("volume=high" in line and "no example drawings" in line for line in lines)


def test_classify_gives_the_taught_label_the_gesture_and_its_confidence(tmp_path):
    circle = write(black(shape_drawing("circle", seed=31, index=0)), tmp_path / "circle.json")
    cross = write(black(shape_drawing("cross", seed=31, index=0)), tmp_path / "cross.json")
    line = write(black(shape_drawing("line", seed=31, index=0)), tmp_path / "line.json")
    language = str(SHIPPED / "language.json")
    proc = run_bridge("classify", str(circle), str(line), "--language", language, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert rows[0]["gesture"] == "timbre=flute" and rows[0]["timbre"] == "flute"
    assert rows[0]["confidence"]["timbre"] == rows[0]["gesture_confidence"] >= 0.5
    assert rows[1]["gesture"] is None and rows[1]["gesture_confidence"] is None and rows[1]["timbre"] == "keyboard"
    proc = run_bridge("classify", str(cross), "--strokes", "--language", language, "--json")
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [r["gesture"] for r in rows] == [None, "pitch=72"]  # the cross is complete at its second bar
    assert rows[1]["pitch"] == 72
    plain = json.loads(run_bridge("classify", str(circle), "--json").stdout)
    assert "gesture" not in plain and plain["timbre"] == "keyboard"


def test_classify_refuses_a_language_file_that_was_changed(tmp_path):
    changed = tmp_path / "changed.json"
    doc = json.loads((SHIPPED / "language.json").read_text())
    doc["threshold"] = 1.0
    changed.write_text(json.dumps(doc))
    proc = run_bridge("classify", str(SHIPPED / "examples" / "timbre=flute" / "circle-1.json"),
                      "--language", str(changed))
    assert proc.returncode == 1
    assert str(changed) in proc.stderr and "hash" in proc.stderr


@pytest.fixture(scope="module")
def live_take(tmp_path_factory):
    """A live session with the shipped language (a copy): a circle, a cross and a line posted with their drawing
    times; (saved drawing, OSC datagrams received, the language file)."""
    from bridge.app.config import Config
    from bridge.app.session import build_session

    folder = tmp_path_factory.mktemp("language-take")
    language = folder / "shapes.json"
    shutil.copy(SHIPPED / "language.json", language)
    strokes = (*black(shape_drawing("circle", seed=32, index=0)).strokes,
               *black(shape_drawing("cross", seed=32, index=0), after_ms=3000).strokes,
               *black(shape_drawing("line", seed=32, index=0), after_ms=6000).strokes)
    with OscRecorder() as receiver:
        config = Config(osc_targets=(("127.0.0.1", receiver.port),), audio="none", language=language, oscquery=False)
        parts = build_session(config)
        try:
            for event in session_events(Drawing(strokes)):
                parts.session.post(event)
            assert parts.session.wait_idle(60.0)
            receiver.wait_quiet()
            drawing = parts.engine.drawing
            assert not parts.engine.errors and not parts.session.sink_errors
        finally:
            parts.close()
    saved = write(drawing, folder / "take.json")
    return saved, receiver.received, language


def replayed(saved: Path, *extra: str):
    with OscRecorder() as receiver:
        proc = run_bridge("replay", str(saved), "--fast", "--audio", "none", "--osc", f"127.0.0.1:{receiver.port}",
                          *extra)
        receiver.wait_quiet()
    return proc, receiver.received


def test_a_replay_of_a_take_with_a_language_sends_the_live_messages(live_take):
    saved, live, language = live_take
    meta = drawing_from_json(saved.read_bytes()).meta["language"]
    assert meta["path"] == str(language.resolve()) and meta["hash"].startswith("sha256:")
    played = [m for r in live for m in r.messages if m[0] == "/pict2audio/play"]
    assert any(args[3] == "flute" for _, args in played)  # the circle, by its shape
    assert any(args[1] == 72 and args[-1] == 3 for _, args in played)  # the cross, at its second bar
    assert any(m[0] == "/pict2audio/voice/stop" and m[1] == (2,) for r in live for m in r.messages)
    proc, again = replayed(saved)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert [r.messages for r in again] == [r.messages for r in live]


def test_a_replay_says_when_the_language_changed_or_is_missing(live_take, tmp_path):
    saved, live, _ = live_take
    other = tmp_path / "other.json"
    proc = run_bridge("teach", str(SHIPPED / "examples"), "-o", str(other), "--threshold", "0.05")
    assert proc.returncode == 0, proc.stderr
    proc, _ = replayed(saved, "--language", str(other))
    assert proc.returncode == 0, proc.stderr
    assert "which differs: gestures may differ" in proc.stderr and str(other) in proc.stderr
    moved = tmp_path / "take.json"
    doc = json.loads(saved.read_text())
    doc["meta"]["language"]["path"] = str(tmp_path / "gone.json")
    moved.write_text(json.dumps(doc))
    proc, again = replayed(moved)
    assert proc.returncode == 0, proc.stderr
    assert "gone.json: no such language file" in proc.stderr and "replaying without a language" in proc.stderr
    assert [r.messages for r in again] != [r.messages for r in live]
