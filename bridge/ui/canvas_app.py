"""The live canvas: the pygame window and its event loop (the instrument itself).

The loop asks SDL for input every INPUT_POLL_S until the next frame is due, so a pen event is posted to
the session within a fraction of a ms (pygame's own `event.wait` checks only once a ms), and frames are
drawn at a steady 60 fps. The engine, the classifier and the outputs run on the session's worker thread;
the UI only posts events and reads immutable snapshots (engine.prediction, engine.current_match, ...).

Sending comes before drawing: a pen event is posted before anything is drawn for it (its ink is drawn
with the next frame), and while the session is handling what was posted, the UI thread waits for it
(looking at SDL only every BUSY_POLL_S) and holds a due frame back (at most RENDER_WAIT_S), so the
worker does not wait for the GIL while the window renders.

Timing contract (so a replay of the saved JSON gives the same OSC): every event is posted with
t_ms = the session clock; on mouse-up a final pen_move at the release point and then pen_up with the
same t_ms. The clock restarts at 0 on clear, and after undo/redo/open it never reads less than the
loaded drawing's last time (so later strokes stay in time order).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pygame

from bridge.adapters.drawing_files import DEFAULT_FOLDER, default_drawing_path, load_drawing_file, save_drawing
from bridge.app.garbage import GarbagePacer
from bridge.core.bank import CANVAS_REGISTER, REGISTERS, register_name
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.errors import BridgeError, LabelError
from bridge.core.events import (
    Clear,
    EditPage,
    Event,
    LoadDrawing,
    PenDown,
    PenMove,
    PenUp,
    ReleaseOverrides,
    SetRegister,
    Trigger,
)
from bridge.core.labels import DEFAULT_PEN_HEX, parse_hex_color
from bridge.core.palette import Palette
from bridge.core.score import ScoreSettings, has_performance
from bridge.ui.controls import MOUSE_HELP, bind_builtin_keys, toolbar_buttons
from bridge.ui.display import open_display
from bridge.ui.history import History
from bridge.ui.hud import HudState, language_status, oscquery_status
from bridge.ui.ink import InkLayer
from bridge.ui.keys import KeyMap
from bridge.ui.latency import LatencyProbe
from bridge.ui.layout import DESIGN_SIZE, Layout
from bridge.ui.notices import CLEARED, SessionNotices
from bridge.ui.overlays import Prompt
from bridge.ui.palette_editor import palette_swatches, timbre_of
from bridge.ui.renderer import Renderer
from bridge.ui.session_link import SessionLink
from bridge.ui.status import audio_status, midi_status
from bridge.ui.widgets import Slider, Swatch

log = logging.getLogger(__name__)

DEFAULT_CUSTOM_HEX = "#20B2AA"
SWITCH_INTERVAL_S = 0.0005
INPUT_POLL_S = 0.00025  # how often SDL is asked for input between frames (~4 % of a core more than each ms)
BUSY_POLL_S = 0.001  # ... and while the session is busy (a flood of controls must not hold the pen back)
RENDER_WAIT_S = 0.004  # how long a due frame waits for the session to send what was posted (> a pen down)
COUNTERS_EVERY_S = 0.25  # the HUD's figures that change with every bundle are refreshed 4 times a second
RUN_COMMAND = "python run_bridge.py"  # how the canvas is started, for the no-display advice


@dataclass(frozen=True)
class CanvasOptions:
    window_size: tuple[int, int] = DESIGN_SIZE
    fps: float = 60.0
    pen_width_px: float = 12.0
    osc_targets: tuple[tuple[str, int], ...] = ()
    audio: str = "none"
    save_folder: Path = DEFAULT_FOLDER
    title: str = "Pict2Audio Bridge"
    start_dir: Path = field(default_factory=Path.cwd)  # where a relative path typed in a prompt starts
    palette: Palette | None = None  # the composer's colours ([palette]); None: the default eight


@dataclass(frozen=True)
class _Counters:
    """The HUD's fast-changing figures, as last refreshed."""

    due: float = 0.0  # perf_counter time of the next refresh
    latency: tuple[float, float, int] | None = None
    sent: int | None = None
    audio: str = ""


