"""Unpitched sounds (bridge.adapters.pitchedness): GM drums (channel 10), noise, clicks and a DC offset are
told apart from pitched notes. The notes are rendered with fluidsynth from TimGM6mb, a soundfont the
detector was not fitted on, in stereo at 44.1 kHz, and read through the index's own preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
from gm_render import DRUMS, TIMGM6MB, Note, render_notes

from bridge.adapters.audio_features import features_for_file
from bridge.adapters.pitchedness import UNPITCHED_ABOVE

# kick, snare, clap, closed and open hi-hat, crash, ride, tambourine, maracas
DRUM_NOTES = (35, 38, 39, 42, 46, 49, 51, 54, 70)
# piano, nylon guitar, violin, trumpet, flute, alto sax, choir aahs: MIDI 40..88
PITCHED = tuple(Note(0, program, note) for program in (0, 24, 40, 56, 73, 65, 52) for note in (40, 52, 64, 76, 88))


def verdicts(paths) -> dict[str, bool]:
    return {path.name: features_for_file(path).pitched for path in paths}


def test_drums_are_unpitched_and_instrument_notes_pitched(tmp_path):
    drums = render_notes(tmp_path / "drums", [Note(DRUMS, 0, n, 110) for n in DRUM_NOTES], soundfont=TIMGM6MB,
                         hold_s=0.3, slot_s=1.5)
    notes = render_notes(tmp_path / "notes", list(PITCHED), soundfont=TIMGM6MB)
    assert [name for name, pitched in verdicts(drums).items() if pitched] == []
    assert [name for name, pitched in verdicts(notes).items() if not pitched] == []


def test_nsynth_notes_are_pitched(shared_data):
    paths = sorted((shared_data / "nsynth_subset" / "validation").glob("*.wav"))
    assert len(paths) == 87
    assert [name for name, pitched in verdicts(paths).items() if not pitched] == []


def noises(rate: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Sounds with no pitch: coloured noises (held, decaying, a burst), clicks, a DC offset."""
    n = 2 * rate
    t = np.arange(n) / rate
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    k = np.maximum(np.arange(spectrum.size), 1)
    pink, brown = np.fft.irfft(spectrum / np.sqrt(k), n), np.fft.irfft(spectrum / k, n)
    clicks = np.zeros(n)
    clicks[[n // 40, n // 3, n * 3 // 4]] = [0.9, -0.5, 0.7]
    return {
        "white": white, "white, decaying": white * np.exp(-t * 8), "pink": pink, "pink burst": pink * (t < 0.2),
        "brown": brown, "white with a DC offset": 0.1 * white + 0.4, "clicks": clicks,
        "one softened click": np.convolve(np.eye(1, n, 100)[0], np.exp(-np.arange(200) / 20.0))[:n],
        "DC offset and hiss": 0.3 + 1e-4 * white,
    }


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_noise_clicks_and_a_dc_offset_are_unpitched(tmp_path, rate):
    import soundfile as sf

    scores = {}
    for name, audio in noises(rate, np.random.default_rng(rate)).items():
        path = tmp_path / f"{name}.wav"
        sf.write(path, (audio / np.abs(audio).max() * 0.5).astype(np.float32), rate, subtype="PCM_16")
        scores[name] = features_for_file(path).pitch_evidence.score()
    assert {name: s for name, s in scores.items() if s <= UNPITCHED_ABOVE} == {}


def test_the_index_record_carries_the_verdict_and_its_evidence(tmp_path):
    drum, note = render_notes(tmp_path, [Note(DRUMS, 0, 38, 110), Note(0, 0, 60)], soundfont=TIMGM6MB)
    records = [features_for_file(path).descriptors() for path in (drum, note)]
    assert [r["pitched"] for r in records] == [False, True]
    for r in records:
        assert set(r["pitch_evidence"]) == {"harmonicity", "periodic_share", "decay_db", "peakiness", "score"}
        assert (r["pitch_evidence"]["score"] > UNPITCHED_ABOVE) == (not r["pitched"])
