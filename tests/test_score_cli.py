"""`score` and `replay` of a score on the command line: the shipped melody bounced as a score (onsets found by
librosa at the strokes' left edges), its MIDI file (one note per stroke per pass), a drawing saved in score mode
replayed as its score, and flags that do not fit."""

from __future__ import annotations

import json
from pathlib import Path

import librosa
import mido
import numpy as np
import pytest
import soundfile
from replay_helpers import EXAMPLES, run_bridge

from bridge.core.drawing import drawing_from_json
from bridge.core.score import ScoreSettings, stroke_spans

MELODY = EXAMPLES / "melody.json"
ONSET_WITHIN_MS = 5.0


def left_edges_ms(path: Path, settings: ScoreSettings, loops: int) -> list[float]:
    spans = stroke_spans(drawing_from_json(path.read_bytes()).strokes)
    return sorted((k + span.start) * settings.loop_ms for k in range(loops) for span in spans)


def onsets_ms(wav: Path) -> np.ndarray:
    """librosa's onsets of a bounce: peaks of the rise of the log energy (0.7 ms hops), each moved back to the
    energy minimum before it (where the note begins, not where its attack peaks)."""
    audio, rate = soundfile.read(wav, dtype="float32")
    hop = 32
    rms = librosa.feature.rms(y=audio, frame_length=256, hop_length=hop)[0]
    rise = np.maximum(0.0, np.diff(librosa.amplitude_to_db(rms, ref=np.max, top_db=80), prepend=-80.0))
    span = int(0.03 * rate / hop)
    frames = librosa.onset.onset_detect(onset_envelope=rise, sr=rate, hop_length=hop, backtrack=True, energy=rms,
                                        pre_max=span, post_max=span, pre_avg=3 * span, post_avg=3 * span,
                                        wait=3 * span, delta=1.0, normalize=False)
    return librosa.frames_to_time(frames, sr=rate, hop_length=hop) * 1000.0


@pytest.fixture(scope="module")
def melody_score(tmp_path_factory) -> tuple[Path, Path, str]:
    out = tmp_path_factory.mktemp("score")
    wav, mid = out / "melody.wav", out / "melody.mid"
    done = run_bridge("score", str(MELODY), "--render", str(wav), "--midi", str(mid), "--loops", "2")
    assert done.returncode == 0, done.stderr
    return wav, mid, done.stdout


def test_the_bounce_has_an_onset_at_every_strokes_left_edge(melody_score):
    wav, _, stdout = melody_score
    assert "16 notes in 2 passes of 4 s (2 bars at 120 bpm)" in stdout
    edges = left_edges_ms(MELODY, ScoreSettings(), 2)
    found = onsets_ms(wav)
    assert len(found) == len(edges) == 16
    errors = np.abs(found - np.array(edges))
    assert errors.max() <= ONSET_WITHIN_MS, errors
    audio, _ = soundfile.read(wav)
    assert np.abs(audio).max() < 1.0  # mixed without clipping


def test_the_midi_file_has_one_note_per_stroke_per_pass_at_its_left_edge(melody_score):
    _, mid, _ = melody_score
    midi = mido.MidiFile(mid)
    t_s, ons = 0.0, []
    for msg in midi:
        t_s += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            ons.append(t_s * 1000.0)
    assert ons == pytest.approx(left_edges_ms(MELODY, ScoreSettings(), 2), abs=0.6)  # a tick is 0.52 ms


def test_a_drawing_saved_in_score_mode_replays_as_its_score(tmp_path):
    doc = json.loads(MELODY.read_text())
    doc["score"] = {"seconds": 2, "loop": True}
    saved = tmp_path / "melody-score.json"
    saved.write_text(json.dumps(doc))
    wav = tmp_path / "replayed.wav"
    done = run_bridge("replay", str(saved), "--fast", "--audio", "none", "--osc", "127.0.0.1:9", "--loops", "3",
                      "--render", str(wav))
    assert done.returncode == 0, done.stderr
    assert "8 strokes, 24 notes" in done.stdout
    edges = left_edges_ms(saved, ScoreSettings.from_seconds(2), 3)
    assert np.abs(onsets_ms(wav) - np.array(edges)).max() <= ONSET_WITHIN_MS


def test_flags_win_over_the_recorded_tempo_and_bad_ones_are_one_line(tmp_path):
    done = run_bridge("score", str(MELODY), "--bpm", "60", "--bars", "1")
    assert done.returncode == 0 and "8 notes in 1 pass of 4 s (1 bars at 60 bpm)" in done.stdout, done
    bad = run_bridge("score", str(MELODY), "--seconds", "2", "--bpm", "100")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --seconds: give either --seconds or --bpm/--bars, not both"]
    slow = run_bridge("score", str(MELODY), "--bpm", "0.5")
    assert slow.returncode == 2 and "error: --bpm: expected a tempo of 1..999 bpm, got 0.5" in slow.stderr


def test_a_90_bpm_score_writes_its_tempo_and_puts_every_note_on_its_beat(tmp_path):
    mid = tmp_path / "slow.mid"
    done = run_bridge("score", str(MELODY), "--bpm", "90", "--bars", "1", "--loops", "2", "--midi", str(mid))
    assert done.returncode == 0, done.stderr
    assert "(type 1, 90 bpm)" in done.stdout, done.stdout
    midi = mido.MidiFile(mid)
    meta = midi.tracks[0]
    assert [round(mido.tempo2bpm(m.tempo), 3) for m in meta if m.type == "set_tempo"] == [90.0]
    assert [(m.numerator, m.denominator) for m in meta if m.type == "time_signature"] == [(4, 4)]
    beats = []
    for track in midi.tracks[1:]:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                beats.append(tick / midi.ticks_per_beat)
    spans = stroke_spans(drawing_from_json(MELODY.read_bytes()).strokes)
    expected = sorted((k + span.start) * 4 for k in range(2) for span in spans)  # a pass is one bar: 4 beats
    assert sorted(beats) == pytest.approx(expected, abs=1 / midi.ticks_per_beat)  # within a tick of its beat
    t_s, ons = 0.0, []
    for msg in midi:  # mido's own tick -> second conversion, through the file's tempo
        t_s += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            ons.append(t_s * 1000.0)
    assert ons == pytest.approx(left_edges_ms(MELODY, ScoreSettings(bpm=90, bars=1), 2), abs=0.6)
