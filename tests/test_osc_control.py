"""OSC control in over real loopback UDP: every control takes effect, anything else is logged and ignored."""

from __future__ import annotations

import logging
import queue
import socket
from typing import NamedTuple

import pytest
from pythonosc.udp_client import SimpleUDPClient
from stand_ins import InkClassifier

from bridge.adapters.osc_control import ControlOutcome, OscControlServer
from bridge.app.live_session import LiveSession
from bridge.core.bank import Sample, SoundBank
from bridge.core.engine import Engine
from bridge.core.events import PenDown, PenMove, PenUp
from bridge.core.labels import NO_OVERRIDES, PITCHES, VOLUMES, Labels
from bridge.core.matching import Matcher
from bridge.core.protocol import CONTROL_ADDRESSES
from bridge.errors import ConfigError


class Recorder:
    def __init__(self) -> None:
        self.bundles = []

    def __call__(self, bundle) -> None:
        self.bundles.append(bundle)

    def addresses(self) -> list[str]:
        return [a for b in self.bundles for a in b.addresses()]


class Rig(NamedTuple):
    engine: Engine
    session: LiveSession
    server: OscControlServer
    client: SimpleUDPClient
    outcomes: queue.Queue[ControlOutcome]  # what the server made of each datagram, once it is logged
    recorder: Recorder


@pytest.fixture
def rig():
    bank = SoundBank(tuple(Sample(f"/bank/{p}-{v}.wav", Labels(p, v, "keyboard")) for p in PITCHES for v in VOLUMES))
    engine = Engine(classify=InkClassifier().classify, match=Matcher(bank))
    recorder = Recorder()
    session = LiveSession(engine, [recorder]).start()
    outcomes: queue.Queue[ControlOutcome] = queue.Queue()
    server = OscControlServer(session, port=0, on_outcome=outcomes.put).start()
    client = SimpleUDPClient("127.0.0.1", server.port)
    yield Rig(engine, session, server, client, outcomes, recorder)
    server.stop()
    session.stop()


def next_outcome(rig: Rig, what: str, timeout_s: float = 5.0) -> ControlOutcome:
    """The server's next outcome (reported after its log line is written); fails after timeout_s."""
    try:
        return rig.outcomes.get(timeout=timeout_s)
    except queue.Empty:
        pytest.fail(f"no reaction to {what} within {timeout_s:g} s")


def send(rig: Rig, address: str, *args) -> ControlOutcome:
    """Send one control message, wait for the server's outcome of it, then until the engine is idle."""
    rig.client.send_message(address, list(args))
    outcome = next_outcome(rig, f"{address} {args}")
    assert outcome.address == address, outcome  # the reaction to this message, not to an earlier datagram
    assert rig.session.wait_idle(5)
    return outcome


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
        f"/pict2audio/{name}" for name in ("clear", "override", "release", "trigger")
    )
