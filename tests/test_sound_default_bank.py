"""The default bank: 288 synthesised notes covering every label combination, made on first use."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO

from bridge.adapters import default_bank as db
from bridge.adapters.audio_features import features_for_file
from bridge.adapters.sound_classifier import dsp_pitch, dsp_volume
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES


@pytest.fixture(scope="module")
def bank_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("p2a-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PICT2AUDIO_CACHE", str(cache))
        bank = db.default_bank()
        yield cache, bank


def test_covers_every_label_combination_once(bank_cache):
    cache, bank = bank_cache
    assert len(bank) == len(PITCHES) * len(VOLUMES) * len(TIMBRES) == 288
    combos = {(s.labels.pitch, s.labels.volume, s.labels.timbre) for s in bank.samples}
    assert len(combos) == 288
    assert all(s.path.startswith(str(cache)) and s.confidence["timbre"] == 1.0 for s in bank.samples)


def test_second_call_is_fast_even_in_a_new_process(bank_cache):
    cache, _ = bank_cache
    code = ("import time, bridge.adapters.default_bank as d; t = time.perf_counter(); b = d.default_bank(); "
            "print(len(b), time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PICT2AUDIO_CACHE": str(cache), "PATH": "/usr/bin:/bin"})
    count, seconds = out.stdout.split()
    assert int(count) == 288 and float(seconds) < 0.1
    started = time.perf_counter()
    db.default_bank()
    assert time.perf_counter() - started < 0.1


def test_generation_is_deterministic(bank_cache):
    import soundfile as sf

    _, bank = bank_cache
    for sample in bank.samples[::97]:
        stored, rate = sf.read(sample.path, dtype="float32")
        again = db.synthesise(sample.labels)
        assert rate == db.SAMPLE_RATE_HZ and np.abs(stored - again).max() < 1e-4  # 16-bit rounding only


@pytest.mark.parametrize("timbre", TIMBRES)
def test_labels_match_what_the_dsp_measures(bank_cache, timbre):
    """Pitch and volume of the synthesised notes are what their labels say (measured, not assumed)."""
    _, bank = bank_cache
    for sample in bank.samples:
        if sample.labels.timbre != timbre or sample.labels.pitch % 3:
            continue
        feats = features_for_file(sample.path)
        assert dsp_pitch(feats)[0] == sample.labels.pitch, sample.path
        assert dsp_volume(feats)[0] == sample.labels.volume, sample.path


def test_families_sound_different(bank_cache):
    """Distinct timbres: the mean log-mel of the families' med notes differ pairwise."""
    _, bank = bank_cache
    profiles = {}
    for timbre in TIMBRES:
        paths = [s.path for s in bank.samples if s.labels.timbre == timbre and s.labels.volume == "med"]
        profiles[timbre] = np.mean([features_for_file(p).log_mel.mean(axis=1) for p in paths[:4]], axis=0)
    for i, a in enumerate(TIMBRES):
        for b in TIMBRES[i + 1 :]:
            assert np.abs(profiles[a] - profiles[b]).mean() > 0.02, (a, b)
