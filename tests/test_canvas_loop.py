"""The live canvas driven headless: posted mouse and key events go through the real event loop, and we
check what the canvas drew, what the engine recorded and what a loopback OSC socket received."""

from __future__ import annotations

import threading

import pygame
import pytest
from canvas_harness import (
    END,
    HUD_REFRESH_S,
    InkClassifier,
    OscReceiver,
    Rig,
    line,
    make_parts,
    post_key,
    post_mouse,
    tiny_bank,
    watch_saves,
)

from bridge.app.session import build_engine
from bridge.core.drawing import drawing_from_json
from bridge.core.labels import PALETTE_RGB, band_for_y
from bridge.core.replay import session_events
from bridge.ui.canvas_app import CanvasApp, CanvasOptions
from bridge.ui.session_link import SessionLink

BEGIN = "/pict2audio/stroke/begin"
LABELS, PLAY = "/pict2audio/labels", "/pict2audio/play"


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path)
    yield rig
    rig.close()


def test_a_stroke_is_drawn_and_sent_over_osc(rig):
    rig.draw(line(100.0), pump_each=True)
    addresses = rig.rx.addresses()
    assert addresses[0] == BEGIN and PLAY in addresses[:4] and addresses[-1] == END  # sounds at pen down
    labels = rig.rx.messages(LABELS)
    assert labels and labels[-1][0] == 80 - band_for_y(100.0)  # the stroke's pitch band
    assert {m[-1] for m in labels} == {1}  # the voice's id
    play = rig.rx.messages(PLAY)[-1]
    assert play == (f"/bank/keyboard-{80 - band_for_y(100.0)}-med.wav", 80 - band_for_y(100.0), "med", "keyboard", 1)
    # the canvas shows black ink on the line and the grid elsewhere
    view = rig.app.ink.view()
    assert view.get_at((200, 100))[:3] == (0, 0, 0)
    assert view.get_at((200, 300))[:3] == (255, 255, 255)
    assert view.get_at((33, 300))[:3] == (220, 220, 220)
    screen = pygame.display.get_surface()
    assert screen.get_at(rig.window_pos(200, 100))[:3] == (0, 0, 0)
    # the engine holds the stroke as posted; pen up is at the last point's time
    drawing = rig.link.engine.drawing
    assert drawing.strokes == rig.app.strokes and len(drawing.strokes) == 1
    assert drawing.strokes[0].points[-1].t_ms == rig.bundles[-1].t_ms
    rig.app.pump(seconds=HUD_REFRESH_S)  # the probe has measured the stroke: the next refresh shows it
    assert rig.app.hud_state().latency is not None


def test_live_osc_equals_a_replay_of_the_saved_json(rig, tmp_path, monkeypatch):
    saves = watch_saves(monkeypatch)
    rig.draw(line(60.0, n=30), pump_each=True)
    post_key(pygame.K_5)  # string colour
    post_key(pygame.K_RIGHTBRACKET, pygame.KMOD_SHIFT)  # 5 px thicker
    rig.draw([(300, 330 - 4 * i) for i in range(20)], pump_each=True)
    rig.app.save_as(tmp_path / "take")
    saves.get(timeout=5)  # the save thread is done
    assert (tmp_path / "take.png").exists()
    drawing = drawing_from_json((tmp_path / "take.json").read_text())
    assert [s.color for s in drawing.strokes] == ["#000000", "#D00000"]
    assert drawing.strokes[1].width_px == 17.0
    assert drawing.meta["model_version"] == InkClassifier.version
    engine = build_engine(InkClassifier(), tiny_bank())
    replayed = [engine.handle(event) for event in session_events(drawing)]
    replayed = [b for b in replayed if b is not None and b.messages]
    assert [b.messages for b in replayed] == [b.messages for b in rig.bundles]


def test_undo_redo_clear_and_colour_keys(rig):
    rig.draw(line(50.0))
    rig.draw(line(250.0))
    post_key(pygame.K_z, pygame.KMOD_CTRL)
    rig.settle()
    assert len(rig.link.engine.drawing.strokes) == 1
    assert rig.app.ink.view().get_at((200, 250))[:3] == (255, 255, 255)
    post_key(pygame.K_y, pygame.KMOD_CTRL)
    rig.settle()
    assert len(rig.link.engine.drawing.strokes) == 2
    assert rig.app.ink.view().get_at((200, 250))[:3] == (0, 0, 0)
    post_key(pygame.K_DELETE)
    rig.settle(lambda: "/pict2audio/clear" in rig.rx.addresses())
    assert rig.link.engine.drawing.strokes == () and rig.app.strokes == ()
    assert rig.link.now_ms() < 1000  # the clock restarted with the new drawing
    post_key(pygame.K_7)
    rig.draw(line(150.0))
    assert rig.link.engine.drawing.strokes[0].color == "#1E90FF"
    assert rig.app.ink.view().get_at((200, 150))[:3] == PALETTE_RGB["flute"]


