"""The engine's worker thread: events from any thread, bundles to every sink, failures contained."""

from __future__ import annotations

import logging
import queue
import threading

import pytest
from stand_ins import InkClassifier, label_matcher
from waiting import next_item

from bridge.app.live_session import LiveSession
from bridge.core.engine import Engine
from bridge.core.events import PenDown, PenUp, Trigger


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_engine() -> Engine:
    return Engine(classify=InkClassifier().classify_raster, match=label_matcher)


def make_session(*sinks) -> LiveSession:
    return LiveSession(make_engine(), list(sinks)).start()


def test_bundles_reach_every_sink_on_the_worker_thread():
    seen: list[tuple[str, str]] = []
    session = make_session(lambda b: seen.append(("a", threading.current_thread().name)),
                           lambda b: seen.append(("b", threading.current_thread().name)))
    session.post(PenDown(t_ms=0, x=10, y=10, color="#000000", width_px=4))
    session.post(PenUp(t_ms=5))
    assert session.wait_idle()
    session.stop()
    assert [s for s, _ in seen] == ["a", "b", "a", "b"]
    assert {t for _, t in seen} == {"pict2audio-engine"}


def test_a_failing_sink_does_not_stop_the_others():
    got = []

    def broken(bundle):
        raise OSError("network down")

    session = make_session(broken, got.append)
    session.post(PenDown(t_ms=0, x=10, y=10, color="#000000", width_px=4))
    assert session.wait_idle()
    session.stop()
    assert len(got) == 1 and "network down" in session.sink_errors[0]


def test_a_bad_event_is_logged_and_the_session_goes_on(caplog):
    got = []
    session = make_session(got.append)
    session.post(PenDown(x=10, y=10, color="no colour", width_px=4))
    session.post(PenDown(x=10, y=10, color="#000000", width_px=4))
    assert session.wait_idle()
    session.stop()
    assert "engine rejected PenDown" in caplog.text
    assert len(got) == 1


def test_the_session_clock_starts_at_zero_and_restarts():
    ticks = iter([100.0, 100.5, 101.0, 101.25])
    session = LiveSession(make_engine(), clock=lambda: next(ticks))
    assert session.now_ms() == 500.0
    session.restart_clock()
    assert session.now_ms() == 250.0


# -- the bounded post for remote inputs ---------------------------------------------------------

class Held:
    """A sink that holds the engine thread (as a slow output would) until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, bundle) -> None:
        self.entered.set()
        self.gate.wait(10)


class Lines(logging.Handler):
    """Every line the session logs, in a queue a test can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: queue.Queue[str] = queue.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        self.queue.put(record.getMessage())


@pytest.fixture
def session_lines():
    lines = Lines()
    logger = logging.getLogger("bridge.app.live_session")
    logger.addHandler(lines)
    yield lines.queue
    logger.removeHandler(lines)


def held_session(max_waiting: int, **kwargs) -> tuple[LiveSession, Held]:
    """A session whose engine is busy (inside a sink) with one pen event."""
    held = Held()
    session = LiveSession(make_engine(), [held], max_waiting=max_waiting, **kwargs).start()
    session.post(PenDown(t_ms=0, x=10, y=10, color="#000000", width_px=4))
    assert held.entered.wait(5)
    return session, held


def drain(lines: queue.Queue[str]) -> list[str]:
    got = []
    while not lines.empty():
        got.append(lines.get())
    return got


def test_offer_drops_when_the_queue_is_full_and_post_never_does(session_lines):
    session, held = held_session(4)
    try:
        assert [session.offer(Trigger()) for _ in range(5)] == [True, True, True, False, False]
        assert session.waiting == 4 and session.dropped == 2
        session.post(PenUp())  # the canvas's own events are always queued
        assert session.waiting == 5
    finally:
        held.gate.set()
    assert session.wait_idle(5) and session.waiting == 0
    session.stop()
    assert [type(c).__name__ for c in session.engine.drawing.controls] == ["Trigger"] * 3
    assert len(session.engine.drawing.strokes) == 1
    busy = [line for line in drain(session_lines) if "engine busy" in line]
    assert busy == ["engine busy (4 events waiting): dropped Trigger from a remote input"] * 2


def test_drops_are_logged_a_few_times_then_summarised(session_lines):
    clock = FakeClock()
    session, held = held_session(1, log_clock=clock)
    try:
        assert not any(session.offer(Trigger()) for _ in range(10))
        assert session.dropped == 10
        lines = drain(session_lines)
        assert len(lines) == 3 and all("engine busy" in line for line in lines), lines
        clock.now += 10.0  # the period ends: the engine thread, once free, writes the count it held back
    finally:
        held.gate.set()
    summary = next_item(session_lines, lambda line: "more" in line, timeout_s=5)
    assert summary == "engine busy: dropped 7 more remote events in the last 10.0 s"
    session.stop()
