"""The window tells the truth: what the HUD says of audio, MIDI and latency; no invisible window; prompts
that say where a path goes and never cut a word; a clear from OSC control clears the screen too;
`replay --show` names the notes and stays up; no library banners on the console."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading

import mido
import pygame
import pytest
from canvas_harness import (
    END,
    HUD_REFRESH_S,
    OscReceiver,
    Rig,
    line,
    make_parts,
    post_key,
    post_mouse,
    post_text,
    watch_saves,
)
from conftest import REPO
from osc_peers import write_tone
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.adapters.audio_pygame import LocalAudio
from bridge.adapters.midi_mido import MidiInput
from bridge.commands.play import FIRST_FRAME_MARKER
from bridge.core.bank import Sample, SoundBank
from bridge.core.drawing import drawing_from_json
from bridge.core.labels import PITCHES, Labels, note_name
from bridge.ui.canvas_app import CanvasApp, CanvasOptions
from bridge.ui.display import display_problem, no_screen_named
from bridge.ui.hud import BAD, hud_lines
from bridge.ui.latency import LatencyProbe
from bridge.ui.overlays import tail_that_fits
from bridge.ui.session_link import SessionLink
from bridge.ui.text import ELLIPSIS, TextCache, word_ends

CLEAR = "/pict2audio/clear"
DRAWINGS = REPO / "data" / "drawings"
QUIET_VARIABLES = ("PYGAME_HIDE_SUPPORT_PROMPT", "TF_CPP_MIN_LOG_LEVEL")


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path)
    yield rig
    rig.close()


def hud_row(app: CanvasApp, prefix: str) -> tuple[str, str]:
    """The HUD row starting with `prefix`, and its style."""
    rows = [(text, style) for text, style, _ in hud_lines(app.hud_state()) if text.startswith(prefix)]
    assert len(rows) == 1, hud_lines(app.hud_state())
    return rows[0]


@pytest.fixture
def fresh_mixer():
    """pygame.mixer is process-wide: start each audio test without it and leave without it."""
    pygame.mixer.quit()
    yield
    pygame.mixer.quit()


# -- 1. the HUD: audio, MIDI in, latency ------------------------------------------------------------------------


def test_the_hud_says_audio_is_off_when_playback_has_no_device(tmp_path, monkeypatch, fresh_mixer):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-audio-driver")  # SDL cannot open any device
    audio = LocalAudio()
    assert audio.open() is False and audio.enabled is False
    rig = Rig(tmp_path, options={"audio": "local"}, audio=audio)
    try:
        assert hud_row(rig.app, "Audio:") == ("Audio: off (no device)", BAD)
    finally:
        rig.close()


def test_the_hud_says_audio_is_off_by_choice(rig):
    assert hud_row(rig.app, "Audio:")[0] == "Audio: off (--audio none)"


def test_the_hud_counts_the_voices_sounding_out_of_the_limit(tmp_path, fresh_mixer):
    folder = tmp_path / "bank"
    folder.mkdir()
    samples = tuple(Sample(str(write_tone(folder / f"{p}.wav", midi_note=p, duration_s=10.0, sample_rate_hz=8000)),
                           Labels(p, "med", "keyboard")) for p in PITCHES)
    audio = LocalAudio(voices=4)
    audio.open()  # as build_session does
    rig = Rig(tmp_path, options={"audio": "local"}, audio=audio, bank=SoundBank(samples, version="ten-second-tones"))
    try:
        assert audio.enabled is True  # SDL's dummy audio driver plays in real time
        rig.draw(line(100.0))
        rig.draw(line(250.0))
        rig.app.pump(seconds=HUD_REFRESH_S)
        assert set(audio.sounding()) == {1, 2}
        assert hud_row(rig.app, "Audio:")[0] == "Audio: 2 / 4 voices"
        post_key(pygame.K_DELETE)  # clear cuts every voice
        rig.settle(lambda: CLEAR in rig.rx.addresses())
        rig.app.pump(seconds=HUD_REFRESH_S)
        assert hud_row(rig.app, "Audio:")[0] == "Audio: 0 / 4 voices"
    finally:
        rig.close()


def test_the_hud_shows_the_midi_input_its_loss_and_no_input(rig):
    assert hud_row(rig.app, "MIDI in:")[0] == "MIDI in: off"
    rig.app.midi_wanted = "nanoKONTROL2"
    assert hud_row(rig.app, "MIDI in:") == ("MIDI in: off ('nanoKONTROL2' not opened)", BAD)
    midi = MidiInput("nanoKONTROL2", post=rig.link.post)
    midi.attach(mido.ports.EchoPort(name="nanoKONTROL2 MIDI 1"))
    rig.app.midi = midi
    try:
        assert hud_row(rig.app, "MIDI in:") == ("MIDI in: nanoKONTROL2 MIDI 1", "text")
        midi.close()  # no port, its name kept: the input's state once its device vanished (the watcher closes it)
        assert not midi.connected
        assert hud_row(rig.app, "MIDI in:") == ("MIDI in: nanoKONTROL2 MIDI 1 lost, retrying", BAD)
    finally:
        midi.close()


def test_latency_counts_only_events_posted_once_the_session_is_live(tmp_path):
    """Events drawn while the model loads are sent when it is ready: their wait is loading, not latency."""
    release = threading.Event()
    rx, probe = OscReceiver(), LatencyProbe()

    def slow_connect():
        release.wait(10)
        return make_parts(rx.port, extra_sinks=(probe,))

    link = SessionLink(slow_connect)
    app = CanvasApp(link, CanvasOptions(osc_targets=(("127.0.0.1", rx.port),)), probe=probe)
    link.start()
    app.open()
    try:
        layout = app.layout()
        for kind, x in ((pygame.MOUSEBUTTONDOWN, 50), (pygame.MOUSEMOTION, 150), (pygame.MOUSEBUTTONUP, 250)):
            post_mouse(kind, layout.from_canvas(x, 300))
        loading_s = 0.4
        app.pump(seconds=loading_s)  # the stroke waits this long in the link's buffer
        release.set()
        assert link.wait_ready(5.0)
        app.pump(frames=1)
        assert link.idle(5.0) and rx.wait_until(lambda: END in rx.addresses())
        assert probe.summary() is None  # the buffered stroke's OSC is not a latency sample
        for kind, x in ((pygame.MOUSEBUTTONDOWN, 50), (pygame.MOUSEMOTION, 150), (pygame.MOUSEBUTTONUP, 250)):
            post_mouse(kind, layout.from_canvas(x, 100))
        app.pump(frames=2)
        assert link.idle(5.0) and rx.wait_until(lambda: len(rx.messages(END)) == 2)
        _, worst, count = probe.summary()
        assert count >= 2 and worst < loading_s * 1000
    finally:
        release.set()
        app.close()
        rx.close()


def test_the_latency_probe_times_the_osc_datagram_not_the_local_audio_after_it(fresh_mixer):
    """In the canvas's session the probe runs right after the OSC sender, before local audio decodes."""
    from bridge.app.config import Config
    from bridge.commands.play import _build
    from bridge.ui.notices import SessionNotices

    probe, notices = LatencyProbe(), SessionNotices()
    parts = _build(Config(osc_targets=(("127.0.0.1", 9),), audio="local"), probe, notices)
    try:
        sinks = parts.session.sinks
        assert parts.audio_feed in sinks and parts.audio_feed.sink is parts.audio and notices in sinks
        assert sinks.index(probe) == sinks.index(parts.sender) + 1 < sinks.index(parts.audio_feed)
    finally:
        parts.close()


