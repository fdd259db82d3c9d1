"""`score_jitter_ms`: how far from its schedule the live score sends each note, over many loops.

Measured: the example `data/drawings/melody.json` (8 strokes) played as a score at 120 bpm, one bar a pass
(2 s), for 50 passes (5 with --quick), through a real session: the committed image model, the default bank,
the scheduler thread (bridge/app/score_player.py), the engine thread and a real OSC sender to a loopback
port. For every note (play) bundle: when the OSC datagram had been sent (a sink right after the sender)
minus when it was scheduled to be sent (its due time; the look-ahead is 0). `drift_ms`: the median of that
lateness over the last 5 passes minus its median over passes 1-5 (0 when nothing accumulates; pass 0 is left
out: it classifies the opened drawing's strokes, once each); `schedule_drift_ms`: the last pass's first due
time minus the first's, minus the passes between them.
No baseline: the baseline approach has no score.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
from pathlib import Path

from benchmarks.figures import Figure, percentiles_ms

DRAWING = Path(__file__).resolve().parents[2] / "data" / "drawings" / "melody.json"
BPM, BARS = 120.0, 1
LOOPS, QUICK_LOOPS = 50, 5


def measure(*, quick: bool) -> list[Figure]:
    from bridge.adapters.drawing_files import read_drawing
    from bridge.app.config import Config
    from bridge.app.session import attach_score, build_session
    from bridge.core.events import LoadDrawing, TransportControl
    from bridge.core.score import ScoreSettings, stroke_spans

    drawing = read_drawing(DRAWING)
    loops = QUICK_LOOPS if quick else LOOPS
    wanted = loops * len(stroke_spans(drawing.strokes))
    settings = ScoreSettings(bpm=BPM, bars=BARS)
    sent: list[tuple[float, float]] = []  # (session ms when sent, due t_ms) of every note
    done = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink_socket:
        sink_socket.bind(("127.0.0.1", 0))  # receives and drops the datagrams
        config = Config(osc_targets=(("127.0.0.1", sink_socket.getsockname()[1]),), audio="none", oscquery=False)
        parts = build_session(config, start=False)
        session = parts.session

        def probe(bundle) -> None:  # right after the OSC sender: the datagram has just gone out
            if bundle.find("play") is not None:
                sent.append((session.now_ms(), bundle.t_ms))
                if len(sent) >= wanted:
                    done.set()

        session.sinks.insert(session.sinks.index(parts.sender) + 1, probe)
        player = attach_score(parts, settings)
        try:
            parts.start()
            session.post(LoadDrawing(drawing=drawing))
            session.wait_idle(5.0)
            player.control(TransportControl(action="start"))
            done.wait(loops * settings.loop_ms / 1000.0 + 30.0)
            player.control(TransportControl(action="stop"))
        finally:
            parts.close()
    late_ms = [at - due for at, due in sent[:wanted]]
    per_pass = len(stroke_spans(drawing.strokes))
    window = max(1, min(5, (loops - 1) // 2)) * per_pass
    drift_ms = statistics.median(late_ms[-window:]) - statistics.median(late_ms[per_pass:per_pass + window])
    schedule_drift_ms = (sent[wanted - per_pass][1] - sent[0][1]) - (loops - 1) * settings.loop_ms
    return [Figure(
        "score_jitter_ms", "score: note sent after its scheduled time", "ms", percentiles_ms(late_ms),
        notes={"drawing": DRAWING.name, "loops": loops, "notes": len(late_ms), "bpm": BPM, "bars": BARS,
               "max": round(max(late_ms), 3), "min": round(min(late_ms), 3), "drift_ms": round(drift_ms, 3),
               "schedule_drift_ms": round(schedule_drift_ms, 6), "load_avg_1min": round(os.getloadavg()[0], 2)},
    )]
