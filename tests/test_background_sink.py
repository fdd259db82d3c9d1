"""A slow output runs on its own thread: the engine thread hands a bundle over and goes on at once."""

from __future__ import annotations

import threading

from bridge.app.background_sink import BackgroundSink
from bridge.core.protocol import Bundle, stroke_begin_message


def bundle(n: int) -> Bundle:
    return Bundle((stroke_begin_message(n),), float(n))


def test_bundles_reach_the_sink_in_order_on_its_own_thread():
    seen: list[tuple[int, str]] = []
    feed = BackgroundSink(lambda b: seen.append((b.messages[0].args[0], threading.current_thread().name)),
                          name="test output")
    for n in range(50):
        feed(bundle(n))
    assert feed.flush(5.0)
    feed.close()
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"pict2audio-test output"}


def test_a_blocked_sink_never_blocks_the_caller_and_drops_beyond_its_queue():
    release = threading.Event()
    started = threading.Event()
    got: list[Bundle] = []

    def slow(b: Bundle) -> None:
        started.set()
        release.wait(10.0)
        got.append(b)

    feed = BackgroundSink(slow, name="slow output", max_pending=3)
    feed(bundle(0))
    assert started.wait(5.0)  # the first bundle is in the sink; three more fit in the queue
    for n in range(1, 10):
        feed(bundle(n))  # returns at once although the sink is stuck
    assert feed.dropped == 6
    release.set()
    assert feed.flush(5.0)
    feed.close()
    assert [b.messages[0].args[0] for b in got] == [0, 1, 2, 3]


def test_a_failing_sink_is_logged_and_the_next_bundle_still_arrives(caplog):
    got: list[Bundle] = []

    def flaky(b: Bundle) -> None:
        if b.messages[0].args[0] == 1:
            raise OSError("device gone")
        got.append(b)

    feed = BackgroundSink(flaky, name="flaky output")
    for n in range(3):
        feed(bundle(n))
    assert feed.flush(5.0)
    feed.close()
    assert len(got) == 2 and "device gone" in feed.errors[0] and "device gone" in caplog.text
