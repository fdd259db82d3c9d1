"""`play` (the default command): open the live canvas and play what is drawn.

    python run_bridge.py                      # the canvas with the committed model and default bank
    python run_bridge.py --osc 127.0.0.1:9000 --osc 192.168.1.20:57120 --audio none

The window appears at once; the model and the bank load in the background (the HUD says so).
"""

from __future__ import annotations

import argparse
import logging
import os
import tomllib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.app.config import Config, add_session_options, load_config
from bridge.app.score_options import add_score_options, score_settings
from bridge.core.errors import ConfigError

if TYPE_CHECKING:
    from bridge.adapters.midi_mido import MidiInput
    from bridge.app.score_player import ScorePlayer
    from bridge.app.session import SessionParts
    from bridge.core.score import ScoreSettings
    from bridge.ui.canvas_app import CanvasApp
    from bridge.ui.latency import LatencyProbe
    from bridge.ui.notices import SessionNotices
    from bridge.ui.session_link import SessionLink

log = logging.getLogger(__name__)

FIRST_FRAME_MARKER = "pict2audio: first frame"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("play", help="open the live canvas: draw and hear it (the default command)")
    add_session_options(parser)
    parser.add_argument("--save-folder", type=Path, metavar="FOLDER",
                        help="where Save proposes to write drawings (default ~/Pict2Audio)")
    parser.add_argument("--window", metavar="WxH", help="initial window size in px (default 1000x620)")
    parser.add_argument("--pen-width", type=float, metavar="PX", help="initial pen width, 1..30 px (default 12)")
    parser.add_argument("--open", type=Path, metavar="DRAWING", help="open a saved drawing at start (as Ctrl+O does)")
    parser.add_argument("--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS)  # startup bench
    add_score_options(parser, switch=True)
    parser.set_defaults(func=run)


def _canvas_table(config: Config) -> dict:
    """The config file's optional [canvas] table: window = "1400x860", pen_width = 12, save_folder = "..."."""
    if config.config_path is None or not config.config_path.exists():
        return {}
    try:
        table = tomllib.loads(config.config_path.read_text(encoding="utf-8")).get("canvas", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {config.config_path}: {exc}") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"config file {config.config_path}: [canvas] must be a table")
    return table  # unknown keys were already named with a warning when the config was loaded


def _window_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and 200 <= int(w) <= 8000 and 150 <= int(h) <= 8000):
        raise ConfigError(f"--window expects WIDTHxHEIGHT in px, e.g. 1000x620, got {text!r}")
    return int(w), int(h)


def run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config.language is not None and config.language.exists():  # a broken file stops here, not in the HUD
        from bridge.adapters.language_files import read_language

        read_language(config.language)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from bridge.ui.canvas_app import CanvasApp, CanvasOptions
    from bridge.ui.latency import LatencyProbe
    from bridge.ui.notices import SessionNotices
    from bridge.ui.session_link import SessionLink

    table = _canvas_table(config)
    window = args.window or table.get("window")
    pen_width = args.pen_width if args.pen_width is not None else table.get("pen_width")
    save_folder = args.save_folder or (Path(str(table["save_folder"])).expanduser() if "save_folder" in table else None)
    if pen_width is not None and not (isinstance(pen_width, int | float) and 1 <= pen_width <= 30):
        raise ConfigError(f"pen width must be 1..30 px, got {pen_width!r}")
    defaults = CanvasOptions()
    options = CanvasOptions(
        osc_targets=config.osc_targets, audio=config.audio, palette=config.palette,
        window_size=_window_size(None if window is None else str(window)) or defaults.window_size,
        save_folder=save_folder or defaults.save_folder,
        pen_width_px=defaults.pen_width_px if pen_width is None else float(pen_width),
    )
    probe, notices = LatencyProbe(), SessionNotices()
    score = score_settings(args, configured=config.score)
    link = SessionLink(lambda: _build(config, probe, notices, score=score, score_on=bool(args.score)))
    app = CanvasApp(link, options, probe=probe, notices=notices,
                    on_first_frame=_first_frame if args.exit_after_first_frame else None)
    app.open()  # before anything loads: without a display this stops here and says how to run
    midi = None
    try:
        link.start()
        midi = _start_midi(app, link, config)
        app.midi, app.midi_wanted = midi, config.midi_in
        _score_keys(app, link)
        if args.open is not None:
            app.open_path(args.open)  # BridgeError naming the file and the problem
        _composer_keys(app, config)
        return app.run()
    finally:
        if app.running:  # stopped before run() (a bad MIDI mapping): run() did not close the window
            app.close()
        if midi is not None:
            midi.close()


def _build(config: Config, probe: LatencyProbe, notices: SessionNotices | None = None, *,
           score: ScoreSettings | None = None, score_on: bool = False) -> SessionParts:
    """On the loader thread: the session, and the audio device opened now rather than at the first pen-up.

    `probe` (pen-to-OSC latency) and `notices` (clears from other inputs) are the canvas's session sinks.
    The probe runs right after the OSC sender: the HUD's pen-to-OSC figure must not include the time the
    local audio sink takes (decoding a sample) after the datagram has left."""
    from bridge.app.session import build_session

    parts = build_session(config, extra_sinks=(probe,) if notices is None else (probe, notices), start=False)
    sinks = parts.session.sinks
    sinks.remove(probe)
    sinks.insert(sinks.index(parts.sender) + 1, probe)
    if parts.audio is not None:
        parts.audio.open()
    if score is not None:  # the score player: key S, OSC /pict2audio/transport, MIDI start/stop/continue
        from bridge.app.session import attach_score
        from bridge.core.events import TransportControl

        player = attach_score(parts, score)
        parts.start()
        if score_on:
            player.control(TransportControl(action="start"))
        return parts
    return parts.start()


def _score_keys(app: CanvasApp, link: SessionLink) -> None:
    """S: score mode on (the playhead starts at the left edge) or off; L: loop on or off."""
    def player() -> ScorePlayer | None:
        score = getattr(link.parts, "score", None)
        if score is None:
            app.show_message("score: the session is still loading")
        return score

    def toggle() -> None:
        score = player()
        if score is not None:
            score.toggle()
            app.show_message(f"score mode {'on' if score.enabled else 'off'} ({score.settings.bpm:g} bpm, "
                             f"{score.settings.bars} bars, loop {'on' if score.settings.loop else 'off'})")

    def loop() -> None:
        from bridge.core.events import TransportControl

        score = player()
        if score is not None:
            score.control(TransportControl(action="loop", value=0.0 if score.settings.loop else 1.0))
            app.show_message(f"score loop {'on' if score.settings.loop else 'off'}")

    app.add_key_command("s", "score mode: a playhead plays the strokes left to right (on / off)", toggle)
    app.add_key_command("l", "score: loop on / off", loop)


def _composer_keys(app: CanvasApp, config: Config) -> None:
    """Ctrl+P: edit the palette (saved to the config file); Ctrl+L: correct the matched sample's labels;
    T: teach the last shape to a class of the language (--language)."""
    from bridge.app.config import default_config_path
    from bridge.ui.label_editor import SampleLabelEditor
    from bridge.ui.palette_editor import PaletteEditor
    from bridge.ui.teach_panel import TeachPanel

    PaletteEditor(app, config.config_path or default_config_path()).bind()
    SampleLabelEditor(app, config.bank_folder).bind()
    TeachPanel(app).bind()


def _first_frame(app: CanvasApp) -> None:
    """--exit-after-first-frame: say so on stdout and stop (the bench times this from launch: `startup_s`)."""
    print(FIRST_FRAME_MARKER, flush=True)
    app.quit()


def _start_midi(app: CanvasApp, link: SessionLink, config: Config) -> MidiInput | None:
    """The MIDI controller (if configured) posts into the same session; MIDI learn is on ctrl+1..ctrl+5."""
    if not config.midi_in:
        return None
    from bridge.app.midi_wiring import start_midi
    from bridge.core.midi_mapping import TARGETS

    try:
        midi, learn = start_midi(config, link.post, notify=app.show_message)
    except Exception as exc:  # a missing port or backend must not stop the canvas
        log.error("MIDI input %r not started: %s", config.midi_in, exc)
        app.show_message(f"MIDI off: {exc}", seconds=8.0)
        return None
    if learn is not None:
        for i, target in enumerate(TARGETS, start=1):
            app.add_key_command(f"ctrl+{i}", f"MIDI learn: {target} (move a control)",
                                partial(learn.arm, target))
        app.add_key_command("ctrl+0", "MIDI learn: cancel", learn.cancel)
    return midi