# -- 2. no display, no invisible window ------------------------------------------------------------------------


def headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    return {**env, "SDL_AUDIODRIVER": "dummy", **extra}


def run_bridge(*args: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_bridge.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout_s)


def test_without_a_display_the_canvas_says_how_to_run_and_exits_non_zero():
    done = run_bridge("--audio", "none", "--osc", "127.0.0.1:9", "--exit-after-first-frame", env=headless_env())
    assert done.returncode != 0 and FIRST_FRAME_MARKER not in done.stdout
    assert "no display" in done.stderr and "xvfb-run -a python run_bridge.py" in done.stderr, done.stderr


def test_a_display_sdl_cannot_open_is_refused_too():
    done = run_bridge("--audio", "none", "--osc", "127.0.0.1:9", "--exit-after-first-frame",
                      env=headless_env(DISPLAY=":9876"))  # no X server there: SDL falls back to offscreen
    assert done.returncode != 0 and FIRST_FRAME_MARKER not in done.stdout
    assert "DISPLAY=:9876" in done.stderr and "xvfb-run -a" in done.stderr, done.stderr


def test_replay_show_without_a_display_says_how_to_run():
    done = run_bridge("replay", str(DRAWINGS / "scale.json"), "--show", "--fast", "--audio", "none",
                      "--osc", "127.0.0.1:9", env=headless_env(), timeout_s=60)  # invisible, it would wait forever
    assert done.returncode != 0 and "xvfb-run -a python run_bridge.py replay" in done.stderr, done.stderr


