"""Runs one Engine on a worker thread: any thread posts events, sinks receive the bundles.

The canvas, the MIDI input and the OSC control input all post events here; the engine (with the
classifier and matcher) runs only on the worker thread, so the UI never waits for a model. The canvas's
own events are always queued (`post`); an input anyone can flood (OSC control) uses `offer`, which drops
the event (counted, with a rate-limited warning) when `max_waiting` events are already waiting, so a
flood can neither grow the queue without bound nor put seconds of backlog before the next pen stroke. Sinks
(OSC sender, local audio, HUD, recorders) are called on the worker thread with each bundle; a sink
that raises is logged and the others still run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from bridge.core.engine import Engine
from bridge.core.events import Event, SessionInput, TransportControl
from bridge.core.log_limit import LogLimiter
from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)

Sink = Callable[[Bundle], None]

MAX_WAITING = 64  # events waiting before `offer` drops; a control takes ~0.02 ms, so this is ~1-2 ms of backlog


class LiveSession:
    """Owns the engine's thread and the session clock (ms since the drawing started)."""

    def __init__(self, engine: Engine, sinks: list[Sink] | None = None, *, clock: Callable[[], float] = time.monotonic,
                 max_waiting: int = MAX_WAITING, log_clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.sinks: list[Sink] = list(sinks or [])
        self._clock = clock
        self._t0 = clock()
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.sink_errors: list[str] = []
        self.idle = threading.Event()
        self.idle.set()
        self.max_waiting = max_waiting
        self.dropped = 0  # events refused by offer() because the queue was full
        self._lock = threading.Lock()  # guards _waiting, dropped and the idle flag together
        self._waiting = 0  # events queued and not yet handled (the one being handled included)
        self._drop_log = LogLimiter(
            log, "engine busy: dropped %d more remote events in the last %.1f s", clock=log_clock)
        # Takes the transport controls (keys, OSC, MIDI) in place of the engine: the score player, if any.
        self.on_transport: Callable[[TransportControl], None] | None = None

    def now_ms(self) -> float:
        """The session clock: ms since the session (or the last clear) started."""
        return (self._clock() - self._t0) * 1000.0

    def ms_at(self, instant: float) -> float:
        """What the session clock reads at `instant` of its clock (a time scheduled ahead, e.g. a score note)."""
        return (instant - self._t0) * 1000.0

    def restart_clock(self, *, at_ms: float = 0.0) -> None:
        """Restart the session clock so that now_ms() reads `at_ms` (e.g. after opening a drawing)."""
        self._t0 = self._clock() - at_ms / 1000.0

    def start(self) -> LiveSession:
        self._thread = threading.Thread(target=self._run, name="pict2audio-engine", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None
        self._drop_log.flush()

    @property
    def running(self) -> bool:
        """Whether the engine thread is started and not stopped."""
        return self._thread is not None

    @property
    def waiting(self) -> int:
        """Events queued and not yet handled."""
        return self._waiting

    def post(self, event: SessionInput) -> None:
        """Queue an event from any thread, e.g. post(PenMove(x=10, y=20)); an event without t_ms happens now.

        Never drops: for the canvas's own events, whose rate a person sets."""
        if isinstance(event, TransportControl):
            self._transport(event)
            return
        if event.t_ms is None:
            event = event.at(self.now_ms())
        with self._lock:
            self._waiting += 1
            self.idle.clear()
        self._queue.put(event)

    def offer(self, event: SessionInput) -> bool:
        """Queue an event as `post` does unless `max_waiting` events are already waiting; then drop it
        (counted in `dropped`, with a rate-limited warning) and return False. For inputs anyone can flood."""
        if isinstance(event, TransportControl):
            self._transport(event)
            return True
        if event.t_ms is None:
            event = event.at(self.now_ms())
        with self._lock:
            full = self._waiting >= self.max_waiting
            if full:
                self.dropped += 1
            else:
                self._waiting += 1
                self.idle.clear()
        if full:
            self._drop_log.log("engine busy (%d events waiting): dropped %s from a remote input",
                               self.max_waiting, type(event).__name__)
            return False
        self._queue.put(event)
        return True

    def _transport(self, event: TransportControl) -> None:
        """A transport control goes to the score player (never to the engine)."""
        if self.on_transport is None:
            log.info("transport %s ignored: no score player in this session", event.action)
        else:
            self.on_transport(event)

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Block until every posted event has been handled (for tests and shutdown)."""
        return self.idle.wait(timeout_s)

    def _run(self) -> None:
        while True:
            try:  # wakes up when a held-back drop count is due to be logged, else waits for an event
                event = self._queue.get(timeout=self._drop_log.due_in())
            except queue.Empty:
                self._drop_log.tick()
                continue
            if event is None:
                return
            self.handle(event)
            with self._lock:
                self._waiting -= 1
                if self._waiting == 0:
                    self.idle.set()

    def handle(self, event: Event) -> Bundle | None:
        """Run one event and deliver its bundle (on the calling thread)."""
        bundle = self.compute(event)
        self.deliver(bundle)
        return bundle

    def compute(self, event: Event) -> Bundle | None:
        """Run one event without delivering its bundle; a rejected event is logged and gives None."""
        try:
            return self.engine.handle(event)
        except Exception as exc:  # a bad event must not kill the session
            log.error("engine rejected %s: %s", type(event).__name__, exc)
            self.engine.errors.append(f"{type(event).__name__}: {exc}")
            return None

    def deliver(self, bundle: Bundle | None) -> None:
        """Give a non-empty bundle to every sink; a failing sink is logged and the others still get it."""
        if bundle is None or not bundle.messages:
            return
        for sink in self.sinks:
            try:
                sink(bundle)
            except Exception as exc:
                log.error("output %r failed: %s", sink, exc)
                self.sink_errors.append(f"{getattr(sink, '__name__', sink)}: {exc}")
                del self.sink_errors[:-20]
