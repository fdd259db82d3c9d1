"""The live canvas: the pygame window and its event loop (the instrument itself).

The loop waits for input with a timeout that ends at the next frame, so a pen event is posted to the
session as soon as it arrives (not at the next frame) and frames are drawn at a steady 60 fps. The
engine, the classifier and the outputs run on the session's worker thread; the UI only posts events
and reads immutable snapshots (engine.prediction, engine.current_match, ...).

Timing contract (so a replay of the saved JSON gives the same OSC): every event is posted with
t_ms = the session clock; on mouse-up a final pen_move at the release point and then pen_up with the
same t_ms. The clock restarts at 0 on clear, and after undo/redo/open it never reads less than the
loaded drawing's last time (so later strokes stay in time order).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pygame

from bridge.adapters.drawing_files import DEFAULT_FOLDER, default_drawing_path, load_drawing_file, save_drawing
from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.events import Clear, Event, LoadDrawing, PenDown, PenMove, PenUp, ReleaseOverrides, Trigger
from bridge.core.labels import CANVAS_SIZE_PX, DEFAULT_PEN_HEX, parse_hex_color
from bridge.errors import BridgeError, LabelError
from bridge.ui.controls import MOUSE_HELP, bind_builtin_keys, custom_label, palette_swatches, toolbar_buttons
from bridge.ui.history import History
from bridge.ui.hud import HudState
from bridge.ui.ink import InkLayer
from bridge.ui.keys import KeyMap
from bridge.ui.latency import LatencyProbe
from bridge.ui.layout import DESIGN_SIZE, Layout
from bridge.ui.overlays import Prompt
from bridge.ui.renderer import Renderer
from bridge.ui.session_link import SessionLink
from bridge.ui.widgets import Slider, Swatch

log = logging.getLogger(__name__)

DEFAULT_CUSTOM_HEX = "#20B2AA"
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True)
class CanvasOptions:
    window_size: tuple[int, int] = DESIGN_SIZE
    fps: float = 60.0
    pen_width_px: float = 12.0
    osc_targets: tuple[tuple[str, int], ...] = ()
    audio: str = "none"
    save_folder: Path = DEFAULT_FOLDER
    title: str = "Pict2Audio Bridge"


class CanvasApp:
    """The window. `run()` blocks until it is closed; tests use `open()`, `pump()` and `close()`."""

    def __init__(
        self,
        link: SessionLink,
        options: CanvasOptions | None = None,
        *,
        probe: LatencyProbe | None = None,
        on_first_frame: Callable[[CanvasApp], None] | None = None,
    ) -> None:
        self.link = link
        self.options = options or CanvasOptions()
        self.probe = probe or LatencyProbe()
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
        self._counters: tuple[float, tuple[float, float, int] | None, int | None] = (0.0, None, None)
        self.renderer: Renderer | None = None
        self._ink: InkLayer | None = None
        self.buttons = toolbar_buttons(self)
        self.swatches = palette_swatches(self.custom_color)
        bind_builtin_keys(self.keys, self)

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
        # The engine thread must get the GIL quickly when a pen event arrives mid-frame (default 5 ms).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption(self.options.title)
        pygame.display.set_mode(self.options.window_size, pygame.RESIZABLE)
        pygame.key.set_repeat(350, 40)
        pygame.key.stop_text_input()
        self.renderer = Renderer()
        self._ink = InkLayer()
        self.running = True
        return self

    def close(self) -> None:
        self.running = False
        self.link.close()
        pygame.display.quit()

    def run(self) -> int:
        """Open the window, play until it is closed, release everything."""
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
            wait_ms = math.ceil((next_frame - time.perf_counter()) * 1000)  # never spin before a frame
            event = pygame.event.wait(wait_ms) if wait_ms > 0 else pygame.event.poll()
            self._handle_safely(event)
            for event in pygame.event.get():
                self._handle_safely(event)
            now = time.perf_counter()
            if now >= next_frame and self.running:
                self._frame_safely()
                next_frame += period
                if next_frame < now:  # fell behind: do not try to catch up with a burst
                    next_frame = now + period

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
        kind = event.type
        if kind == pygame.QUIT:
            self.running = False
        elif kind == pygame.VIDEORESIZE:
            if pygame.display.get_surface().get_size() != event.size:
                pygame.display.set_mode(event.size, pygame.RESIZABLE)
        elif kind == pygame.WINDOWFOCUSLOST and self._points is not None:
            self._pen_up(None)  # a pen-up that will never come
        elif self.prompt is not None:
            if kind in (pygame.KEYDOWN, pygame.TEXTINPUT) and not self.prompt.handle(event):
                self._close_prompt()
        elif self.help_visible:
            if kind == pygame.MOUSEBUTTONDOWN or (
                kind == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_h, pygame.K_F1)
            ):
                self.help_visible = False
        elif kind == pygame.KEYDOWN:
            command = self.keys.find(event.key, event.mod)
            if command is not None:
                command.callback()
        elif kind == pygame.MOUSEBUTTONDOWN:
            self._mouse_down(event)
        elif kind == pygame.MOUSEMOTION:
            self.hover = event.pos
            if self._points is not None:
                self._pen_move(event.pos)
            elif self.slider.dragging:
                self.slider.set_from(self._layout(), event.pos)
        elif kind == pygame.MOUSEBUTTONUP:
            if self._points is not None and event.button in (1, 3):
                self._pen_up(event.pos)
            self.slider.dragging = False
        elif kind == pygame.MOUSEWHEEL:
            self.slider.nudge(event.y)

    def _mouse_down(self, event: pygame.event.Event) -> None:
        layout = self._layout()
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
        self.probe.mark(event.t_ms)
        self.link.post(event)

    def _now_after(self, points: list[Point]) -> float:
        return max(self.link.now_ms(), points[-1].t_ms) if points else self.link.now_ms()

    def _pen_down(self, pos: tuple[int, int], *, tool: str) -> None:
        if self._points is not None:
            self._pen_up(None)
        x, y = self._layout().to_canvas(pos)
        t = self.link.now_ms()
        width = self.slider.value
        self._stroke_style = (self.color, width, tool)
        self._points = [Point(x, y, t)]
        self.ink.begin(color=self.color, width_px=width, tool=tool)
        self.ink.add(x, y)
        self._post_timed(PenDown(t_ms=t, x=x, y=y, color=self.color, width_px=width, tool=tool))

    def _pen_move(self, pos: tuple[int, int]) -> None:
        assert self._points is not None
        x, y = self._layout().to_canvas(pos)
        last = self._points[-1]
        if (x, y) == (last.x, last.y):
            return
        t = self._now_after(self._points)
        self._points.append(Point(x, y, t))
        self.ink.add(x, y)
        self._post_timed(PenMove(t_ms=t, x=x, y=y))

    def _pen_up(self, pos: tuple[int, int] | None) -> None:
        """The release point becomes the stroke's last point, and pen_up has its time (as a replay does)."""
        assert self._points is not None
        last = self._points[-1]
        x, y = self._layout().to_canvas(pos) if pos is not None else (last.x, last.y)
        t = self._now_after(self._points)
        self._points.append(Point(x, y, t))
        self.ink.add(x, y)
        self._post_timed(PenMove(t_ms=t, x=x, y=y))
        self._post_timed(PenUp(t_ms=t))
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
        self.ink.redraw(())
        self.link.post(Clear())
        self.link.restart_clock(at_ms=0.0)

    def trigger(self) -> None:
        self.link.post(Trigger())

    def release_overrides(self) -> None:
        self.link.post(ReleaseOverrides())
        self.show_message("overrides released")

    def _replace_strokes(self, strokes: tuple[Stroke, ...] | None, nothing: str, *, controls=None) -> None:
        if strokes is None:
            self.show_message(nothing)
            return
        if self._points is not None:
            self._pen_up(None)
        self.strokes = strokes
        self.ink.redraw(strokes)
        drawing = self._drawing_with(strokes, controls=controls)
        self.link.post(LoadDrawing(drawing=drawing))
        if self.link.now_ms() <= drawing.duration_ms():  # later strokes must come after these in time
            self.link.restart_clock(at_ms=drawing.duration_ms() + 1.0)

    def _drawing_with(self, strokes: tuple[Stroke, ...], *, controls=None) -> Drawing:
        """The engine's drawing (meta, recorded controls) with these strokes."""
        engine = self.link.engine
        base = engine.drawing if engine is not None else Drawing()
        return replace(base, strokes=strokes, controls=base.controls if controls is None else controls)

    def current_drawing(self) -> Drawing:
        """What save writes: the engine's drawing once it has handled everything posted."""
        if self.link.ready and self.link.idle(1.0):
            drawing = self.link.engine.drawing
            if drawing.strokes == self.strokes:
                return drawing
            log.warning("the engine's drawing differs from the canvas; saving the canvas strokes")
        return self._drawing_with(self.strokes)

    def save_as(self, path: str | Path) -> None:
        """Save JSON + PNG on a background thread (the UI goes on); the HUD reports the result."""
        if self._points is not None:
            self._pen_up(None)
        drawing = self.current_drawing()
        target = Path(path).expanduser()
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
        drawing = load_drawing_file(path)
        if (drawing.width_px, drawing.height_px) != (CANVAS_SIZE_PX, CANVAS_SIZE_PX):
            drawing = _scaled_to_canvas(drawing)
        self.history.record(self.strokes)
        self._last_path = Path(path).expanduser()
        self._replace_strokes(drawing.strokes, "", controls=drawing.controls)
        self.show_message(f"opened {self._last_path.name} ({len(drawing.strokes)} strokes)")

    def ask_save(self) -> None:
        default = self._last_path or default_drawing_path(self.options.save_folder)

        def done(text: str) -> str | None:
            self.save_as(text or default)
            return None

        self._open_prompt(Prompt("Save drawing as (.json + .png)", str(default), done))

    def ask_open(self) -> None:
        start = str(self._last_path or self.options.save_folder.expanduser()) + ("" if self._last_path else "/")

        def done(text: str) -> str | None:
            try:
                self.open_path(text)
            except BridgeError as exc:
                return str(exc)
            return None

        self._open_prompt(Prompt("Open drawing (.json)", start, done))

    def ask_custom_color(self) -> None:
        def done(text: str) -> str | None:
            try:
                rgb = parse_hex_color(text)
            except LabelError as exc:
                return str(exc)
            self.custom_color = "#{:02X}{:02X}{:02X}".format(*rgb)
            self.set_color(self.custom_color)
            self.swatches[-1].color = self.custom_color
            self.swatches[-1].label = custom_label(self.custom_color)
            return None

        self._open_prompt(Prompt("Custom colour as #RRGGBB (sounds like the nearest palette colour)",
                                 self.custom_color, done))

    def toggle_help(self) -> None:
        self.help_visible = not self.help_visible

    def quit(self) -> None:
        self.running = False

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

    def _layout(self) -> Layout:
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
            self.renderer.draw(pygame.display.get_surface(), self, self.hud_state())
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
        now = time.perf_counter()
        if now >= self._counters[0]:  # numbers that change with every bundle: refreshed 4 times a second
            sent = getattr(getattr(self.link.parts, "sender", None), "sent", None)
            self._counters = (now + 0.25, self.probe.summary(), sent)
        status = "ready" if self.link.ready else ("loading" if self.link.loading else "offline")
        return HudState(
            status=status,
            prediction=None if engine is None else engine.prediction,
            match=None if engine is None else engine.current_match,
            overrides={} if engine is None else engine.overrides.active(),
            osc_targets=self.options.osc_targets,
            bundles_sent=self._counters[2],
            audio=self.options.audio,
            latency=self._counters[1],
            errors=tuple(self.link.errors()),
            message=None if message is None else message[0],
        )

    @property
    def ink(self) -> InkLayer:
        assert self._ink is not None, "open() first"
        return self._ink

    @property
    def drawing(self) -> bool:
        """True while a stroke is being drawn."""
        return self._points is not None

    def save_screenshot(self, path: str | Path) -> None:
        pygame.image.save(pygame.display.get_surface(), str(path))


def _scaled_to_canvas(drawing: Drawing) -> Drawing:
    """A drawing saved on another canvas size, in 400 px canvas space (as CanvasRaster.draw scales it)."""
    sx, sy = CANVAS_SIZE_PX / drawing.width_px, CANVAS_SIZE_PX / drawing.height_px
    strokes = tuple(
        Stroke(tuple(Point(p.x * sx, p.y * sy, p.t_ms) for p in s.points), s.color, s.width_px * (sx + sy) / 2, s.tool)
        for s in drawing.strokes
    )
    return replace(drawing, strokes=strokes, width_px=CANVAS_SIZE_PX, height_px=CANVAS_SIZE_PX)
