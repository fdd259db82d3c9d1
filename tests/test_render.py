"""The offline bounce: onsets at their sample positions, levels kept, mixed rates resampled, no clipping."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile

from bridge.adapters.render_wav import CUT_FADE_MS, PEAK_CEILING_DBFS, Onset, play_onsets, render_wav
from bridge.core.bank import Match, Sample
from bridge.core.labels import Labels
from bridge.core.protocol import Bundle, clear_message, play_message, stroke_end_message, voice_stop_message

OUT_RATE_HZ = 44100


def burst(path: Path, *, rate_hz: int, amplitude: float, freq_hz: float = 440.0, length_s: float = 0.2,
          channels: int = 1) -> Path:
    """A decaying sine burst with a 1 ms attack: a sharp onset that resamples without ringing."""
    t = np.arange(int(rate_hz * length_s)) / rate_hz
    attack = np.clip(t / 0.001, 0.0, 1.0)
    y = amplitude * np.sin(2 * np.pi * freq_hz * t + np.pi / 2) * np.exp(-t * 4) * attack
    data = np.repeat(y[:, None], channels, axis=1) if channels > 1 else y
    soundfile.write(path, data.astype(np.float32), rate_hz, subtype="FLOAT")
    return path


def detect_onsets(audio: np.ndarray, *, rate_hz: int, threshold: float = 0.01, gap_s: float = 0.05) -> list[int]:
    """Sample indices where the signal rises above `threshold` after at least `gap_s` of silence."""
    loud = np.flatnonzero(np.max(np.abs(audio.reshape(len(audio), -1)), axis=1) > threshold)
    if not len(loud):
        return []
    starts = [int(loud[0])]
    starts += [int(b) for a, b in itertools.pairwise(loud) if b - a > gap_s * rate_hz]
    return starts


def test_onsets_and_levels_with_mixed_sample_rates(tmp_path: Path):
    # Three samples at three rates (one stereo), each played at a known drawing time.
    files = {
        "a": burst(tmp_path / "a.wav", rate_hz=16000, amplitude=0.5),
        "b": burst(tmp_path / "b.wav", rate_hz=22050, amplitude=0.25, channels=2),
        "c": burst(tmp_path / "c.wav", rate_hz=48000, amplitude=0.125),
    }
    plan = [(0.0, "a"), (350.0, "b"), (731.5, "c"), (1200.0, "a")]
    report = render_wav([Onset(t, str(files[k])) for t, k in plan], tmp_path / "out.wav",
                        sample_rate_hz=OUT_RATE_HZ, subtype="float")
    audio, rate = soundfile.read(tmp_path / "out.wav", always_2d=True)
    assert rate == OUT_RATE_HZ and audio.shape[1] == 2  # one stereo sample: the whole bounce is stereo
    assert report.channels == 2 and report.onsets == 4 and report.gain_db == 0.0

    found = detect_onsets(audio, rate_hz=rate)
    expected = [round(t * rate / 1000) for t, _ in plan]
    assert len(found) == len(expected)
    assert max(abs(f - e) for f, e in zip(found, expected)) <= 0.002 * rate  # within 2 ms
    for (t_ms, key), start in zip(plan, expected):
        peak = np.max(np.abs(audio[start : start + int(0.02 * rate)]))
        want = {"a": 0.5, "b": 0.25, "c": 0.125}[key]
        assert 20 * np.log10(peak / want) == pytest.approx(0.0, abs=0.5), (t_ms, key)  # level kept (±0.5 dB)
    assert report.duration_s == pytest.approx(1.2 + 0.2, abs=0.01)  # last onset + the sample's length
    assert report.peak_dbfs == pytest.approx(20 * np.log10(0.5), abs=0.5)


def test_a_mix_that_would_clip_is_normalised_and_says_so(tmp_path: Path):
    loud = burst(tmp_path / "loud.wav", rate_hz=OUT_RATE_HZ, amplitude=0.9)
    report = render_wav([Onset(0.0, str(loud)), Onset(0.0, str(loud)), Onset(0.0, str(loud))],
                        tmp_path / "out.wav")
    audio, _ = soundfile.read(tmp_path / "out.wav", dtype="int16", always_2d=True)
    assert np.max(np.abs(audio.astype(np.int32))) < 32767  # no clipped samples in the 16-bit file
    assert report.peak_dbfs == pytest.approx(PEAK_CEILING_DBFS, abs=0.05)
    assert report.gain_db == pytest.approx(PEAK_CEILING_DBFS - 20 * np.log10(2.7), abs=0.1)
    assert "normalised" in report.summary() and "dBFS" in report.summary()


def test_a_quiet_mix_is_left_alone(tmp_path: Path):
    quiet = burst(tmp_path / "q.wav", rate_hz=OUT_RATE_HZ, amplitude=0.1)
    report = render_wav([Onset(10.0, str(quiet))], tmp_path / "out.wav")
    assert report.gain_db == 0.0 and "no gain applied" in report.summary()
    assert report.peak_dbfs == pytest.approx(-20.0, abs=0.1)


def test_play_onsets_come_from_play_messages_only(tmp_path: Path):
    sample = Sample(str(tmp_path / "x.wav"), Labels(72, "med", "flute"))
    bundles = [
        (100.0, Bundle((stroke_end_message(1),), 100.0)),
        (250.0, Bundle((play_message(Match(sample, 1.0), 2), stroke_end_message(2)), 250.0)),
    ]
    assert play_onsets(bundles, offset_ms=-100.0) == [Onset(150.0, sample.path)]


def test_a_voice_is_cut_by_its_retrigger_its_stop_and_a_clear(tmp_path: Path):
    def play(name: str, voice: int):
        return play_message(Match(Sample(str(tmp_path / name), Labels(72, "med", "flute")), 1.0), voice)

    bundles = [
        (0.0, Bundle((play("a.wav", 1),), 0.0)),
        (10.0, Bundle((play("b.wav", 2),), 10.0)),
        (20.0, Bundle((play("c.wav", 1),), 20.0)),  # voice 1 retriggered: a.wav is cut
        (30.0, Bundle((voice_stop_message(2),), 30.0)),
        (40.0, Bundle((play("d.wav", 3),), 40.0)),
        (50.0, Bundle((clear_message(3),), 50.0)),
    ]
    assert [(o.path.rsplit("/", 1)[1], o.t_ms, o.cut_ms) for o in play_onsets(bundles)] == [
        ("a.wav", 0.0, 20.0), ("b.wav", 10.0, 30.0), ("c.wav", 20.0, 50.0), ("d.wav", 40.0, 50.0)]


def test_a_cut_voice_fades_out_at_its_cut(tmp_path: Path):
    tone = burst(tmp_path / "t.wav", rate_hz=OUT_RATE_HZ, amplitude=0.5, length_s=1.0)
    report = render_wav([Onset(0.0, str(tone), cut_ms=200.0)], tmp_path / "out.wav", sample_rate_hz=OUT_RATE_HZ)
    assert report.duration_s == pytest.approx(0.2 + CUT_FADE_MS / 1000, abs=0.002)


def test_an_unreadable_sample_is_left_out_and_reported(tmp_path: Path):
    good = burst(tmp_path / "g.wav", rate_hz=OUT_RATE_HZ, amplitude=0.2)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    report = render_wav([Onset(0.0, str(good)), Onset(50.0, str(bad))], tmp_path / "out.wav")
    assert report.missing == (str(bad),) and report.onsets == 1
    assert not list(tmp_path.glob(".out.wav.*"))  # no temporary file left behind


def test_rendering_is_faster_than_real_time(tmp_path: Path):
    sample = burst(tmp_path / "s.wav", rate_hz=16000, amplitude=0.05, length_s=1.0)
    onsets = [Onset(100.0 * i, str(sample)) for i in range(100)]  # 10.9 s of audio
    report = render_wav(onsets, tmp_path / "out.wav")
    assert report.duration_s == pytest.approx(9.9 + 1.0, abs=0.01)
    assert report.render_s < report.duration_s / 10
