"""End to end with the real peer: a drawing through the engine, OSC over loopback, Pure Data prints the play.

Pd runs patches/pict2audio.pd headless (`pd -nogui -noaudio -stderr -open ...`); the only change to the
patch is its port (a free one instead of 9000, so tests never collide). The bank is real WAV files
written to tmp with known labels; the classifier is the project's image model when it can be loaded.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from osc_peers import PD_PATCH, REPO, PeerProcess, free_udp_port, require_binary, wav_bank

from bridge.adapters.osc_out import OscSender
from bridge.app import build_engine
from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.labels import PITCHES, TIMBRES, Prediction, band_center_y, band_for_y, timbre_for_rgb
from bridge.core.replay import session_events

log = logging.getLogger(__name__)


class InkClassifier:
    """Deterministic stand-in used only when the image model cannot be loaded here: pitch from where the
    ink is, timbre from its colour, volume 'med'."""

    version = "test-ink-classifier"

    def classify(self, image: np.ndarray) -> Prediction:
        ink = image.min(axis=2) < 200
        rows = np.nonzero(ink.any(axis=1))[0]
        p_pitch = np.full(12, 0.01)
        p_timbre = np.full(8, 0.01)
        if rows.size:
            p_pitch[PITCHES.index(80 - band_for_y(float(rows.mean())))] = 0.89
            rgb = tuple(int(c) for c in image[ink].mean(axis=0))
            p_timbre[TIMBRES.index(timbre_for_rgb(rgb))] = 0.93
        return Prediction.from_probabilities(p_pitch, [0.1, 0.8, 0.1], p_timbre)


def load_classifier():
    try:
        from bridge.adapters.image_classifier import load_image_classifier

        return load_image_classifier()
    except Exception as exc:  # not written yet, or no trained model on this machine
        log.warning("image model not available (%s): using the ink stand-in", exc)
        return InkClassifier()


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
    return patched


def wait_until_bound(port: int, pd: PeerProcess, *, timeout_s: float = 15.0) -> None:
    """Pd listens once our own bind to the same UDP port fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert pd.proc.poll() is None, f"pd exited: {pd.output()}"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    pytest.fail(f"pd did not listen on UDP {port} within {timeout_s} s: {pd.output()}")


@pytest.fixture
def pd(tmp_path):
    binary = require_binary("pd", "puredata-core")
    port = free_udp_port()
    proc = PeerProcess([binary, "-nogui", "-noaudio", "-stderr", "-open", str(patch_on_port(tmp_path, port))])
    try:
        wait_until_bound(port, proc)
        yield proc, port
    finally:
        proc.stop()


def test_pure_data_prints_every_play_message_the_bridge_sends(pd, tmp_path):
    proc, port = pd
    bank = wav_bank(tmp_path / "bank", timbres=TIMBRES)
    sender = OscSender([("127.0.0.1", port)])
    classifier = load_classifier()
    expected: list[str] = []
    for name, drawing in example_drawings():
        engine = build_engine(classifier, bank)
        assert set(engine.drawing.meta) == {"model_version", "bank_version", "bridge_version"}
        for call in session_events(drawing):
            bundle = getattr(engine, call.event)(**call.kwargs)
            if bundle is not None and bundle.messages:
                sender(bundle)
                play = bundle.find("play")
                if play is not None:
                    path, pitch, volume, timbre = play.args
                    assert Path(path).is_absolute() and Path(path).exists()
                    expected.append(f"pict2audio-play: {path} {pitch} {volume} {timbre}")
            time.sleep(0.001)  # a hand draws slower than this; keeps Pd's socket buffer small
        assert engine.errors == [], (name, engine.errors)
    sender.close()
    assert len(expected) >= 2
    printed = proc.wait_for(lambda line: line.startswith("pict2audio-play:"), timeout_s=10)
    deadline = time.monotonic() + 10
    while len(printed) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
        printed = [line for line in proc.output() if line.startswith("pict2audio-play:")]
    assert printed == expected
    problems = [line for line in proc.output() if "error" in line.lower() or "can't" in line.lower()]
    assert problems == []
    log.info("Pd printed: %s", printed)
