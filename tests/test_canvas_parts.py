"""The canvas's small parts on their own: undo history, layout mapping, HUD lines, keys, files, loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from bridge.adapters.drawing_files import json_and_png_paths, load_drawing_file, save_drawing
from bridge.core.bank import Match, Sample
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.errors import BridgeError, ConfigError, DrawingError
from bridge.core.events import PenDown
from bridge.core.labels import Labels, Prediction
from bridge.core.protocol import Bundle
from bridge.core.raster import rasterise
from bridge.ui.history import History
from bridge.ui.hud import HudState, hud_lines
from bridge.ui.keys import KeyMap, parse_chord
from bridge.ui.latency import LatencyProbe
from bridge.ui.layout import Layout
from bridge.ui.session_link import SessionLink


def stroke(y: float, t0: float = 0.0) -> Stroke:
    return Stroke(tuple(Point(40 + 30 * i, y, t0 + 10 * i) for i in range(10)), "#D00000", 14.0)


def test_history_undo_redo_and_a_new_change_forgets_redo():
    history, a, b = History(), (stroke(10),), (stroke(10), stroke(50))
    history.record(())
    history.record(a)
    assert history.undo(b) == a and history.undo(a) == () and history.undo(()) is None
    assert history.redo(()) == a
    history.record(a)
    assert not history.can_redo


@pytest.mark.parametrize("size", [(1000, 620), (1500, 930), (800, 900), (2000, 620)])
def test_layout_maps_window_px_to_canvas_px_at_any_size(size):
    layout = Layout.fit(size)
    for x, y in ((0, 0), (123.5, 77.25), (399, 399)):
        wx, wy = layout.from_canvas(x, y)
        cx, cy = layout.to_canvas((wx, wy))
        assert abs(cx - x) <= 1.0 / layout.s and abs(cy - y) <= 1.0 / layout.s
    assert layout.canvas_rect.width == round(400 * layout.s) or abs(layout.canvas_rect.width - 400 * layout.s) <= 1
    assert layout.to_canvas((-50, -50)) == (0.0, 0.0)  # outside: clamped onto the canvas


def test_hud_lines_show_labels_confidences_match_overrides_osc_latency_errors():
    prediction = Prediction.from_probabilities([0.0] * 3 + [0.9] + [0.01] * 8, [0.2, 0.7, 0.1], [0.6] + [0.05] * 7)
    match = Match(Sample("/bank/brass-72-med.wav", Labels(72, "med", "brass")), 0.87)
    state = HudState("ready", prediction, match, {"timbre": "flute"}, (("127.0.0.1", 9000), ("10.0.0.2", 57120)),
                     12, "local", (1.25, 4.5, 30), ("classifier: RuntimeError: boom",), "saved")
    text = "\n".join(line for line, _, _ in hud_lines(state))
    for expected in ("pitch   C5 (72)  90%", "volume  med  70%", "timbre  brass  60%  (override: flute)",
                     "brass-72-med.wav", "score 0.87", "Overrides: timbre=flute", "127.0.0.1:9000, 10.0.0.2:57120",
                     "1.2 ms median, 4.5 ms max", "classifier: RuntimeError: boom"):
        assert expected in text, expected
    assert "loading" in hud_lines(HudState("loading"))[0][0]


def test_key_chords_parse_and_bad_ones_explain_themselves():
    import pygame

    assert parse_chord("ctrl+shift+z") == (pygame.K_z, pygame.KMOD_CTRL | pygame.KMOD_SHIFT)
    keys = KeyMap()
    keys.add("ctrl+z", "undo", lambda: None)
    assert keys.find(pygame.K_z, pygame.KMOD_LCTRL) is not None
    assert keys.find(pygame.K_z, 0) is None
    with pytest.raises(ConfigError, match="modifier"):
        parse_chord("hyper+z")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_chord("ctrl+nosuchkey")


def test_latency_probe_times_bundles_by_their_event_time():
    probe = LatencyProbe()
    assert probe.summary() is None
    probe.mark(12.3456)
    probe(Bundle((), 12.346))
    median, worst, count = probe.summary()
    assert count == 1 and 0 <= median == worst < 1000


def test_save_writes_json_and_png_atomically_and_open_reads_them_back(tmp_path):
    drawing = Drawing((stroke(100), stroke(300, 200)), meta={"model_version": "m1"})
    json_path, png_path = save_drawing(drawing, tmp_path / "sub" / "take.json")
    assert (json_path, png_path) == (tmp_path / "sub" / "take.json", tmp_path / "sub" / "take.png")
    assert sorted(p.name for p in json_path.parent.iterdir()) == ["take.json", "take.png"]  # no temp files
    assert json.loads(json_path.read_text())["strokes"][1]["points"][0] == [40, 300, 200]
    assert np.array_equal(np.asarray(Image.open(png_path).convert("RGB")), rasterise(drawing))
    assert load_drawing_file(png_path) == drawing  # the .png names its .json
    assert json_and_png_paths("x") == json_and_png_paths("x.png")


def test_open_errors_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(BridgeError, match="no saved drawing"):
        load_drawing_file(tmp_path / "nothing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "pict2audio-drawing", "version": 1, "canvas": {"width": 400, "height": 400}, '
                   '"strokes": [{"color": "#000000", "width": 5, "points": [[1, 2, 30], [3, 4, 10]]}]}')
    with pytest.raises(DrawingError, match=r"bad.json: strokes\[0\].points\[1\].*never decrease"):
        load_drawing_file(bad)


def test_save_into_an_unwritable_place_says_where_and_why(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BridgeError, match="could not save"):
        save_drawing(Drawing((stroke(10),)), blocker / "take.json")


def test_a_session_that_cannot_start_leaves_the_canvas_offline_with_the_reason():
    def connect():
        raise FileNotFoundError("models/image/model.tflite")

    link = SessionLink(connect).start()
    link.wait_ready(5.0)  # blocks until the builder thread has failed, then takes its error
    assert link.error is not None
    assert not link.ready and not link.loading
    assert "model.tflite" in link.errors()[0]
    link.post(PenDown(x=1, y=2, color="#000000", width_px=3))  # dropped, no exception
