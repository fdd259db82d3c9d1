"""Replay a saved drawing through the live session's engine and outputs, in real time or as fast as possible.

The events come from `bridge.core.replay.session_events` (strokes and recorded controls in time
order) and are run by the same `LiveSession` code as the live canvas's events, so the bundles and the OSC
stream are the ones the live session produced. A replay has no live input and the engine depends only on
the drawing (its clock is the recorded t_ms), so a timed replay makes every bundle first and then only
waits and sends: each bundle goes out when the live session sent it, at `start + (t_ms - first_t_ms) /
speed` on a monotonic clock plus the time the engine took to make it (measured while making it). Sleep
errors never accumulate, no work competes with the clock, and the silence before the first event is skipped.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.app.live_session import LiveSession, Sink
from bridge.core.drawing import Drawing
from bridge.core.engine import Engine
from bridge.core.events import ControlEvent, SessionInput, TransportControl
from bridge.core.protocol import Bundle
from bridge.core.replay import session_events

log = logging.getLogger(__name__)

OnEvent = Callable[[SessionInput, Bundle | None], None]


@dataclass
class ReplayResult:
    """What one replay produced.

    bundles: (t_ms on the drawing's clock, bundle) for every non-empty bundle, in order.
    lateness_ms: per event, how much later than scheduled its bundle was delivered (empty when fast).
    wall_s: how long the replay took.
    errors: the engine's contained errors and the outputs' failures during the replay.
    first_t_ms, last_t_ms: the drawing times of the first and last events (the replay starts at
    first_t_ms: the silence before it is skipped).
    """

    bundles: list[tuple[float, Bundle]] = field(default_factory=list)
    lateness_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    first_t_ms: float = 0.0
    last_t_ms: float = 0.0

    @property
    def play_count(self) -> int:
        return sum(1 for _, b in self.bundles if b.find("play") is not None)


def version_mismatches(drawing: Drawing, current: dict[str, str]) -> list[str]:
    """Human-readable differences between the versions a drawing recorded and the current ones.

    Only keys the drawing recorded are compared (example drawings record none)."""
    out = []
    for key in ("model_version", "bank_version"):
        recorded = drawing.meta.get(key)
        if recorded is not None and key in current and str(recorded) != str(current[key]):
            what = key.removesuffix("_version")
            out.append(f"drawn with {what} {recorded}, replaying with {what} {current[key]}")
    return out


def replay_drawing(
    drawing: Drawing,
    engine: Engine,
    sinks: Sequence[Sink] = (),
    *,
    speed: float | None = 1.0,
    extra_controls: tuple[ControlEvent, ...] = (),
    events: Sequence[SessionInput] | None = None,
    on_event: OnEvent | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Feed the drawing's events to `engine`, delivering each bundle to `sinks`.

    speed: 1.0 = recorded timing, 2.0 = twice as fast, None = no waiting at all (fast).
    on_event(event, bundle): called after each event's bundle is delivered (a window redrawing the strokes).
    events: play these instead of the drawing's own (a drawing played as a score: bridge.core.score).
    """
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be > 0 (or None for fast replay), got {speed!r}")
    events = session_events(drawing, extra_controls) if events is None else list(events)
    session = LiveSession(engine, list(sinks), clock=clock)  # never started: runs on this thread
    errors_before = len(engine.errors)
    first_t_ms = _time(events[0]) if events else 0.0
    result = ReplayResult(first_t_ms=first_t_ms, last_t_ms=_time(events[-1]) if events else 0.0)
    steps: Iterable[tuple[SessionInput, Bundle | None, float]] = (_made(session, event, clock) for event in events)
    if speed is not None:
        steps = list(steps)  # timed: every bundle is made before the clock starts
    with _collector_paused(speed is not None):
        start = clock()
        for event, bundle, work_s in steps:
            if speed is not None:
                # When the live session sent it: at its drawing time, plus the engine's work on it.
                due = start + (_time(event) - first_t_ms) / speed / 1000.0 + work_s
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
                result.lateness_ms.append(max((clock() - due) * 1000.0, 0.0))
            session.deliver(bundle)
            if bundle is not None and bundle.messages:
                result.bundles.append((_time(event), bundle))
            if on_event is not None:
                on_event(event, bundle)
    result.wall_s = clock() - start
    result.errors = [*engine.errors[errors_before:], *session.sink_errors]
    log.info("replayed %d events, %d bundles in %.2f s", len(events), len(result.bundles), result.wall_s)
    return result


def _time(event: SessionInput) -> float:
    assert event.t_ms is not None, "a drawing's events carry their time"
    return event.t_ms


def _made(session: LiveSession, event: SessionInput,
          clock: Callable[[], float]) -> tuple[SessionInput, Bundle | None, float]:
    """(event, its bundle, how long the engine took to make it in s). A transport control goes where the live
    session sends it (the score player; a plain replay has none) and makes no bundle."""
    if isinstance(event, TransportControl):
        session.post(event)
        return event, None, 0.0
    began = clock()
    bundle = session.compute(event)
    return event, bundle, clock() - began


@contextlib.contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """No garbage-collector pause between two due times (the timed loop allocates little)."""
    was_enabled = gc.isenabled()
    if paused:
        gc.collect()
        gc.disable()
    try:
        yield
    finally:
        if paused and was_enabled:
            gc.enable()


def describe_lateness(lateness_ms: Sequence[float]) -> dict[str, Any]:
    """p50 / p99 / max of how late bundles were delivered (ms), for the log and the docs."""
    if not lateness_ms:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(lateness_ms)

    def pick(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    return {"p50": pick(0.5), "p99": pick(0.99), "max": ordered[-1]}
