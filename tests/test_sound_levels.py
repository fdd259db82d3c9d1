"""Pure level and pitch helpers (bridge.core.audio_levels) and the import weight of the sound modules."""

from __future__ import annotations

import math
import subprocess
import sys

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


def test_sound_bank_modules_import_light():
    probe = ("import sys, bridge.adapters.soundbank_index, bridge.adapters.sound_classifier, "
             "bridge.adapters.default_bank, bridge.commands.index, bridge.commands.train_sound; "
             "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & {"tensorflow", "keras", "librosa", "ai_edge_litert", "soundfile", "bridge.training"}
    assert not any(m.startswith("bridge.training") for m in out.stdout.split())
