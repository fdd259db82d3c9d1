"""End to end with the real peer: a drawing through the engine, OSC over loopback, Pure Data prints the play.

Pd runs patches/pict2audio.pd headless (`pd -nogui -noaudio -stderr -open ...`); the only change to the
patch is its port (a free one instead of 9000, so tests never collide). The bank is real WAV files
written to tmp with known labels; the classifier is the project's committed image model.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from osc_peers import PD_PATCH, REPO, PeerProcess, free_udp_port, require_binary, wav_bank

from bridge.adapters.image_classifier import load_image_classifier
from bridge.adapters.osc_out import OscSender
from bridge.app.session import build_engine
from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.labels import TIMBRES, band_center_y
from bridge.core.replay import session_events

log = logging.getLogger(__name__)


def code_drawing() -> Drawing:
    """One stroke across the pitch band of A#4 (70), then one across C5 (72), medium black pen."""
    strokes = []
    t_ms = 0.0
    for note in (70, 72):
        y = band_center_y(note)
        points = []
        for i in range(12):
            points.append(Point(20 + 30 * i, y + (i % 2), t_ms))
            t_ms += 12
        strokes.append(Stroke(tuple(points), "#000000", 15.0))
        t_ms += 200
    return Drawing(tuple(strokes))


def example_drawings() -> list[tuple[str, Drawing]]:
    found = [(p.name, drawing_from_json(p.read_text())) for p in sorted((REPO / "data" / "drawings").glob("*.json"))]
    return [("code", code_drawing()), *found]


def patch_on_port(tmp_path: Path, port: int) -> Path:
    text = PD_PATCH.read_text()
    assert "netreceive -u -b 9000;" in text
    patched = tmp_path / "pict2audio.pd"
    patched.write_text(text.replace("netreceive -u -b 9000;", f"netreceive -u -b {port};"))
    voice = PD_PATCH.with_name("pict2audio-voice.pd")  # the [clone]d voice abstraction goes beside it
    (tmp_path / voice.name).write_text(voice.read_text())
    return patched


def wait_until_bound(port: int, pd: PeerProcess, *, timeout_s: float = 15.0) -> None:
    """Pd listens once its [netreceive] has bound the port: with -verbose it prints `listening on PORT`."""
    if not pd.wait_for(lambda line: line.endswith(f"listening on {port}"), timeout_s=timeout_s):
        state = "exited" if pd.proc.poll() is not None else "is running"
        pytest.fail(f"pd did not listen on UDP {port} within {timeout_s} s ({state}): {pd.output()}")


@pytest.fixture
def pd(tmp_path):
    binary = require_binary("pd", "puredata-core")
    port = free_udp_port()
    proc = PeerProcess([binary, "-nogui", "-noaudio", "-stderr", "-verbose",  # -verbose: says when it listens
                        "-open", str(patch_on_port(tmp_path, port))])
    try:
        wait_until_bound(port, proc)
        yield proc, port
    finally:
        proc.stop()


def test_pure_data_prints_every_play_message_the_bridge_sends(pd, tmp_path):
    proc, port = pd
    bank = wav_bank(tmp_path / "bank", timbres=TIMBRES)
    sender = OscSender([("127.0.0.1", port)])
    classifier = load_image_classifier()
    expected: list[str] = []
    for name, drawing in example_drawings():
        engine = build_engine(classifier, bank)
        assert set(engine.drawing.meta) == {"model_version", "bank_version", "bridge_version"}
        for event in session_events(drawing):
            bundle = engine.handle(event)
            if bundle is not None and bundle.messages:
                sender(bundle)
                play = bundle.find("play")
                if play is not None:
                    path, pitch, volume, timbre, stroke_id = play.args
                    assert Path(path).is_absolute() and Path(path).exists()
                    expected.append(f"pict2audio-play: {path} {pitch} {volume} {timbre} {stroke_id}")
            time.sleep(0.001)  # pacing: a hand draws slower than this; keeps Pd's socket buffer small
        assert engine.errors == [], (name, engine.errors)
    sender.close()
    assert len(expected) >= 2
    printed = proc.wait_for(lambda line: line.startswith("pict2audio-play:"), count=len(expected), timeout_s=20)
    assert printed == expected
    problems = [line for line in proc.output() if "error" in line.lower() or "can't" in line.lower()]
    assert problems == []
    log.info("Pd printed: %s", printed)
