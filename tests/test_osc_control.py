"""OSC control in over real loopback UDP: every control takes effect, anything else is logged and ignored.

Any datagram is contained: whatever it holds, the server thread lives on and the next control works."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import pytest
from osc_control_rig import FakeClock, Rig, close_rig, next_outcome, open_rig, send, send_raw, sync
from osc_datagrams import nested_bundle, osc_string, raw_bundle, raw_message

from bridge.adapters.osc_control import MAX_BUNDLE_DEPTH, OscControlServer
from bridge.app.live_session import MAX_WAITING
from bridge.core.errors import ConfigError
from bridge.core.events import PenDown, PenMove, PenUp
from bridge.core.labels import NO_OVERRIDES
from bridge.core.log_limit import LogLimiter, printable, shown
from bridge.core.protocol import CONTROL_ADDRESSES

LOGGER = "bridge.adapters.osc_control"


@pytest.fixture
def rig():
    opened = open_rig()
    yield opened
    close_rig(opened)


def test_override_sets_and_none_releases_one_head(rig):
    engine, *_, recorder = rig
    send(rig, "/pict2audio/override", "pitch", 72)
    assert engine.overrides.pitch == 72
    assert engine.current_match.sample.labels.pitch == 72
    send(rig, "/pict2audio/override", "pitch", "74")  # a numeric string
    assert engine.overrides.pitch == 74
    send(rig, "/pict2audio/override", "pitch", 75.0)  # Pd sends floats
    assert engine.overrides.pitch == 75
    send(rig, "/pict2audio/override", "volume", "high")
    assert engine.overrides.volume == "high"
    send(rig, "/pict2audio/override", "pitch", "none")
    assert engine.overrides.pitch is None and engine.overrides.volume == "high"
    assert "/pict2audio/override" in recorder.addresses()


def test_release_drops_every_override(rig):
    engine, *_ = rig
    send(rig, "/pict2audio/override", "timbre", "keyboard")
    send(rig, "/pict2audio/override", "volume", "low")
    send(rig, "/pict2audio/release")
    assert engine.overrides == NO_OVERRIDES


def test_trigger_plays_and_a_button_release_does_not(rig):
    *_, recorder = rig
    send(rig, "/pict2audio/override", "pitch", 70)
    send(rig, "/pict2audio/trigger")
    play = recorder.bundles[-1].find("play")
    assert play is not None and play.args[1] == 70
    count = len(recorder.bundles)
    send(rig, "/pict2audio/trigger", 0.0)  # the button's release
    assert len(recorder.bundles) == count
    send(rig, "/pict2audio/trigger", 1)
    assert recorder.bundles[-1].find("play") is not None


def test_clear_clears_the_canvas(rig):
    engine, session, *_, recorder = rig
    session.post(PenDown(x=20, y=200, color="#000000", width_px=12))
    session.post(PenMove(x=200, y=200))
    session.post(PenUp())
    assert session.wait_idle(5) and len(engine.drawing.strokes) == 1
    send(rig, "/pict2audio/clear")
    assert engine.drawing.strokes == () and engine.prediction is None
    assert recorder.bundles[-1].find("clear").args == (1,)


@pytest.mark.parametrize(
    ("address", "args", "why"),
    [
        ("/pict2audio/nonsense", [1], "unknown OSC control address"),
        ("/pict2audio/override", ["loudness", "high"], "head must be"),
        ("/pict2audio/override", ["pitch", 99], "pitch must be"),
        ("/pict2audio/override", ["pitch", 72.5], "whole MIDI note"),
        ("/pict2audio/override", ["pitch", "seventy"], "MIDI note number"),
        ("/pict2audio/override", ["volume", 2], "string class name"),
        ("/pict2audio/override", ["timbre", "kazoo"], "timbre must be"),
        ("/pict2audio/override", ["pitch"], "expected 's head'"),
        ("/pict2audio/trigger", ["now", "please"], "expected no argument"),
    ],
)
def test_bad_controls_are_logged_and_ignored(rig, caplog, address, args, why):
    engine, *_, recorder = rig
    caplog.set_level(logging.WARNING, logger="bridge.adapters.osc_control")
    send(rig, address, *args)
    assert any(why in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert engine.overrides == NO_OVERRIDES and recorder.bundles == []
    send(rig, "/pict2audio/override", "pitch", 71)  # still listening
    assert engine.overrides.pitch == 71


def test_a_datagram_that_is_not_osc_is_logged_and_ignored(rig, caplog):
    engine, _, server, *_ = rig
    caplog.set_level(logging.WARNING, logger="bridge.adapters.osc_control")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"#bundle\x00garbage", ("127.0.0.1", server.port))
        raw.sendto(b"/pict2audio/trigger\x00,i\x00", ("127.0.0.1", server.port))  # truncated
    for _ in range(2):  # one outcome per datagram, each reported after its warning
        outcome = next_outcome(rig, "a datagram that is not OSC")
        assert outcome.address is None and "malformed" in outcome.reason, outcome
    assert sum("malformed" in r.getMessage() for r in caplog.records) >= 2, [r.getMessage() for r in caplog.records]
    send(rig, "/pict2audio/override", "volume", "med")
    assert engine.overrides.volume == "med"


def test_binds_to_loopback_by_default_and_a_busy_port_is_a_clear_error(rig):
    _, session, server, *_ = rig
    assert server.host == "127.0.0.1"
    with pytest.raises(ConfigError, match="--control-port"):
        OscControlServer(session, port=server.port).start()


def test_the_control_table_names_every_handled_address():
    assert sorted(spec.path for spec in CONTROL_ADDRESSES.values()) == sorted(
        f"/pict2audio/{name}" for name in ("clear", "override", "release", "trigger", "transport", "register")
    )


# -- any datagram is contained ------------------------------------------------------------------





TRIGGER = raw_message(b"/pict2audio/trigger")


def assert_still_listening(rig: Rig, pitch: int = 71) -> None:
    """The server thread is alive and a valid control takes effect."""
    assert rig.server.alive
    send(rig, "/pict2audio/override", "pitch", pitch)
    assert rig.engine.overrides.pitch == pitch


@pytest.mark.parametrize(
    "datagram",
    [
        osc_string(b"/\xff"),  # python-osc raised UnicodeDecodeError in verify_request: the thread died
        nested_bundle(400, TRIGGER),  # python-osc's bundle parser recursed into RecursionError: the thread died
        nested_bundle(MAX_BUNDLE_DEPTH + 1, TRIGGER),
        raw_message(b"/pict2audio/override", b"ss", osc_string(b"pitch") + osc_string(b"\xff\xfe")),
        raw_message(b"/pict2audio/trigger", b"x" * 400),  # unknown type tags (python-osc warned once per tag)
        raw_message(b"/pict2audio/trigger", b"[" * 1000 + b"]" * 1000),  # arrays: no control takes them
        raw_bundle(TRIGGER, sizes=(-4,)),
        raw_bundle(TRIGGER, sizes=(1 << 30,)),
        b"#bundle\x00\x00",
        b"/pict2audio/trigger",  # no terminating NUL
    ],
    ids=["non-utf8-address", "bundle-400-deep", "bundle-9-deep", "non-utf8-string", "unknown-type-tags", "arrays",
         "negative-element-size", "huge-element-size", "bundle-without-time-tag", "address-without-nul"],
)
def test_a_malformed_datagram_is_contained_and_the_next_control_works(rig, caplog, datagram):
    caplog.set_level(logging.WARNING)
    send_raw(rig, datagram)
    outcome = next_outcome(rig, "a malformed datagram")
    assert outcome.address is None and not outcome.accepted and "malformed" in outcome.reason, outcome
    assert rig.server.malformed == 1 and rig.server.ignored == 1
    assert_still_listening(rig)
    assert [type(c).__name__ for c in rig.engine.drawing.controls] == ["SetOverride"]  # nothing else acted
    other = [r.getMessage() for r in caplog.records if r.name != LOGGER and r.levelno >= logging.WARNING]
    assert other == []  # no per-tag or per-element warnings from python-osc's own logger


def test_a_valid_bundle_acts_in_order(rig):
    override = raw_message(b"/pict2audio/override", b"si", osc_string(b"pitch") + struct.pack(">i", 74))
    send_raw(rig, nested_bundle(2, raw_bundle(override, raw_bundle(TRIGGER))))
    assert [next_outcome(rig, "a bundle").address for _ in range(2)] == ["/pict2audio/override", "/pict2audio/trigger"]
    assert rig.session.wait_idle(5)
    assert rig.recorder.bundles[-1].find("play").args[1] == 74


@pytest.mark.parametrize("address", ["/pict2audio/*", "/pict2audio/{clear,trigger}", "/*/*", "/pict2audio/[ct]*",
                                     "/pict2audio/?rigger", "/pict2audio/[!o]*"])
def test_an_address_pattern_fires_no_control(rig, caplog, address):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    rig.client.send_message(address, [1])
    outcome = next_outcome(rig, address)
    assert (outcome.address, outcome.accepted) == (address, False) and "pattern" in outcome.reason, outcome
    assert any("pattern" in r.getMessage() for r in caplog.records)
    assert_still_listening(rig)  # its outcome is the next one: the pattern gave exactly one
    assert [type(c).__name__ for c in rig.engine.drawing.controls] == ["SetOverride"]  # no clear, no trigger


def test_control_characters_are_escaped_and_long_text_cut(rig, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    send_raw(
        rig,
        raw_message(b"/\x1bc\x1b(0\x07"),  # terminal reset, line-drawing charset, bell: an unknown address
        raw_message(b"/pict2audio/\x1b]0;owned\x07"),  # set the window title: a pattern ("]")
        raw_message(b"/pict2audio/override", b"ss", osc_string(b"pitch\x1b[2J") + osc_string(b"x" * 5000)),
        osc_string(b"/pict2audio/trigger") + osc_string(b"\x1b[2J"),  # type tags without ',': malformed
    )
    for _ in range(4):
        next_outcome(rig, "a datagram with control characters")
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 4, lines
    for line in lines:
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in line), line
        assert len(line) < 700, line
    assert all("\\x1b" in line for line in lines), lines
    assert "... (" in lines[2]  # the 5000-character argument, cut
    assert_still_listening(rig)


def test_a_flood_of_bad_datagrams_logs_a_few_lines_then_a_summary(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    clock = FakeClock()
    rig = open_rig(clock=clock)
    try:
        send_raw(rig, *[b"not osc %d" % i for i in range(20)])
        for _ in range(20):
            next_outcome(rig, "a flood of bad datagrams")
        assert rig.server.malformed == 20
        lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert len(lines) == 3 and all("malformed" in line for line in lines), lines
        clock.now += 10.0  # the period ends: its count is written (by the server's tick, or by the next datagram)
        send_raw(rig, b"not osc again")
        next_outcome(rig, "one more bad datagram")
        lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert lines[3:] == ["ignored 17 more malformed OSC datagrams in the last 10.0 s"], lines
        assert_still_listening(rig)
    finally:
        close_rig(rig)
    assert caplog.records[-1].getMessage() == "ignored 1 more malformed OSC datagrams in the last 0.0 s"  # stop()


def test_a_flood_of_triggers_leaves_a_short_bounded_backlog():
    entered, gate = threading.Event(), threading.Event()

    def blocking_sink(bundle) -> None:  # holds the engine, as a slow output would, until the test lets go
        entered.set()
        gate.wait(10)

    rig = open_rig(sinks=(blocking_sink,))
    try:
        rig.client.send_message("/pict2audio/trigger", [])
        assert entered.wait(5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            for _ in range(20_000):
                raw.sendto(TRIGGER, ("127.0.0.1", rig.server.port))
            sync(rig, raw, "after-the-flood")
        assert rig.session.waiting <= MAX_WAITING  # the engine's queue stayed bounded
        assert rig.session.dropped > 0 and rig.server.handled <= MAX_WAITING + 1
        released = time.perf_counter()
        gate.set()
        assert rig.session.wait_idle(5)
        assert time.perf_counter() - released < 1.0  # no long backlog (measured: 64 triggers drain in ~0.4 ms)
        assert_still_listening(rig)
    finally:
        gate.set()
        close_rig(rig)


# -- the log limit and terminal-safe text ---------------------------------------------------------

class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def limited():
    """A LogLimiter (2 lines per 10 s) on a fake clock, and the lines it wrote."""
    clock, handler = FakeClock(), ListHandler()
    logger = logging.getLogger("test.log_limit")
    logger.addHandler(handler)
    logger.propagate = False
    yield LogLimiter(logger, "held back %d in %.1f s", burst=2, period_s=10.0, clock=clock), clock, handler.lines
    logger.removeHandler(handler)


def test_the_limiter_writes_a_burst_then_one_summary_per_period(limited):
    limiter, clock, lines = limited
    assert [limiter.log("bad %d", i) for i in range(5)] == [True, True, False, False, False]
    assert lines == ["bad 0", "bad 1"] and limiter.total == 5
    clock.now += 4
    assert limiter.due_in() == 6.0
    limiter.tick()
    assert len(lines) == 2  # the period has not ended
    clock.now += 6
    limiter.tick()
    assert lines[2:] == ["held back 3 in 10.0 s"]
    assert limiter.log("bad 5") is False  # the flood goes on: the next period writes only its summary
    clock.now += 12
    assert limiter.log("bad 6") is False
    assert lines[3:] == ["held back 1 in 12.0 s"]
    clock.now += 10
    limiter.tick()
    assert lines[4:] == ["held back 1 in 10.0 s"]
    clock.now += 10
    limiter.tick()  # a quiet period: nothing to write, and lines are written again
    assert len(lines) == 5 and limiter.due_in() is None
    assert limiter.log("bad 7") is True and lines[-1] == "bad 7"


def test_the_limiter_flushes_what_it_holds(limited):
    limiter, clock, lines = limited
    for i in range(4):
        limiter.log("bad %d", i)
    clock.now += 1.5
    limiter.flush()
    assert lines == ["bad 0", "bad 1", "held back 2 in 1.5 s"]
    limiter.flush()
    assert len(lines) == 3


def test_printable_escapes_control_characters_and_cuts_long_text():
    assert printable("/a\x1b[2J\x07\n\u202e\x00b") == "/a\\x1b[2J\\x07\\n\\u202e\\x00b"
    assert printable("héllo ♪") == "héllo ♪"
    assert printable("x" * 500, 10) == "xxxxxxxxxx... (500 chars)"
    assert shown("/pict2audio/\x1b") == "'/pict2audio/\\x1b'"
    assert shown(b"\xff" * 100, 12) == "b'\\xff\\xff\\x... (403 chars)"