def test_the_eraser_gives_the_grid_back(rig):
    rig.draw(line(100.0))
    rig.draw(line(100.0), button=3)  # right button erases
    assert rig.link.engine.drawing.strokes[1].tool == "eraser"
    view = rig.app.ink.view()
    assert view.get_at((200, 100))[:3] == (255, 255, 255)
    assert view.get_at((99, 100))[:3] == (220, 220, 220)  # a grid line


def test_a_resized_window_maps_to_the_same_canvas_px(rig):
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(1500, 930), w=1500, h=930))
    rig.app.pump(frames=2)
    assert pygame.display.get_surface().get_size() == (1500, 930)
    assert rig.app.layout().canvas_rect.size == (600, 600)
    rig.draw(line(320.0))
    points = rig.link.engine.drawing.strokes[0].points
    assert all(abs(p.y - 320.0) <= 1.0 for p in points) and abs(points[0].x - 40) <= 1.0
    screen = pygame.display.get_surface()
    assert screen.get_at(rig.window_pos(200, 320))[:3] == (0, 0, 0)


def test_save_and_open_through_the_prompts(rig, tmp_path, monkeypatch):
    saves = watch_saves(monkeypatch)
    rig.draw(line(200.0))
    assert rig.open_prompt(pygame.K_s).text.startswith(str(tmp_path))
    rig.answer_prompt(str(tmp_path / "song"))
    rig.app.pump(frames=1)
    assert rig.app.prompt is None
    saves.get(timeout=5)  # the save thread is done
    assert (tmp_path / "song.json").exists() and (tmp_path / "song.png").exists()
    post_key(pygame.K_DELETE)
    rig.settle()
    post_key(pygame.K_o, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    rig.app.prompt.text = str(tmp_path / "missing.json")
    post_key(pygame.K_RETURN)
    rig.app.pump(frames=1)
    assert rig.app.prompt is not None and "no saved drawing" in rig.app.prompt.error
    rig.app.prompt.text = str(tmp_path / "song.json")
    post_key(pygame.K_RETURN)
    rig.settle()
    assert rig.app.prompt is None
    assert len(rig.link.engine.drawing.strokes) == 1
    assert rig.app.ink.view().get_at((200, 200))[:3] == (0, 0, 0)
    assert rig.link.now_ms() > rig.link.engine.drawing.duration_ms()  # new strokes come after


def test_a_classifier_exception_mid_stroke_leaves_the_canvas_running(rig):
    points = line(120.0, n=40)
    post_mouse(pygame.MOUSEBUTTONDOWN, rig.window_pos(*points[0]))
    for i, p in enumerate(points[1:]):
        if i == 15:
            rig.classifier.fail = True
        post_mouse(pygame.MOUSEMOTION, rig.window_pos(*p))
        rig.app.pump(frames=1)
    post_mouse(pygame.MOUSEBUTTONUP, rig.window_pos(*points[-1]))
    rig.settle(lambda: END in rig.rx.addresses())
    assert rig.app.running
    state = rig.app.hud_state()
    assert any("injected classifier failure" in e for e in state.errors)
    assert rig.app.ink.view().get_at((300, 120))[:3] == (0, 0, 0)  # drawing went on
    frames, labelled = rig.app.frames, len(rig.rx.messages(LABELS))
    rig.classifier.fail = False
    rig.draw(line(300.0))
    assert rig.app.frames > frames and len(rig.rx.messages(LABELS)) > labelled  # classifying again


class Gate:
    """A session sink that holds the engine thread at the first pen down's bundle until `release` is set."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, bundle) -> None:
        if bundle.find("stroke_begin") is not None and not self.holding.is_set():
            self.holding.set()
            self.release.wait(30)


def test_frames_and_input_go_on_while_the_session_is_busy(tmp_path):
    """The loop waits for the session before a frame only for a bounded time, and still takes input."""
    gate = Gate()
    rig = Rig(tmp_path, sinks=(gate,))
    try:
        points = line(200.0)
        post_mouse(pygame.MOUSEBUTTONDOWN, rig.window_pos(*points[0]))
        rig.app.pump(frames=1)
        assert gate.holding.wait(5)  # the engine thread is held inside the pen down's delivery
        for point in points[1:]:
            post_mouse(pygame.MOUSEMOTION, rig.window_pos(*point))
        post_mouse(pygame.MOUSEBUTTONUP, rig.window_pos(*points[-1]))
        frames = rig.app.frames
        rig.app.pump(frames=3)
        assert not rig.link.idle(0.0) and not gate.release.is_set()  # still held: the frames did not wait for it
        assert rig.app.frames == frames + 3 and len(rig.app.strokes) == 1  # the pen up was taken meanwhile
        assert rig.app.ink.view().get_at((200, 200))[:3] == (0, 0, 0)
        gate.release.set()
        rig.settle(lambda: END in rig.rx.addresses())
        assert rig.link.engine.drawing.strokes == rig.app.strokes
    finally:
        gate.release.set()
        rig.close()


def test_a_failing_output_is_contained_and_shown(tmp_path):
    def broken_output(bundle):
        raise OSError("device unplugged")

    rig = Rig(tmp_path, sinks=(broken_output,))
    try:
        rig.draw(line(200.0))
        assert any("device unplugged" in e for e in rig.app.hud_state().errors)
        assert rig.app.running and PLAY in rig.rx.addresses()
    finally:
        rig.close()


def test_extra_key_commands_help_and_messages(rig):
    hits = []
    rig.app.add_key_command("ctrl+l", "MIDI learn: pitch", lambda: hits.append("learn"))
    post_key(pygame.K_l, pygame.KMOD_CTRL)
    post_key(pygame.K_h)
    rig.app.pump(frames=1)
    assert hits == ["learn"] and rig.app.help_visible
    assert ("ctrl+l", "MIDI learn: pitch") in rig.app.help_rows()
    post_key(pygame.K_ESCAPE)
    rig.app.pump(frames=1)
    assert not rig.app.help_visible
    rig.app.show_message("learned CC 21")
    assert rig.app.hud_state().message == "learned CC 21"


def test_a_failing_key_command_does_not_stop_the_loop(rig):
    rig.app.add_key_command("f2", "broken", lambda: 1 / 0)
    post_key(pygame.K_F2)
    rig.app.pump(frames=2)
    assert rig.app.running and "ZeroDivisionError" in rig.app.hud_state().message


def test_drawing_while_the_model_loads_is_kept_and_sent_when_ready(tmp_path):
    release = threading.Event()
    rx = OscReceiver()

    def slow_connect():
        release.wait(10)
        return make_parts(rx.port)

    link = SessionLink(slow_connect)
    app = CanvasApp(link, CanvasOptions(osc_targets=(("127.0.0.1", rx.port),)))
    link.start()
    app.open()
    try:
        app.pump(frames=1)
        assert app.hud_state().status == "loading"
        lay = app.layout()
        post_mouse(pygame.MOUSEBUTTONDOWN, lay.from_canvas(50, 300))
        post_mouse(pygame.MOUSEMOTION, lay.from_canvas(150, 300))
        post_mouse(pygame.MOUSEBUTTONUP, lay.from_canvas(250, 300))
        app.pump(frames=2)
        assert app.ink.view().get_at((100, 300))[:3] == (0, 0, 0) and rx.addresses() == []
        release.set()
        assert link.wait_ready(5.0)  # blocks on the builder thread, then hands the kept events over
        app.pump(frames=1)
        assert link.idle(5.0) and rx.wait_until(lambda: END in rx.addresses())
        assert rx.messages(LABELS)[-1][0] == 80 - band_for_y(300.0)
        assert link.engine.drawing.strokes == app.strokes
    finally:
        release.set()
        app.close()
        rx.close()


def test_a_drawing_error_in_a_frame_is_contained(rig):
    calls = []

    def broken(screen, layout, app):
        calls.append(1)
        if len(calls) <= 3:
            raise ValueError("bad surface")

    rig.app.renderer.draw_canvas = broken
    rig.app.pump(frames=6)
    assert rig.app.running and len(calls) >= 5
    assert "bad surface" in rig.app.hud_state().message


def test_nan_confidences_from_a_bad_model_do_not_freeze_the_display(rig):
    rig.classifier.nan = True
    rig.draw(line(200.0), pump_each=True)
    frames = rig.app.frames
    rig.app.pump(frames=3)
    assert rig.app.frames == frames + 3
    assert pygame.display.get_surface().get_at(rig.window_pos(200, 200))[:3] == (0, 0, 0)
