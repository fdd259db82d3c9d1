"""The canvas benchmark's own parts: when a datagram arrived, and the bank of long notes that keeps 16 voices
sounding (the figures themselves are measured by `run_bridge.py bench`, never asserted)."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time

import pytest
import soundfile as sf
from conftest import REPO

from benchmarks.figures.canvas import BENCH_NOTE_REPEATS, long_note_bank, receive_timed, timed_receiver
from bridge.adapters.default_bank import default_bank


def test_a_datagram_arrives_while_it_is_sent_and_before_it_is_read():
    sock, arrival = timed_receiver()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(5.0)
        before = time.perf_counter()
        sender.sendto(b"/pict2audio/stroke/end", sock.getsockname())  # loopback delivers inside sendto
        after = time.perf_counter()
        data, arrived, received = receive_timed(sock)
    finally:
        sender.close()
        sock.close()
    assert data == b"/pict2audio/stroke/end"
    if sys.platform.startswith("linux"):
        assert arrival == "kernel receive timestamp"
        assert before - 0.001 <= arrived <= after + 0.001  # the clocks are read apart: 1 ms of slack
    assert arrived <= received


@pytest.mark.slow
def test_the_long_note_bank_is_the_default_bank_with_every_note_repeated(tmp_path):
    bank, long = default_bank(), long_note_bank(tmp_path)
    assert [s.labels for s in long.samples] == [s.labels for s in bank.samples]
    for short_sample, long_sample in zip(bank.samples[::37], long.samples[::37]):
        short_info, long_info = sf.info(short_sample.path), sf.info(long_sample.path)
        assert long_info.frames == BENCH_NOTE_REPEATS * short_info.frames
        assert long_info.samplerate == short_info.samplerate
        assert long_sample.path.startswith(str(tmp_path))


@pytest.mark.slow
def test_bench_canvas_json_reports_the_latencies_at_16_voices():
    proc = subprocess.run([sys.executable, "run_bridge.py", "bench", "--json", "--quick", "--only", "canvas"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    for key in ("stroke_to_osc_ms", "pen_down_to_play_ms", "frame_ms"):
        assert all(math.isfinite(out[key][q]) and out[key][q] > 0 for q in ("p50", "p99")), key
    # 200 events are measured; a stroke has four, one of them the pen down (an event whose datagram did
    # not come within 0.5 s is counted as missed instead)
    assert out["stroke_to_osc_ms"]["n"] == 200
    assert abs(out["pen_down_to_play_ms"]["n"] - 50) <= out["stroke_to_osc_ms_missed"]
    assert out["stroke_to_osc_ms_session"].startswith("committed model + default bank")
    assert out["stroke_to_osc_ms_preloaded"] in (True, False)
    calls = out["stroke_to_osc_ms_model_calls_by_width"]  # a pen down and two moves of every stroke classify
    assert set(calls) == {"28", "52", "76", "100"} and sum(calls.values()) >= 150 - out["stroke_to_osc_ms_missed"]
    assert out["frame_ms_voice_limit"] == 16 and out["frame_ms_voices_sounding_p50"] == 16
    if sys.platform.startswith("linux"):
        assert out["stroke_to_osc_ms_arrival"] == "kernel receive timestamp"
        assert 0.0 <= out["stroke_to_osc_ms_host_stolen_percent"] < 100.0
