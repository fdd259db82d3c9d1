"""Pure level and pitch helpers (bridge.core.audio_levels), the level rule on a sample library's formats,
and the import weight of the sound modules."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import REPO

from bridge.core.audio_levels import (
    apply_gain_scheme,
    fold_pitch,
    gain_to_db,
    hz_to_midi,
    level_descriptors,
    midi_to_hz,
    volume_from_levels,
)
from bridge.core.labels import VOLUMES


@pytest.mark.parametrize(("note", "folded"), [(69, 69), (80, 80), (81, 69), (68, 80), (57, 69), (48, 72), (96.4, 72),
                                              (68.6, 69), (80.49, 80), (23, 71)])
def test_fold_pitch_keeps_the_pitch_class(note, folded):
    assert fold_pitch(note) == folded
    assert (folded - round(note)) % 12 == 0


def test_midi_hz_round_trip():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert hz_to_midi(880.0) == pytest.approx(81.0)
    for note in (21.0, 69.5, 80.0, 108.0):
        assert hz_to_midi(midi_to_hz(note)) == pytest.approx(note)
    with pytest.raises(ValueError):
        hz_to_midi(0.0)


def test_gain_scheme_follows_spec_3():
    med = 0.5 * np.sin(np.linspace(0, 200 * math.pi, 16000)).astype(np.float32)
    low, high = apply_gain_scheme(med, "low"), apply_gain_scheme(med, "high")
    assert gain_to_db(np.abs(low).max()) - gain_to_db(np.abs(med).max()) == pytest.approx(-22.0, abs=0.01)
    assert np.abs(high).max() == 1.0 and level_descriptors(high)["clip_fraction"] > 0.3
    stereo = np.stack([high, med], axis=1)
    assert level_descriptors(stereo)["clipped_samples"] == level_descriptors(high)["clipped_samples"]
    with pytest.raises(ValueError):
        apply_gain_scheme(med, "loud")


def test_level_descriptors_of_a_full_scale_sine():
    sine = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    levels = level_descriptors(sine)
    assert levels["rms_dbfs"] == pytest.approx(-3.01, abs=0.02)
    assert levels["peak_dbfs"] == pytest.approx(0.0, abs=0.01)
    assert level_descriptors(np.zeros(0))["peak_dbfs"] == -120.0


@pytest.mark.parametrize(("rms", "peak", "clipped", "expected"), [
    (-45.0, -25.0, 0, "low"), (-20.0, -3.0, 0, "med"), (-8.0, 0.0, 3000, "high"), (-25.0, 0.0, 2, "high"),
    (-30.0, -8.0, 0, "med"), (-12.0, 0.0, 1, "med"), (-2.0, -0.5, 0, "high"),
])
def test_volume_rule(rms, peak, clipped, expected):
    volume, confidence = volume_from_levels(rms_dbfs=rms, peak_dbfs=peak, clipped_samples=clipped)
    assert volume == expected
    assert 0.5 <= confidence <= 1.0


def test_volume_confidence_grows_with_the_margin():
    near = volume_from_levels(rms_dbfs=-40.0, peak_dbfs=-16.0, clipped_samples=0)
    far = volume_from_levels(rms_dbfs=-50.0, peak_dbfs=-30.0, clipped_samples=0)
    assert near[0] == far[0] == "low" and far[1] > near[1]


def _rendered_like(rate: int) -> np.ndarray:
    """A stereo note as fluidsynth renders one: a decaying harmonic tone, then a noisy reverb-like tail."""
    rng = np.random.default_rng(rate)
    t = np.arange(int(2.5 * rate)) / rate
    tone = sum(np.sin(2 * np.pi * k * 220.0 * t + k) / k for k in range(1, 9)) * np.exp(-1.5 * t)
    tail = rng.normal(0, 0.02, t.size) * np.exp(-3.0 * np.maximum(t - 1.5, 0)) * (t > 1.5)
    left, right = 0.2 * tone + tail, 0.15 * tone - tail
    return np.stack([left, right], axis=1).astype(np.float32)


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000, 96_000])
def test_the_level_rule_reads_the_gain_scheme_through_a_librarys_formats(rate):
    """Stereo or mono, 16-bit or float, slow attack, leading silence or a trimmed start, a reverb tail:
    the DSP volume rule gives back the gain-scheme level every time, at every sample rate."""
    from bridge.adapters.audio_features import prepare
    from bridge.adapters.sound_classifier import dsp_volume
    from bridge.training.sound_data import NoteSpec, as_stored, shape_note

    base = NoteSpec(note=57, velocity=100, detune_cents=0.0, reverb_send=60, chorus_send=0, pan=64, hold_s=1.5,
                    tail_s=1.0, attack_s=0.0, lead_s=0.0, stereo=True, pcm16=False, med_peak_dbfs=-9.0,
                    volumes=VOLUMES)
    variants = [base, replace(base, stereo=False, pcm16=True), replace(base, attack_s=0.5, med_peak_dbfs=-0.5),
                replace(base, lead_s=0.4, pcm16=True), replace(base, lead_s=-0.05, hold_s=0.3, tail_s=0.05)]
    raw = _rendered_like(rate)
    for spec in variants:
        med = shape_note(raw, rate, spec)
        for volume in VOLUMES:
            audio = as_stored(apply_gain_scheme(med, volume), spec.pcm16)
            assert dsp_volume(prepare(audio, sample_rate_hz=rate))[0] == volume, (spec, volume)


def test_sound_bank_modules_import_light():
    probe = ("import sys, bridge.adapters.soundbank_index, bridge.adapters.sound_classifier, "
             "bridge.adapters.default_bank, bridge.commands.index, bridge.commands.train_sound; "
             "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & {"tensorflow", "keras", "librosa", "ai_edge_litert", "soundfile", "bridge.training"}
    assert not any(m.startswith("bridge.training") for m in out.stdout.split())