class CanvasApp:
    """The window. `run()` blocks until it is closed; tests use `open()`, `pump()` and `close()`."""

    def __init__(
        self,
        link: SessionLink,
        options: CanvasOptions | None = None,
        *,
        probe: LatencyProbe | None = None,
        notices: SessionNotices | None = None,
        on_first_frame: Callable[[CanvasApp], None] | None = None,
    ) -> None:
        """`probe` and `notices` must also be sinks of the session that `link` connects to: the probe
        times pen events to their OSC, the notices tell the canvas about clears that came from elsewhere."""
        self.link = link
        self.options = options or CanvasOptions()
        self.probe = probe or LatencyProbe()
        self.notices = notices or SessionNotices()
        self._own_clears = 0  # clears this window posted whose notice has not come back yet
        self.midi: Any = None  # the MidiInput feeding the session (bridge.adapters.midi_mido), if any
        self.midi_wanted: str | None = None  # the --midi-in setting
        self._on_first_frame = on_first_frame
        self.tool = "pen"
        self.color = DEFAULT_PEN_HEX
        self.custom_color = DEFAULT_CUSTOM_HEX
        self.slider = Slider((720, 10, 160, 36), value=self.options.pen_width_px)
        self.history = History()
        self.strokes: tuple[Stroke, ...] = ()  # the committed strokes, as posted to the engine
        self._points: list[Point] | None = None  # the stroke being drawn
        self._stroke_style: tuple[str, float, str] = (self.color, 5.0, "pen")
        self.keys = KeyMap()
        self.prompt: Prompt | None = None
        self.panel: Any = None  # a modal overlay (bridge.ui.teach_panel): handle(event) -> False closes it; draw()
        self.help_visible = False
        self._message: tuple[str, float] | None = None
        self._last_path: Path | None = None
        self.hover: tuple[int, int] | None = None
        self.running = False
        self.frames = 0
        self.frame_ms: deque[float] = deque(maxlen=50_000)  # work per frame (events excluded)
        self.frame_interval_ms: deque[float] = deque(maxlen=50_000)
        self._last_frame_start: float | None = None
        self._frame_errors: set[str] = set()
        self.garbage = GarbagePacer()  # collects between strokes, not in the middle of a pen event
        self._counters = _Counters()
        self.renderer: Renderer | None = None
        self._ink: InkLayer | None = None
        self._ink_todo: list[tuple[tuple[str, float, str] | None, float, float]] = []  # (new stroke's style, x, y)
        self.buttons = toolbar_buttons(self)
        self.palette = self.options.palette  # what the swatches show and the engine plays (set_palette)
        self.swatches = palette_swatches(self.palette, self.custom_color)
        bind_builtin_keys(self.keys, self)
        self._window_handlers: dict[int, Callable[[pygame.event.Event], None]] = {
            pygame.QUIT: self._quit_event, pygame.VIDEORESIZE: self._resize_event}
        self._input_handlers: dict[int, Callable[[pygame.event.Event], None]] = {
            pygame.KEYDOWN: self._key_down, pygame.MOUSEBUTTONDOWN: self._mouse_down,
            pygame.MOUSEMOTION: self._mouse_motion, pygame.MOUSEBUTTONUP: self._mouse_up,
            pygame.MOUSEWHEEL: self._mouse_wheel}

    # -- extension points -------------------------------------------------------------------

    def add_key_command(self, key: str, description: str, callback: Callable[[], None]) -> None:
        """Bind a key chord such as 'l', 'f2' or 'ctrl+m'; it appears in the help sheet (H)."""
        self.keys.add(key, description, callback)

    def show_message(self, text: str, *, seconds: float = 3.0) -> None:
        """A transient line in the HUD (safe to call from any thread)."""
        log.info("%s", text)
        self._message = (text, time.perf_counter() + seconds)

    # -- lifecycle --------------------------------------------------------------------------

    def open(self) -> CanvasApp:
        """Open the window; NoDisplayError (saying how to run) when no one could see it."""
        open_display(RUN_COMMAND)
        # The engine thread must get the GIL quickly when a pen event arrives mid-frame (default 5 ms).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        pygame.font.init()
        pygame.display.set_caption(self.options.title)
        pygame.display.set_mode(self.options.window_size, pygame.RESIZABLE)
        pygame.key.set_repeat(350, 40)
        pygame.key.stop_text_input()
        self.renderer = Renderer()
        self._ink = InkLayer()
        self.garbage.start()
        self.running = True
        return self

    def close(self) -> None:
        self.running = False
        self.garbage.stop()
        self.link.close()
        pygame.display.quit()

    def run(self) -> int:
        """Open the window (unless open), play until it is closed, release everything."""
        if not self.running:
            self.open()
        try:
            self.pump()
        finally:
            self.close()
        return 0

    def pump(self, *, frames: int | None = None, seconds: float | None = None) -> None:
        """Run the loop until closed, or for `frames` frames / `seconds` seconds (tests)."""
        period = 1.0 / self.options.fps
        start = time.perf_counter()
        stop_frame = None if frames is None else self.frames + frames
        next_frame = start
        while self.running:
            if stop_frame is not None and self.frames >= stop_frame:
                return
            if seconds is not None and time.perf_counter() - start >= seconds:
                return
            for event in self._wait(next_frame):
                self._handle_safely(event)
            now = time.perf_counter()
            if now >= next_frame and self.running and (self.link.idle(0.0) or now >= next_frame + RENDER_WAIT_S):
                self._frame_safely()
                next_frame += period
                if next_frame < now:  # fell behind: do not try to catch up with a burst
                    next_frame = now + period
            self.garbage.tick(idle=not self.drawing and self.link.idle(0.0))

    def _wait(self, frame_at: float) -> list[pygame.event.Event]:
        """The input events, as soon as there are any, or none when the frame at `frame_at` (perf_counter s)
        is due.

        SDL is polled every INPUT_POLL_S (with `get`, not `peek`: in pygame 2.6, peeking at a posted event
        frees its attributes, which `get` then reads again, and the process crashes). While the session is
        busy with what was posted, the wait is on the session instead (no GIL taken; new input would queue
        behind it anyway), polling SDL every BUSY_POLL_S, and a due frame waits for it up to RENDER_WAIT_S,
        so the frame comes after the send."""
        while True:
            now = time.perf_counter()
            send_by = frame_at + RENDER_WAIT_S
            sent = now >= send_by or self.link.idle(min(send_by - now, BUSY_POLL_S))
            events = pygame.event.get()
            if events:
                return events
            if sent:
                wait_s = frame_at - time.perf_counter()
                if wait_s <= 0:
                    return events
                time.sleep(min(INPUT_POLL_S, wait_s))

    # -- events -----------------------------------------------------------------------------

    def _frame_safely(self) -> None:
        try:
            self._frame()
        except Exception as exc:  # a drawing bug must not end the performance; log each kind once
            text = f"display error: {type(exc).__name__}: {exc}"
            if text not in self._frame_errors:
                self._frame_errors.add(text)
                log.exception("%s", text)
            self.show_message(text, seconds=6.0)

    def _handle_safely(self, event: pygame.event.Event) -> None:
        if event.type == pygame.NOEVENT:
            return
        try:
            self._handle(event)
        except Exception as exc:  # the instrument must not die on stage
            log.exception("event %s failed", pygame.event.event_name(event.type))
            self.show_message(f"error: {type(exc).__name__}: {exc}", seconds=6.0)

    def _handle(self, event: pygame.event.Event) -> None:
        """The window's own events first, and a pen-up that will never come when the window loses focus
        mid-stroke; then an open prompt, panel or help sheet takes the input, or else the canvas does.
        The handlers are bound once (`_window_handlers`, `_input_handlers`): nothing is made per event."""
        kind = event.type
        window = self._window_handlers.get(kind)
        if window is not None:
            window(event)
        elif kind == pygame.WINDOWFOCUSLOST and self._points is not None:
            self._pen_up(None)
        elif self.prompt is None and self.panel is None and not self.help_visible:
            handler = self._input_handlers.get(kind)
            if handler is not None:
                handler(event)
        else:
            self._overlay_event(event)

    def _overlay_event(self, event: pygame.event.Event) -> None:
        """Give the event to the open prompt, panel or help sheet, and close it when it is done."""
        kind = event.type
        if self.prompt is not None:
            if kind in (pygame.KEYDOWN, pygame.TEXTINPUT) and not self.prompt.handle(event):
                self._close_prompt()
        elif self.panel is not None:
            if not self.panel.handle(event):
                self.panel = None
        elif self.help_visible and (kind == pygame.MOUSEBUTTONDOWN or (
                kind == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_h, pygame.K_F1))):
            self.help_visible = False

    def _quit_event(self, event: pygame.event.Event) -> None:
        self.running = False

    def _resize_event(self, event: pygame.event.Event) -> None:
        if pygame.display.get_surface().get_size() != event.size:
            pygame.display.set_mode(event.size, pygame.RESIZABLE)

    def _key_down(self, event: pygame.event.Event) -> None:
        command = self.keys.find(event.key, event.mod)
        if command is not None:
            command.callback()

    def _mouse_motion(self, event: pygame.event.Event) -> None:
        self.hover = event.pos
        if self._points is not None:
            self._pen_move(event.pos)
        elif self.slider.dragging:
            self.slider.set_from(self.layout(), event.pos)

    def _mouse_up(self, event: pygame.event.Event) -> None:
        if self._points is not None and event.button in (1, 3):
            self._pen_up(event.pos)
        self.slider.dragging = False

    def _mouse_wheel(self, event: pygame.event.Event) -> None:
        self.slider.nudge(event.y)

    def _mouse_down(self, event: pygame.event.Event) -> None:
        layout = self.layout()
        if event.button not in (1, 3):
            return
        if layout.in_canvas(event.pos):
            self._pen_down(event.pos, tool="eraser" if event.button == 3 else self.tool)
            return
        if event.button != 1:
            return
        for button in self.buttons:
            if button.hit(layout, event.pos):
                button.action()
                return
        if self.slider.hit(layout, event.pos):
            self.slider.dragging = True
            self.slider.set_from(layout, event.pos)
            return
        for swatch in self.swatches:
            if swatch.hit(layout, event.pos):
                self._choose_swatch(swatch)
                return

    # -- the pen ----------------------------------------------------------------------------

    def _post_timed(self, event: Event) -> None:
        assert event.t_ms is not None
        if self.link.ready:  # an event kept while the model loads goes out later: its wait is not latency
            self.probe.mark(event.t_ms)
        self.link.post(event)

    def _now_after(self, points: list[Point]) -> float:
        return max(self.link.now_ms(), points[-1].t_ms) if points else self.link.now_ms()

    def _pen_down(self, pos: tuple[int, int], *, tool: str) -> None:
        if self._points is not None:
            self._pen_up(None)
        x, y = self.layout().to_canvas(pos)
        t = self.link.now_ms()
        width = self.slider.value
        self._post_timed(PenDown(t_ms=t, x=x, y=y, color=self.color, width_px=width, tool=tool))
        self._stroke_style = (self.color, width, tool)
        self._points = [Point(x, y, t)]
        self._ink_todo.append((self._stroke_style, x, y))

    def _pen_move(self, pos: tuple[int, int]) -> None:
        assert self._points is not None
        x, y = self.layout().to_canvas(pos)
        last = self._points[-1]
        if (x, y) == (last.x, last.y):
            return
        t = self._now_after(self._points)
        self._post_timed(PenMove(t_ms=t, x=x, y=y))
        self._points.append(Point(x, y, t))
        self._ink_todo.append((None, x, y))

    def _pen_up(self, pos: tuple[int, int] | None) -> None:
        """The release point becomes the stroke's last point, and pen_up has its time (as a replay does)."""
        assert self._points is not None
        last = self._points[-1]
        x, y = self.layout().to_canvas(pos) if pos is not None else (last.x, last.y)
        t = self._now_after(self._points)
        self._post_timed(PenMove(t_ms=t, x=x, y=y))
        self._post_timed(PenUp(t_ms=t))
        self._points.append(Point(x, y, t))
        self._ink_todo.append((None, x, y))
        color, width, tool = self._stroke_style
        stroke = Stroke(tuple(self._points), color, width, tool)
        self._points = None
        self.history.record(self.strokes)
        self.strokes = (*self.strokes, stroke)

    # -- commands ---------------------------------------------------------------------------

    def set_tool(self, tool: str) -> None:
        self.tool = tool

    def set_color(self, color: str) -> None:
        self.color = color
        self.tool = "pen"

    def choose_palette_key(self, number: int) -> None:
        """Keys 1..8: the pen takes the colour of that palette swatch (if the palette has one)."""
        if 1 <= number < len(self.swatches) and not self.swatches[number - 1].custom:
            self.set_color(self.swatches[number - 1].color)

    def timbre_of(self, color: str) -> str:
        return timbre_of(self.palette, color)

    def set_palette(self, palette: Palette | None) -> None:
        """Play and show `palette` (None: the default eight): the engine takes it with the drawing."""
        if self._points is not None:
            self._pen_up(None)
        self.palette = palette
        self.swatches = palette_swatches(palette, self.custom_color)
        self.link.post(LoadDrawing(drawing=self._drawing_with(self.strokes)))

    def undo(self) -> None:
        self._replace_strokes(self.history.undo(self.strokes), "nothing to undo")

    def redo(self) -> None:
        self._replace_strokes(self.history.redo(self.strokes), "nothing to redo")

    def clear(self) -> None:
        if self._points is not None:
            self._pen_up(None)
        if self.strokes:
            self.history.record(self.strokes)
        self.strokes = ()
        self._redraw_ink(())
        self._own_clears += 1
        self.link.post(Clear())
        self.link.restart_clock(at_ms=0.0)

    def _follow_notices(self) -> None:
        """Clears the engine reported: this window's own ones (counted), or ones from elsewhere, followed."""
        for notice in self.notices.drain():
            if notice != CLEARED:
                continue
            if self._own_clears:
                self._own_clears -= 1
            else:
                self._cleared_elsewhere()

    def _cleared_elsewhere(self) -> None:
        """Another input (OSC control) cleared the engine's drawing: the canvas follows as its own clear
        would (undo brings the strokes back). The stroke being drawn was dropped by the engine, so the pen
        stops drawing until it touches again. Posting the empty drawing also drops whatever the canvas
        posted between the clear and this frame, so the engine and the screen hold the same strokes."""
        self._points = None
        if self.strokes:
            self.history.record(self.strokes)
        self.strokes = ()
        self._redraw_ink(())
        self.link.post(LoadDrawing(drawing=self._drawing_with(())))
        self.link.restart_clock(at_ms=0.0)
        self.show_message("canvas cleared by OSC control (/pict2audio/clear)")

    def trigger(self) -> None:
        self.link.post(Trigger())

    def release_overrides(self) -> None:
        self.link.post(ReleaseOverrides())
        self.show_message("overrides released")

    def step_register(self, step: int) -> None:
        """Move the register matching prefers by `step` octaves (within 0..8), as a recorded control."""
        engine = self.link.engine
        current = CANVAS_REGISTER if engine is None else engine.register
        wanted = min(max(current + step, REGISTERS[0]), REGISTERS[-1])
        if wanted == current:
            edge = "lowest" if step < 0 else "highest"
            self.show_message(f"register {current} ({register_name(current)}) is the {edge}")
            return
        self.link.post(SetRegister(register=wanted))
        self.show_message(f"register {wanted}: {register_name(wanted)} preferred")

    def _replace_strokes(self, strokes: tuple[Stroke, ...] | None, nothing: str, *,
                         opened: Drawing | None = None) -> None:
        """Undo or redo (a page edit the engine records), or an opened drawing (a new take, with its controls)."""
        if strokes is None:
            self.show_message(nothing)
            return
        if self._points is not None:
            self._pen_up(None)
        self.strokes = strokes
        self._redraw_ink(strokes)
        if opened is None:
            drawing = self._drawing_with(strokes)
            self.link.post(EditPage(strokes=strokes))
        else:
            drawing = replace(self._drawing_with(strokes, controls=opened.controls), undone=opened.undone)
            self.link.post(LoadDrawing(drawing=drawing))
        if self.link.now_ms() <= drawing.duration_ms():  # later strokes must come after these in time
            self.link.restart_clock(at_ms=drawing.duration_ms() + 1.0)

    def _drawing_with(self, strokes: tuple[Stroke, ...], *, controls=None) -> Drawing:
        """The engine's drawing (meta, recorded controls) with these strokes, and the canvas's palette."""
        engine = self.link.engine
        base = engine.drawing if engine is not None else Drawing()
        return replace(base, strokes=strokes, controls=base.controls if controls is None else controls,
                       palette=self.palette)

    def current_drawing(self) -> Drawing:
        """What save writes: the engine's drawing once it has handled everything posted (with the score
        settings when in score mode)."""
        score = getattr(self.link.parts, "score", None)
        settings = score.settings if score is not None and score.enabled else None
        engine = self.link.engine  # None until the session is ready
        if engine is not None and self.link.idle(1.0):
            drawing = engine.drawing
            if drawing.strokes == self.strokes:
                return _with_score(drawing, settings)
            log.warning("the engine's drawing differs from the canvas; saving the canvas strokes")
        return _with_score(self._drawing_with(self.strokes), settings)

    def playhead(self) -> float | None:
        """Where the score's playhead is (0..1 across the canvas) while it plays, else None."""
        score = getattr(self.link.parts, "score", None)
        return score.position() if score is not None and score.state == "playing" else None

    def save_as(self, path: str | Path) -> None:
        """Save JSON + PNG on a background thread (the UI goes on); the HUD reports the result."""
        if self._points is not None:
            self._pen_up(None)
        drawing = self.current_drawing()
        target = self.typed_path(path)
        self._last_path = target

        def work() -> None:
            try:
                json_path, png_path = save_drawing(drawing, target)
                self.show_message(f"saved {json_path.name} + {png_path.name} in {json_path.parent}", seconds=5.0)
            except BridgeError as exc:
                self.show_message(f"not saved: {exc}", seconds=8.0)

        threading.Thread(target=work, name="pict2audio-save", daemon=True).start()

    def open_path(self, path: str | Path) -> None:
        """Load a saved drawing (raises BridgeError with the reason)."""
        path = self.typed_path(path)
        drawing = load_drawing_file(path)  # on the 400 px canvas, whatever canvas it was saved on
        self.history.record(self.strokes)
        self._last_path = path
        self._replace_strokes(drawing.strokes, "", opened=drawing)
        self.show_message(f"opened {self._last_path.name} ({len(drawing.strokes)} strokes)")

    def typed_path(self, path: str | Path) -> Path:
        """A path as typed: ~ is the home folder, and a relative path starts in the folder the command
        ran from (options.start_dir), whatever folder the prompt proposed."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else self.options.start_dir / path

    def _path_note(self) -> str:
        return f"A relative path starts in {self.options.start_dir} (where the command ran); ~ is your home."

    def ask_save(self) -> None:
        default = self._last_path or default_drawing_path(self.options.save_folder)

        def done(text: str) -> str | None:
            self.save_as(text or default)
            return None

        self._open_prompt(Prompt("Save drawing as (.json + .png)", str(default), done, note=self._path_note()))

    def ask_open(self) -> None:
        start = str(self._last_path) if self._last_path else str(self.options.save_folder.expanduser()) + os.sep

        def done(text: str) -> str | None:
            try:
                self.open_path(text)
            except BridgeError as exc:
                return str(exc)
            return None

        self._open_prompt(Prompt("Open drawing (.json)", start, done, note=self._path_note()))

    def ask_custom_color(self) -> None:
        def done(text: str) -> str | None:
            try:
                rgb = parse_hex_color(text)
            except LabelError as exc:
                return str(exc)
            self.custom_color = "#{:02X}{:02X}{:02X}".format(*rgb)
            self.set_color(self.custom_color)
            self.swatches = palette_swatches(self.palette, self.custom_color)
            return None

        self._open_prompt(Prompt("Custom colour as #RRGGBB (sounds like the nearest palette colour)",
                                 self.custom_color, done))

    def toggle_help(self) -> None:
        self.help_visible = not self.help_visible

    def quit(self) -> None:
        self.running = False

    def open_prompt(self, prompt: Prompt) -> None:
        """Show a one-line prompt (commands added from outside: the palette, sample labels)."""
        self._open_prompt(prompt)

    def _open_prompt(self, prompt: Prompt) -> None:
        if self._points is not None:
            self._pen_up(None)
        self.prompt = prompt
        pygame.key.start_text_input()

    def _close_prompt(self) -> None:
        self.prompt = None
        pygame.key.stop_text_input()

    def _choose_swatch(self, swatch: Swatch) -> None:
        if swatch.custom:
            self.ask_custom_color()
        else:
            self.set_color(swatch.color)

    def help_rows(self) -> list[tuple[str, str]]:
        return [("1 ... 8", "palette colour = timbre (labels at the right)"), *self.keys.help_rows(), *MOUSE_HELP]

    # -- drawing a frame --------------------------------------------------------------------

    def layout(self) -> Layout:
        """Where the canvas, palette and panels sit in the window at its current size."""
        return Layout.fit(pygame.display.get_surface().get_size())

    def _frame(self) -> None:
        start = time.perf_counter()
        if self._last_frame_start is not None:
            self.frame_interval_ms.append((start - self._last_frame_start) * 1000.0)
        self._last_frame_start = start
        assert self.renderer is not None
        try:
            if self.link.poll():
                self.show_message("model and sound bank loaded: live")
            self._follow_notices()
            self.renderer.draw(pygame.display.get_surface(), self, self.hud_state())
            if self.panel is not None and self.prompt is None:
                self.panel.draw(pygame.display.get_surface(), self.layout(), self.renderer.text)
        finally:  # even a frame that failed half-way is shown: the canvas never freezes
            pygame.display.flip()
            self.frames += 1
            self.frame_ms.append((time.perf_counter() - start) * 1000.0)
        if self.frames == 1 and self._on_first_frame is not None:
            self._on_first_frame(self)

    def hud_state(self) -> HudState:
        """A snapshot of what the HUD shows (engine values are immutable; read here on the UI thread)."""
        engine = self.link.engine
        message = self._message
        if message is not None and time.perf_counter() > message[1]:
            message = self._message = None
        status = self.session_state()
        counters = self._refreshed_counters(status)
        return HudState(
            status=status,
            prediction=None if engine is None else engine.prediction,
            match=None if engine is None else engine.current_match,
            overrides={} if engine is None else engine.overrides.active(),
            register=None if engine is None else engine.register,
            osc_targets=self.options.osc_targets,
            bundles_sent=counters.sent,
            audio=counters.audio,
            latency=counters.latency,
            errors=tuple(self.link.errors()),
            message=None if message is None else message[0],
            midi=midi_status(self.midi_wanted, self.midi),
            oscquery=oscquery_status(self.link.parts),
            language=language_status(self.link.parts),
            gesture=None if engine is None else engine.gesture,
        )

    def session_state(self) -> str:
        return "ready" if self.link.ready else ("loading" if self.link.loading else "offline")

    def _refreshed_counters(self, session: str) -> _Counters:
        """The figures that change with every bundle (latency, bundles sent, voices sounding), at most
        4 times a second so the HUD is not redrawn every frame."""
        now = time.perf_counter()
        if now >= self._counters.due:
            parts = self.link.parts
            self._counters = _Counters(
                due=now + COUNTERS_EVERY_S,
                latency=self.probe.summary(),
                sent=getattr(getattr(parts, "sender", None), "sent", None),
                audio=audio_status(self.options.audio, getattr(parts, "audio", None), session=session),
            )
        return self._counters

    @property
    def ink(self) -> InkLayer:
        """The display copy of the drawing, with every point the pen has drawn so far."""
        assert self._ink is not None, "open() first"
        todo, self._ink_todo = self._ink_todo, []
        for style, x, y in todo:
            if style is not None:  # the first point of a stroke
                color, width, tool = style
                self._ink.begin(color=color, width_px=width, tool=tool)
            self._ink.add(x, y)
        return self._ink

    def _redraw_ink(self, strokes: tuple[Stroke, ...]) -> None:
        """Start the ink over from these strokes (the points not drawn yet belong to them or are dropped)."""
        self._ink_todo.clear()
        self.ink.redraw(strokes)

    @property
    def drawing(self) -> bool:
        """True while a stroke is being drawn."""
        return self._points is not None


def _with_score(drawing: Drawing, settings: ScoreSettings | None) -> Drawing:
    """The drawing with the score settings to save: a recorded performance keeps the ones it started from
    (the engine recorded them), so a replay starts where it started."""
    return drawing if drawing.score is not None and has_performance(drawing) else replace(drawing, score=settings)