def test_a_real_display_under_xvfb_opens_the_canvas():
    if not os.path.exists("/usr/bin/xvfb-run"):
        pytest.fail("xvfb-run not found: install the Debian package xvfb")
    done = subprocess.run(["xvfb-run", "-a", sys.executable, "run_bridge.py", "--audio", "none", "--osc",
                           "127.0.0.1:9", "--exit-after-first-frame"], cwd=REPO, env=headless_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and FIRST_FRAME_MARKER in done.stdout, done.stderr


def test_the_display_check_names_the_fallback_and_trusts_a_chosen_driver():
    advice = "xvfb-run -a python run_bridge.py"
    assert advice in display_problem("offscreen", {}, "python run_bridge.py")
    assert "DISPLAY=:1" in display_problem("offscreen", {"DISPLAY": ":1"}, "python run_bridge.py")
    assert display_problem("x11", {"DISPLAY": ":1"}, "python run_bridge.py") is None
    assert display_problem("dummy", {"SDL_VIDEODRIVER": "dummy"}, "python run_bridge.py") is None
    assert "DISPLAY and WAYLAND_DISPLAY are not set" in no_screen_named({}, "linux")
    assert no_screen_named({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert no_screen_named({"SDL_VIDEODRIVER": "kmsdrm"}, "linux") is None
    assert no_screen_named({}, "darwin") is None and no_screen_named({}, "win32") is None


# -- 3. prompts ------------------------------------------------------------------------------------------------


def test_ctrl_a_selects_the_path_typing_replaces_it_and_a_key_clears_it(rig):
    post_key(pygame.K_o, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    prompt = rig.app.prompt
    assert prompt is not None and prompt.text
    post_key(pygame.K_a, pygame.KMOD_CTRL)
    post_text("take.json")
    rig.app.pump(frames=1)
    assert prompt.text == "take.json"
    post_key(pygame.K_a, pygame.KMOD_CTRL)
    post_key(pygame.K_BACKSPACE)
    rig.app.pump(frames=1)
    assert prompt.text == ""
    post_text("abc")
    post_key(pygame.K_BACKSPACE, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    assert prompt.text == ""
    post_text("abc")
    post_key(pygame.K_u, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    assert prompt.text == "" and rig.app.prompt is prompt


def test_a_relative_path_is_saved_and_opened_from_the_folder_the_command_ran_in(tmp_path, monkeypatch):
    ran_in, saves_folder = tmp_path / "ran-here", tmp_path / "saves"
    ran_in.mkdir()
    monkeypatch.chdir(ran_in)
    saves = watch_saves(monkeypatch)
    rig = Rig(saves_folder)
    try:
        rig.draw(line(200.0))
        assert str(ran_in) in rig.open_prompt(pygame.K_s).note  # the prompt says where a relative path starts
        rig.answer_prompt("song")
        rig.app.pump(frames=1)
        assert saves.get(timeout=5) == ran_in / "song"
        rig.app.pump(frames=1)
        assert (ran_in / "song.json").exists() and not saves_folder.exists()
        assert f"in {ran_in}" in rig.app.hud_state().message  # the real folder, not "."
        post_key(pygame.K_DELETE)
        rig.settle()
        monkeypatch.chdir(tmp_path)  # what the process's working folder is later does not matter
        post_key(pygame.K_o, pygame.KMOD_CTRL)
        rig.app.pump(frames=1)
        rig.app.prompt.text = "song.json"
        post_key(pygame.K_RETURN)
        rig.settle()
        assert rig.app.prompt is None and len(rig.app.strokes) == 1
    finally:
        rig.close()


def whole_words(original: str, shown: str) -> bool:
    """`shown` (without a trailing ellipsis) is `original` cut at a word boundary."""
    body = shown.removesuffix(ELLIPSIS).rstrip()
    return body == original or any(original[:end].rstrip() == body for end in word_ends(original))


def test_long_text_is_wrapped_and_elided_at_words_never_inside_one(rig):
    text = TextCache()
    message = ("no saved drawing at /home/composer/Pict2Audio/sessions/2026/november/a-very-long-folder-name"
               "/drawing.json (expected the .json written by save)")
    for width in (120, 200, 333, 480):
        shown = text.fit(message, 18, width)
        assert text.font(18).size(shown)[0] <= width and whole_words(message, shown), (width, shown)
        lines = text.wrap(message, 18, width, max_lines=3)
        for i in range(len(lines)):  # each line starts where the one before ended: no word split across
            done = " ".join(lines[:i + 1]).replace("/ ", "/")
            assert whole_words(message, done), (width, lines)
    font = text.font(19)
    path = "/home/composer/Pict2Audio/sessions/2026/november/drawing-20261124-101500.json"
    tail = tail_that_fits(font, path, 300)
    assert tail.startswith(ELLIPSIS) and font.size(tail)[0] <= 300
    assert path.endswith(tail[1:]) and path[: len(path) - len(tail) + 1].endswith("/")  # whole folders dropped


# -- 4. a clear that came by OSC control -----------------------------------------------------------------------


def send_osc(port: int, address: str) -> None:
    datagram = OscMessageBuilder(address=address).build().dgram
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, ("127.0.0.1", port))


@pytest.fixture
def controlled(tmp_path):
    rig = Rig(tmp_path, control_port=0)  # a real OscControlServer on a free port
    yield rig
    rig.close()


def osc_clear(rig: Rig) -> None:
    """Send /pict2audio/clear to the control port; return once the canvas has had a frame to follow it."""
    clears = len(rig.rx.messages(CLEAR))
    send_osc(rig.link.parts.control.port, CLEAR)
    assert rig.rx.wait_until(lambda: len(rig.rx.messages(CLEAR)) > clears)  # the engine cleared and said so
    rig.settle()


def test_a_clear_by_osc_control_clears_the_screen_and_undo_brings_the_strokes_back(controlled, tmp_path,
                                                                                    monkeypatch):
    rig, saves = controlled, watch_saves(monkeypatch)
    rig.draw(line(100.0))
    osc_clear(rig)
    assert rig.app.strokes == () and rig.link.engine.drawing.strokes == ()
    assert rig.app.ink.view().get_at((200, 100))[:3] == (255, 255, 255)
    assert pygame.display.get_surface().get_at(rig.window_pos(200, 100))[:3] == (255, 255, 255)
    assert "/pict2audio/clear" in rig.app.hud_state().message
    rig.app.save_as(tmp_path / "after-clear")
    saves.get(timeout=5)
    assert drawing_from_json((tmp_path / "after-clear.json").read_text()).strokes == ()
    post_key(pygame.K_z, pygame.KMOD_CTRL)
    rig.settle()
    assert len(rig.app.strokes) == 1 and rig.link.engine.drawing.strokes == rig.app.strokes
    assert rig.app.ink.view().get_at((200, 100))[:3] == (0, 0, 0)


def test_a_clear_by_osc_control_while_drawing_drops_the_stroke_on_screen_too(controlled):
    rig = controlled
    rig.draw(line(300.0))
    post_mouse(pygame.MOUSEBUTTONDOWN, rig.window_pos(40, 100))
    post_mouse(pygame.MOUSEMOTION, rig.window_pos(120, 100))
    rig.settle(lambda: len(rig.rx.messages("/pict2audio/stroke/begin")) == 2)
    osc_clear(rig)
    assert not rig.app.drawing and rig.app.strokes == ()
    post_mouse(pygame.MOUSEMOTION, rig.window_pos(200, 100))  # the pen is still down: it draws nothing
    post_mouse(pygame.MOUSEBUTTONUP, rig.window_pos(200, 100))
    rig.settle()
    assert rig.app.ink.view().get_at((160, 100))[:3] == (255, 255, 255)
    rig.draw(line(200.0))
    assert len(rig.app.strokes) == 1 and rig.link.engine.drawing.strokes == rig.app.strokes


def test_a_stroke_that_crossed_the_clear_is_dropped_by_the_engine_too(controlled):
    """Strokes posted after the engine cleared but before the canvas followed: both sides drop them."""
    rig = controlled
    rig.draw(line(100.0))
    send_osc(rig.link.parts.control.port, CLEAR)
    assert rig.rx.wait_until(lambda: CLEAR in rig.rx.addresses())  # the engine has cleared; the canvas not yet
    points = line(250.0)
    for kind, point in ((pygame.MOUSEBUTTONDOWN, points[0]), (pygame.MOUSEMOTION, points[12]),
                        (pygame.MOUSEBUTTONUP, points[-1])):
        post_mouse(kind, rig.window_pos(*point))
    rig.settle(lambda: len(rig.rx.messages(END)) == 2)
    assert rig.app.strokes == () and rig.link.engine.drawing.strokes == ()


def test_the_canvas_own_clear_is_not_followed_twice(controlled):
    """A stroke drawn right after Delete, before the engine's clear comes back, stays."""
    rig = controlled
    rig.draw(line(100.0))
    post_key(pygame.K_DELETE)
    points = line(250.0)
    for kind, point in ((pygame.MOUSEBUTTONDOWN, points[0]), (pygame.MOUSEMOTION, points[12]),
                        (pygame.MOUSEBUTTONUP, points[-1])):
        post_mouse(kind, rig.window_pos(*point))
    rig.settle(lambda: len(rig.rx.messages(END)) == 2)
    rig.app.pump(frames=2)
    assert len(rig.app.strokes) == 1 and rig.link.engine.drawing.strokes == rig.app.strokes
    assert rig.app.ink.view().get_at((200, 250))[:3] == (0, 0, 0)


# -- 5. replay --show ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("close_with", ["close button", "a key"])
def test_replay_show_names_the_notes_and_stays_open_until_closed(monkeypatch, close_with):
    from bridge import cli
    from bridge.ui import replay_window

    seen: dict = {}
    opened: queue.Queue = queue.Queue()
    returned = threading.Event()

    class Watched(replay_window.ReplayWindow):
        def wait_closed(self) -> None:
            seen["screen"] = self._screen.copy()
            super().wait_closed()

    def open_watched() -> Watched:
        window = Watched()
        opened.put(window)
        return window

    def close_when_finished() -> None:
        window = opened.get(timeout=60)
        window.finished.wait(60)
        if returned.is_set():  # the replay ended without waiting for its window
            return
        seen["status"] = window.status_line()
        seen["notes"] = [played.describe() for played in window.played]
        pygame.event.post(pygame.event.Event(pygame.QUIT) if close_with == "close button" else
                          pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode="q", scancode=0))

    monkeypatch.setattr(replay_window, "ReplayWindow", open_watched)
    closer = threading.Thread(target=close_when_finished, daemon=True)
    closer.start()
    rx = OscReceiver()
    try:
        code = cli.main(["replay", str(DRAWINGS / "scale.json"), "--show", "--fast", "--audio", "none",
                         "--osc", f"127.0.0.1:{rx.port}"])
    finally:
        returned.set()
        for window in list(opened.queue):
            window.finished.set()  # wake the closer if the replay never waited
        rx.close()
    closer.join(5)
    assert code == 0 and "status" in seen  # it waited until the window was closed
    assert seen["status"].startswith("replay finished: 12 notes from 1 drawing")
    played = {re.match(r"\S+", note).group() for note in seen["notes"]}
    assert played == {note_name(p) for p in PITCHES}  # the scale: every band's note, by name
    screen = seen["screen"]
    assert screen.get_size() == replay_window.WINDOW_SIZE
    status_row = [screen.get_at((x, 420))[:3] for x in range(8, 300)]
    assert any(pixel != (244, 244, 247) for pixel in status_row)  # the status line is drawn under the canvas


# -- 6. no console noise ---------------------------------------------------------------------------------------


def noisy_lines(output: str) -> list[str]:
    """Lines that are not the program's own: anything but its results and its log lines."""
    own = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
    return [line for line in output.splitlines() if line and not own.match(line)]


@pytest.mark.parametrize("command", [
    ("classify", str(DRAWINGS / "scale.png")),
    ("replay", str(DRAWINGS / "scale.json"), "--fast", "--audio", "local", "--osc", "127.0.0.1:9"),
    ("play", "--audio", "local", "--osc", "127.0.0.1:9", "--exit-after-first-frame"),
])
def test_no_library_banners_on_the_console(command):
    env = {k: v for k, v in os.environ.items() if k not in QUIET_VARIABLES}
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")  # audio opens, so pygame is imported
    done = run_bridge(*command, env=env)
    assert done.returncode == 0, done.stderr
    assert not noisy_lines(done.stderr), done.stderr
    for banner in ("Hello from the pygame community", "pygame 2.", "TensorFlow Lite", "XNNPACK"):
        assert banner not in done.stdout + done.stderr
