"""THE sound preprocessing on real audio files: tones of known pitch and level in every supported
format, rate, depth and channel count, and bad files of each kind."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from bridge.adapters.audio_features import (
    INPUT_SHAPE,
    UnusableAudio,
    features_for_file,
    prepare,
)
from bridge.core.audio_levels import fold_pitch, midi_to_hz


def tone(midi_note: float, *, seconds: float = 1.5, rate: int = 16_000, peak_dbfs: float = -6.0,
         harmonics: int = 6, channels: int = 1) -> np.ndarray:
    """A decaying harmonic tone, (frames, channels) float32, peak at peak_dbfs."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = midi_to_hz(midi_note)
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1) if k * f0 < rate / 2)
    x = x * np.minimum(t / 0.01, 1) * np.exp(-t * 0.8)
    x = x / np.abs(x).max() * 10 ** (peak_dbfs / 20)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_tone(path: Path, midi_note: float, **kw) -> Path:
    import soundfile as sf

    fmt_kw = {k: kw.pop(k) for k in ("subtype", "format") if k in kw}
    rate = kw.get("rate", 16_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(midi_note, **kw), rate, **fmt_kw)
    return path


def make_bad_files(folder: Path) -> dict[str, str]:
    """One file of each bad kind -> {file name: a word its skip reason must contain}."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("this is a text file, not audio\n" * 50)
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(folder / "zero_frames.flac", np.zeros(0, np.float32), 16000)
    good = write_tone(folder / "whole.wav", 72).read_bytes()
    (folder / "truncated.wav").write_bytes(good[: len(good) // 2])
    (folder / "whole.wav").unlink()
    flac = write_tone(folder / "whole.flac", 72).read_bytes()
    (folder / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    (folder / "whole.flac").unlink()
    # A WAV whose codec soundfile cannot decode (format tag 0x1234): unreadable.
    data = b"\x00\x01" * 8000
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 16000, 32000, 2, 16)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    (folder / "codec.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return {"empty.wav": "empty", "notes.wav": "not an audio file", "silent.wav": "silent",
            "zero_frames.flac": "empty", "truncated.wav": "truncated", "truncated.flac": "unreadable",
            "codec.wav": "unreadable"}


@pytest.mark.parametrize(("name", "kw"), [
    ("a.wav", {"rate": 16_000, "subtype": "PCM_16"}),
    ("b.wav", {"rate": 44_100, "subtype": "PCM_24", "channels": 2}),
    ("c.flac", {"rate": 48_000, "subtype": "PCM_16", "channels": 2}),
    ("d.ogg", {"rate": 22_050}),
    ("e.aiff", {"rate": 32_000, "subtype": "FLOAT"}),
    ("f.wav", {"rate": 8_000, "subtype": "PCM_U8"}),
    ("g.aif", {"rate": 96_000, "subtype": "PCM_32", "channels": 4, "format": "AIFF"}),
])
@pytest.mark.parametrize("note", [69, 74.0, 80])
def test_tones_of_known_pitch_and_level_in_any_format(tmp_path, name, kw, note):
    path = write_tone(tmp_path / name, note, peak_dbfs=-6.0, **kw)
    feats = features_for_file(path)
    assert feats.log_mel.shape == INPUT_SHAPE[:2] and feats.log_mel.dtype == np.float32
    assert feats.midi_note == pytest.approx(note, abs=0.25)
    assert fold_pitch(feats.midi_note) == round(note)
    assert feats.pitch_stability > 0.9
    tolerance = 1.0 if name.endswith(".ogg") or "U8" in str(kw) else 0.1  # lossy / 8-bit
    assert feats.peak_dbfs == pytest.approx(-6.0, abs=tolerance)
    assert feats.duration_s == pytest.approx(1.5, abs=0.01)
    assert feats.clip_fraction == 0.0


@pytest.mark.parametrize(("note", "folded"), [(45, 69), (57, 69), (60, 72), (86, 74), (93, 69), (40, 76)])
def test_notes_outside_the_range_keep_their_estimate_and_fold_by_octave(tmp_path, note, folded):
    feats = features_for_file(write_tone(tmp_path / "n.wav", note, harmonics=4))
    assert feats.midi_note == pytest.approx(note, abs=0.3)
    assert fold_pitch(feats.midi_note) == folded


def test_levels_follow_the_gain(tmp_path):
    quiet = features_for_file(write_tone(tmp_path / "q.wav", 72, peak_dbfs=-30.0))
    loud = features_for_file(write_tone(tmp_path / "l.wav", 72, peak_dbfs=-8.0))
    assert loud.rms_dbfs - quiet.rms_dbfs == pytest.approx(22.0, abs=0.1)
    assert loud.log_mel.max() > quiet.log_mel.max()  # the CNN input keeps absolute level


def test_leading_silence_does_not_change_the_features(tmp_path):
    x = tone(76)[:, 0]
    padded = np.concatenate([np.zeros(8000, np.float32), x])
    a, b = prepare(x, sample_rate_hz=16_000), prepare(padded, sample_rate_hz=16_000)
    assert a.midi_note == pytest.approx(b.midi_note, abs=0.05)
    assert np.abs(a.log_mel - b.log_mel).mean() < 0.05


def test_bad_files_of_each_kind_say_why(tmp_path):
    expected = make_bad_files(tmp_path)
    for name, word in expected.items():
        with pytest.raises(UnusableAudio) as err:
            features_for_file(tmp_path / name)
        assert word in err.value.reason, (name, err.value.reason)
        assert str(tmp_path / name) in str(err.value)
