"""THE sound preprocessing on real audio files: tones of known pitch and level in every supported
format, rate, depth and channel count, and bad files of each kind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_files import (
    file_permissions_enforced,
    huge_claim_flac_bytes,
    make_bad_files,
    non_finite_wav_bytes,
    tone,
    tone_bytes,
    traced_peak_bytes,
    wav_bytes,
    write_bytes,
    write_tone,
)

from bridge.adapters.audio_features import (
    INPUT_SHAPE,
    UnusableAudio,
    features_for_file,
    prepare,
)
from bridge.core.audio_levels import fold_pitch


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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_samples_are_refused_with_a_reason(tmp_path, value):
    path = tmp_path / "bad.wav"
    path.write_bytes(non_finite_wav_bytes(3, value=value))
    with pytest.raises(UnusableAudio, match=r"not finite \(3 NaN or infinite samples"):
        features_for_file(path)
    audio = tone(72)[:, 0]
    audio[100] = value
    with pytest.raises(UnusableAudio, match="not finite"):
        prepare(audio, sample_rate_hz=16_000)


def test_float_audio_far_beyond_full_scale_is_refused(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(wav_bytes(tone(72)[:, 0] * np.float32(1e30), subtype="FLOAT"))
    with pytest.raises(UnusableAudio, match=r"not audio \(peak \+594 dBFS"):
        features_for_file(path)


@pytest.mark.parametrize("claimed_frames", [(1 << 36) - 1, 1 << 30])
def test_a_header_claiming_huge_sizes_costs_no_memory(tmp_path, claimed_frames):
    path = tmp_path / "liar.flac"
    path.write_bytes(huge_claim_flac_bytes(claimed_frames))

    def read() -> str:
        with pytest.raises(UnusableAudio) as err:
            features_for_file(path)
        return err.value.reason

    reason, peak = traced_peak_bytes(read)
    assert reason and peak < 32 * 2**20, (reason, peak)  # a reader trusting the header asks for >= 4 GiB


def test_a_name_that_is_not_utf8_is_read(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav")
    write_bytes(path, tone_bytes(74))
    feats = features_for_file(os.fsdecode(path))
    assert feats.midi_note == pytest.approx(74, abs=0.25)


def test_a_file_the_os_refuses_is_marked_to_be_tried_again(tmp_path):
    path = write_tone(tmp_path / "locked.wav", 72)
    path.chmod(0)
    try:
        with file_permissions_enforced(), pytest.raises(UnusableAudio) as err:
            features_for_file(path)
    finally:
        path.chmod(0o644)
    assert err.value.reason.startswith("unreadable (Permission denied") and err.value.retry
    make_bad_files(tmp_path / "bad")
    with pytest.raises(UnusableAudio) as content:
        features_for_file(tmp_path / "bad" / "notes.wav")
    assert not content.value.retry  # bad content stays bad: remembered, not re-read


def test_a_long_file_is_read_twice_and_gives_the_features_of_one_read(tmp_path, monkeypatch):
    """Past RETAIN_SECONDS the 16 kHz audio is not kept: a second pass decodes only the head after the leading
    silence. Here the loudest part comes late (the trim threshold follows the whole file's peak), the file is
    stereo 44.1 kHz and read in small blocks: the features equal those of a single read."""
    import soundfile as sf

    from bridge.adapters import audio_features

    quiet, loud = tone(69, seconds=2.0, rate=44_100, peak_dbfs=-50.0, channels=2), tone(
        76, seconds=2.0, rate=44_100, peak_dbfs=-3.0, channels=2)
    audio = np.concatenate([np.zeros((30_000, 2), np.float32), quiet, loud])
    sf.write(tmp_path / "late.wav", audio, 44_100, subtype="FLOAT")
    once = features_for_file(tmp_path / "late.wav")
    monkeypatch.setattr(audio_features, "RETAIN_SECONDS", 0.5)
    monkeypatch.setattr(audio_features, "READ_BLOCK_SAMPLES", 3_001)
    twice = features_for_file(tmp_path / "late.wav")
    assert np.array_equal(once.log_mel, twice.log_mel)
    assert (once.f0_hz, once.pitch_stability, once.peak_dbfs, once.clipped_samples, once.duration_s) == (
        twice.f0_hz, twice.pitch_stability, twice.peak_dbfs, twice.clipped_samples, twice.duration_s)
    assert once.rms_dbfs == pytest.approx(twice.rms_dbfs, abs=1e-9)  # float64 sums, per block
    assert once.midi_note == pytest.approx(76, abs=0.1)  # the loud note: the quiet one was trimmed as silence


def test_a_ten_minute_recording_is_analysed_in_bounded_memory(tmp_path):
    """A 3-minute 96 kHz stereo file (138 MB of float32 decoded) costs about what a 4 s note costs: the peak
    resident memory (VmHWM) of a process labelling it is measured against the same for a short note."""
    import json
    import subprocess

    from osc_peers import REPO

    from benchmarks.figures.index import write_long_file, write_notes

    long_file = write_long_file(tmp_path / "long.wav", 180.0)
    (tmp_path / "short").mkdir()
    short_file = write_notes(tmp_path / "short", 1)[0]
    child = ("import json, sys\n"
             "from bridge.adapters.audio_features import features_for_file\n"
             "f = features_for_file(sys.argv[1])\n"
             "hwm = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
             "print(json.dumps({'peak_kb': hwm, 'midi_note': f.midi_note, 'duration_s': f.duration_s}))")

    def run(path):
        proc = subprocess.run([sys.executable, "-c", child, str(path)], cwd=REPO, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout)

    long, short = run(long_file), run(short_file)
    assert long["duration_s"] == pytest.approx(180.0) and long["midi_note"] == pytest.approx(57.0, abs=0.5)
    grown_mb = (long["peak_kb"] - short["peak_kb"]) / 1024
    assert grown_mb < 40, (long, short)  # decoding it whole would take 138 MB, its 16 kHz mono 11.5 MB more


@pytest.fixture(scope="module")
def real_files(shared_data, tmp_path_factory) -> list[Path]:
    """NSynth notes (16 kHz mono) and GM notes rendered at 44.1 kHz stereo and 22.05 kHz, low to high."""
    from gm_render import FLUIDR3, Note, render_notes

    folder = tmp_path_factory.mktemp("real")
    nsynth = sorted((shared_data / "nsynth_subset" / "validation").glob("*.wav"))[::6]
    gm = [Note(0, program, note) for program in (0, 40, 52, 73) for note in (36, 55, 74, 93)]
    return [*nsynth, *render_notes(folder / "44k", gm, soundfont=FLUIDR3),
            *render_notes(folder / "22k", gm[::2], soundfont=FLUIDR3, rate=22_050, hold_s=0.3, slot_s=0.8)]


def librosa_features(path: Path) -> tuple[np.ndarray, float | None, float]:
    """(log-mel, f0, stability) as librosa 0.11 computes them with the parameters of audio_features: the
    reference the models were trained on."""
    import librosa
    import soundfile as sf

    from bridge.adapters import audio_features as af

    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != af.SAMPLE_RATE_HZ:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=af.SAMPLE_RATE_HZ, res_type="soxr_hq")
    mags = np.abs(mono)
    start = int(np.argmax(mags >= mags.max() * 10 ** (-af.TRIM_BELOW_PEAK_DB / 20)))
    mono = mono[max(0, start - 160):]
    clip = np.pad(mono[:32_000], (0, max(0, 32_000 - mono.size)))
    spec = np.abs(librosa.stft(clip, n_fft=af.N_FFT, hop_length=af.HOP_LENGTH, window="hann", center=True)) ** 2
    spec /= (af.N_FFT / 4) ** 2
    basis = librosa.filters.mel(sr=af.SAMPLE_RATE_HZ, n_fft=af.N_FFT, n_mels=af.N_MELS, fmin=af.FMIN_HZ,
                                fmax=af.FMAX_HZ, norm=None)
    log_mel = 10 * np.log10(np.maximum(basis @ spec, 1e-10)) / 50
    seg = af.yin_segment(mono)
    f0 = librosa.yin(seg, fmin=af.YIN_FMIN_HZ, fmax=af.YIN_FMAX_HZ, sr=af.SAMPLE_RATE_HZ, frame_length=af.YIN_FRAME,
                     hop_length=af.YIN_HOP)
    rms = librosa.feature.rms(y=seg, frame_length=af.YIN_FRAME, hop_length=af.YIN_HOP)[0]
    loud = 20 * np.log10(np.maximum(rms, 1e-9)) >= 20 * np.log10(np.maximum(rms, 1e-9)).max() - af.YIN_TOP_DB
    return log_mel, *af.vote_f0(af.PitchTrack(f0[loud], rms[loud], np.zeros(int(loud.sum()))))


def test_the_preprocessing_reproduces_librosa_on_real_notes(real_files):
    """The numpy spectrogram and YIN equal librosa's (the models' training input): log-mel within 0.01 dB,
    the same f0 and stability."""
    import librosa

    from bridge.adapters.audio_features import mel_filterbank

    reference = librosa.filters.mel(sr=16_000, n_fft=1024, n_mels=96, fmin=40.0, fmax=8_000.0, norm=None)
    assert np.abs(mel_filterbank() - reference).max() < 1e-7
    for path in real_files:
        ours = features_for_file(path)
        log_mel, f0, stability = librosa_features(path)
        assert np.abs(ours.log_mel - log_mel).max() * 50 < 0.01, path.name
        assert ours.f0_hz == pytest.approx(f0, rel=1e-9) and ours.pitch_stability == pytest.approx(stability), path
