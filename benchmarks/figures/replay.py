"""`replay_late_ms`: how late a `--speed 1` replay hands each OSC bundle to the outputs.

Measured: `replay_drawing` of the example `data/drawings/scale.json` (12 strokes, 5.2 s) with the
committed image model and the default bank, at speed 1, with a real OSC sender to a loopback port.
For every bundle: when it reached the outputs minus when it was due, i.e. when the live session sent
it (its drawing time plus the engine's work on it, see `bridge.app.replayer`); the figure the `replay`
command prints. No baseline: the baseline approach has no replay. The end-to-end comparison with a
live session (kernel receive times of both OSC streams) is the golden test, quoted in docs/replay.md.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from benchmarks.figures import Figure, percentiles_ms

DRAWING = Path(__file__).resolve().parents[2] / "data" / "drawings" / "scale.json"


def measure(*, quick: bool) -> list[Figure]:
    from bridge.adapters.drawing_files import read_drawing
    from bridge.app.config import Config
    from bridge.app.replayer import replay_drawing
    from bridge.app.session import build_engine, build_session

    drawing = read_drawing(DRAWING)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink_socket:
        sink_socket.bind(("127.0.0.1", 0))  # receives and drops the datagrams
        config = Config(osc_targets=(("127.0.0.1", sink_socket.getsockname()[1]),), audio="none")
        parts = build_session(config, start=False)
        try:
            with_bundle: list[bool] = []
            engine = build_engine(parts.classifier, parts.bank, matcher=parts.matcher)
            result = replay_drawing(drawing, engine, parts.session.sinks, speed=1.0, on_event=lambda event, bundle:
                                    with_bundle.append(bundle is not None and bool(bundle.messages)))
        finally:
            parts.close()
    late_ms = [late for late, sent in zip(result.lateness_ms, with_bundle) if sent]
    return [Figure(
        "replay_late_ms", "replay --speed 1: bundle sent after the live session's time", "ms", percentiles_ms(late_ms),
        notes={"drawing": DRAWING.name, "bundles": len(late_ms), "max": round(max(late_ms), 3),
               "load_avg_1min": round(os.getloadavg()[0], 2), "budget_ms": 2.0},
    )]
