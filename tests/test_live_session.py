"""The engine's worker thread: events from any thread, bundles to every sink, failures contained."""

from __future__ import annotations

import threading

from stand_ins import InkClassifier, label_matcher

from bridge.app.live_session import LiveSession
from bridge.core.engine import Engine
from bridge.core.events import PenDown, PenUp


def make_engine() -> Engine:
    return Engine(classify=InkClassifier().classify, match=label_matcher)


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
