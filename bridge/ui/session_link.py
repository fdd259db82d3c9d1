"""The canvas's handle on the session, which is built in the background so the first frame is fast.

Until the model and bank are loaded, the canvas keeps drawing: events are buffered with their
t_ms on the link's own clock, and when the session is ready its clock is set to the same time and
the buffer is posted in order (so the engine sees exactly what a live session would have seen).
Everything here except the builder thread runs on the UI thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bridge.core.events import LoadDrawing, SessionInput

if TYPE_CHECKING:
    from bridge.app.session import SessionParts
    from bridge.core.engine import Engine

log = logging.getLogger(__name__)


class SessionLink:
    """Wraps `connect()` -> parts (with `.session`, `.engine`, `.close()`), called on a builder thread."""

    def __init__(self, connect: Callable[[], SessionParts], *, background: bool = True) -> None:
        self._connect = connect
        self._background = background
        self._t0 = time.monotonic()
        self._pending: list[SessionInput] = []
        self._built: SessionParts | None = None
        self._build_error: str | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()  # the pending buffer vs. posts from other threads (MIDI)
        self._closing = False
        self.parts: SessionParts | None = None  # set (on the UI thread) once the session is live
        self.error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> SessionLink:
        if self._background:
            threading.Thread(target=self._build, name="pict2audio-load", daemon=True).start()
        else:
            self._build()
            self.poll()
        return self

    def _build(self) -> None:
        try:
            parts = self._connect()
            if self._closing:  # the window closed while loading
                parts.close()
                return
            self._built = parts
        except Exception as exc:  # shown in the HUD; drawing goes on without sound
            log.error("could not start the session: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self._build_error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def poll(self) -> bool:
        """Call once per frame: hand over to the session when it is ready. True when it just became ready."""
        if self.parts is not None or not self._done.is_set():
            return False
        if self._build_error is not None:
            self.error, self._build_error = self._build_error, None
            with self._lock:
                self._pending.clear()
            return False
        if self._built is None:
            return False
        parts, self._built = self._built, None
        if self._closing:
            parts.close()
            return False
        parts.session.restart_clock(at_ms=self._own_now_ms())
        meta = parts.engine.drawing.meta
        with self._lock:
            for event in self._pending:
                if isinstance(event, LoadDrawing):  # made before the session existed: give it the session's meta
                    event = replace(event, drawing=replace(event.drawing, meta={**event.drawing.meta, **meta}))
                parts.session.post(event)
            self._pending.clear()
            self.parts = parts
        return True

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until the session is built (tests, benchmarks, --exit-after-first-frame never use it)."""
        self._done.wait(timeout_s)
        self.poll()
        return self.parts is not None

    def close(self) -> None:
        self._closing = True
        if self.parts is not None:
            parts, self.parts = self.parts, None
            parts.close()

    # -- the clock and events ---------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.parts is not None

    @property
    def loading(self) -> bool:
        return self.parts is None and self.error is None

    def _own_now_ms(self) -> float:
        return (time.monotonic() - self._t0) * 1000.0

    def now_ms(self) -> float:
        """ms since the drawing started, rounded as the drawing stores it."""
        now = self.parts.session.now_ms() if self.parts is not None else self._own_now_ms()
        return round(now, 3)

    def restart_clock(self, *, at_ms: float = 0.0) -> None:
        self._t0 = time.monotonic() - at_ms / 1000.0
        if self.parts is not None:
            self.parts.session.restart_clock(at_ms=at_ms)

    def post(self, event: SessionInput) -> None:
        """Post to the session, or keep it for later while loading (dropped if loading failed).

        Any thread may post (the MIDI input does); an event without t_ms happens now on the session clock.
        """
        if event.t_ms is None:
            event = event.at(self.now_ms())
        with self._lock:
            if self.parts is None:
                if self.error is None:
                    self._pending.append(event)
                return
        self.parts.session.post(event)

    # -- read-only views for the HUD --------------------------------------------------------

    @property
    def engine(self) -> Engine | None:
        return None if self.parts is None else self.parts.engine

    def errors(self) -> list[str]:
        """The most recent contained errors (engine, outputs, loading), oldest first."""
        out = [f"session: {self.error}"] if self.error else []
        if self.parts is not None:
            out += list(self.parts.engine.errors[-5:]) + list(self.parts.session.sink_errors[-5:])
        return out[-5:]

    def idle(self, timeout_s: float = 1.0) -> bool:
        return True if self.parts is None else self.parts.session.wait_idle(timeout_s)
