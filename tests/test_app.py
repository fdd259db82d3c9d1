"""Wiring: build_engine for batch use, build_session with real UDP out, control in and local audio."""

from __future__ import annotations

import gc
import socket

import pytest
from osc_peers import wav_bank
from pythonosc.osc_bundle import OscBundle
from pythonosc.udp_client import SimpleUDPClient
from stand_ins import InkClassifier

from bridge import __version__
from bridge.app.config import Config
from bridge.app.session import build_engine, build_session
from bridge.core.bank import SoundBank
from bridge.core.errors import ConfigError, SoundBankError
from bridge.core.events import Clear, PenDown, PenUp
from bridge.core.labels import band_for_y


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> SoundBank:
    return wav_bank(tmp_path_factory.mktemp("bank"), volumes=("med",))


def test_build_engine_records_versions_and_matches_the_bank(bank):
    engine = build_engine(InkClassifier(), bank)
    assert engine.drawing.meta == {"model_version": InkClassifier.version, "bank_version": "test-wav-bank",
                                   "bridge_version": __version__}
    bundle = engine.handle(PenDown(t_ms=0, x=20, y=200, color="#000000", width_px=12))
    assert bundle.find("play").args[1] == 80 - band_for_y(200)
    assert bundle.find("play").args[0] in {sample.path for sample in bank.samples}
    engine.handle(PenUp(t_ms=50))
    engine.handle(Clear(t_ms=60))
    assert engine.drawing.meta["model_version"] == InkClassifier.version  # kept across a clear


def test_build_engine_refuses_an_empty_bank():
    with pytest.raises(SoundBankError):
        build_engine(InkClassifier(), SoundBank(()))


def test_build_session_sends_osc_takes_control_and_closes_cleanly(bank, udp_receiver):
    config = Config(osc_targets=(udp_receiver.getsockname(),), audio="local", control_port=0)
    seen = []
    parts = build_session(config, classifier=InkClassifier(), bank=bank, extra_sinks=[seen.append])
    try:
        assert parts.audio is not None and parts.control is not None and parts.matcher.bank is bank
        parts.session.post(PenDown(x=20, y=100, color="#000000", width_px=12))
        parts.session.post(PenUp())
        assert parts.session.wait_idle(5)
        first = [m.address for m in OscBundle(udp_receiver.recv(65536))]
        assert first[0] == "/pict2audio/stroke/begin" and first[-1] == "/pict2audio/play"  # onset down
        end = OscBundle(udp_receiver.recv(65536))
        assert [m.address for m in end] == ["/pict2audio/stroke/end"]
        SimpleUDPClient("127.0.0.1", parts.control.port).send_message("/pict2audio/trigger", [])
        trigger = OscBundle(udp_receiver.recv(65536))
        assert [m.address for m in trigger] == ["/pict2audio/play"]
        assert parts.session.wait_idle(5)
        assert len(seen) == 3  # extra sinks see the same bundles
    finally:
        parts.close()
        parts.close()  # idempotent


def test_a_busy_control_port_is_a_clear_error_and_nothing_is_left_running(bank):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        config = Config(osc_targets=(("127.0.0.1", 9),), audio="none", control_port=busy.getsockname()[1])
        parts = build_session(config, classifier=InkClassifier(), bank=bank, start=False)
        assert parts.audio is None
        with pytest.raises(ConfigError, match="control-port"):
            parts.start()
    assert not parts.session.running  # start() stopped (joined) the engine thread before raising


def test_a_built_session_is_out_of_the_garbage_collectors_reach(bank):
    """A full collection never walks the model, the bank and the matcher's tables in the middle of a
    performance: they are frozen once the session is built."""
    parts = build_session(Config(osc_targets=(("127.0.0.1", 9),), audio="none"), classifier=InkClassifier(),
                          bank=bank, start=False)
    try:
        tracked = gc.get_objects()
        assert not any(o is parts.bank or o is parts.engine for o in tracked)
        assert gc.get_freeze_count() > 0
    finally:
        parts.close()
