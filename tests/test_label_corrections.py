"""The composer's corrections of a bank's labels (bridge/adapters/label_corrections.py): the sidecar file, the
`label` and `index` commands as a user runs them, re-indexing and a model change, the cache fallback for a
read-only folder, and the bank that plays."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from audio_files import file_permissions_enforced, write_tone
from conftest import REPO

from bridge.adapters import sound_classifier
from bridge.adapters.label_corrections import (
    SIDECAR_NAME,
    Correction,
    parse_pitch,
    read_corrections,
    save_correction,
    sidecar_paths,
)
from bridge.adapters.soundbank_index import load_bank, read_index, update_index
from bridge.core.errors import SoundBankError


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """Three real tones: A4, C5 (in a subfolder) and E5."""
    folder = tmp_path / "bank"
    write_tone(folder / "a69.wav", 69)
    write_tone(folder / "sub" / "c72.wav", 72)
    write_tone(folder / "e76.wav", 76)
    return folder


@pytest.fixture
def index(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "bank-index.json"


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache), "PICT2AUDIO_CACHE": str(cache)}
    return subprocess.run([sys.executable, "run_bridge.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def samples_by_name(bank_obj) -> dict:
    return {Path(s.path).name: s for s in bank_obj.samples}


# -- the sidecar --------------------------------------------------------------------------------------------


def test_pitch_as_a_midi_note_or_a_name():
    assert [parse_pitch(v) for v in (72, "72", "C5", "c5", "G#4", "Bb3", "A-1")] == [72, 72, 72, 72, 68, 58, 9]
    for bad in ("H4", "C#10", "128", 12.5, True, "E#4"):
        with pytest.raises(ValueError, match=r"MIDI note 0\.\.127"):
            parse_pitch(bad)


def test_a_correction_is_saved_readable_and_merged_with_the_earlier_one(bank, index):
    written = save_correction(bank, index, "sub/c72.wav", Correction(timbre="organ"))
    assert written == bank / SIDECAR_NAME
    save_correction(bank, index, "sub/c72.wav", Correction(pitch=60, volume="low"))
    text = written.read_text()
    assert text.startswith("# Pict2Audio: the composer's corrections")  # a hand-readable header
    assert tomllib.loads(text) == {"sub/c72.wav": {"pitch": 60, "volume": "low", "timbre": "organ"}}
    assert read_corrections(bank, index) == {"sub/c72.wav": Correction(60, "low", "organ")}
    save_correction(bank, index, "sub/c72.wav", None)
    assert not written.exists()  # the last one cleared: no empty file left behind
    assert sorted(p.name for p in bank.iterdir()) == ["a69.wav", "e76.wav", "sub"]  # no temporary files


@pytest.mark.parametrize(("text", "message"), [
    ('["a69.wav"]\ntimbre = "oboe"\n', r'\["a69.wav"\] timbre: expected one of brass'),
    ('["a69.wav"]\npitch = "H4"\n', r'\["a69.wav"\] pitch: expected a MIDI note'),
    ('["a69.wav"]\nloudness = 3\n', r"unknown key 'loudness'"),
    ('["a69.wav"]\n', "expected at least one of pitch, volume, timbre"),
    ('["a69.wav"\n', "cannot be read"),
])
def test_a_bad_sidecar_names_the_file_and_the_entry(bank, index, text, message):
    (bank / SIDECAR_NAME).write_text(text)
    with pytest.raises(SoundBankError, match=message) as err:
        read_corrections(bank, index)
    assert str(bank / SIDECAR_NAME) in str(err.value)


def test_a_read_only_bank_folder_keeps_its_corrections_beside_the_index(bank, index):
    folder_file, cache_file = sidecar_paths(bank, index)
    bank.chmod(0o555)
    try:
        with file_permissions_enforced():  # chmod holds for root too, on this thread
            written = save_correction(bank, index, "e76.wav", Correction(timbre="flute"))
    finally:
        bank.chmod(0o755)
    assert written == cache_file and not folder_file.exists()
    assert read_corrections(bank, index) == {"e76.wav": Correction(timbre="flute")}
    assert cache_file.parent == index.parent and cache_file.name == "bank-index.labels.toml"
    # the folder writable again: the newer correction goes there and the cache's older one is dropped
    save_correction(bank, index, "e76.wav", Correction(timbre="brass"))
    assert not cache_file.exists() and read_corrections(bank, index) == {"e76.wav": Correction(timbre="brass")}


# -- the index and the bank -----------------------------------------------------------------------------------


def test_corrections_win_over_the_models_and_survive_reindexing_and_a_model_change(bank, index, monkeypatch):
    first = update_index(bank, index_path=index, workers=1)
    model_timbre = first.entries["sub/c72.wav"]["timbre"]
    wanted = "brass" if model_timbre != "brass" else "organ"
    save_correction(bank, index, "sub/c72.wav", Correction(pitch=60, timbre=wanted))

    again = update_index(bank, index_path=index, workers=1)
    entry = again.entries["sub/c72.wav"]
    assert (entry["pitch"], entry["timbre"], entry["midi_note"]) == (72, wanted, 60.0)  # C4 folds to C5
    assert entry["methods"] == {"pitch": "composer", "volume": "dsp", "timbre": "composer"}
    assert entry["confidence"]["timbre"] == 1.0
    assert read_index(index)["samples"]["sub/c72.wav"]["timbre"] == model_timbre  # the index keeps the model's

    real_version = sound_classifier.model_version
    monkeypatch.setattr(sound_classifier, "model_version", lambda *a, **k: "another-model-" + real_version(*a, **k))
    relabelled = update_index(bank, index_path=index, workers=1)
    assert sorted(relabelled.labelled) == ["a69.wav", "e76.wav", "sub/c72.wav"]  # a new model relabels all
    assert relabelled.entries["sub/c72.wav"]["timbre"] == wanted

    played = samples_by_name(load_bank(bank, index_path=index, update=False))["c72.wav"]
    assert played.labels.timbre == wanted and played.labels.pitch == 72 and played.midi_note == 60.0
    assert played.confidence["timbre"] == 1.0
    assert load_bank(bank, index_path=index, update=False).version == load_bank(bank, index_path=index).version


def test_a_correction_of_a_file_that_is_gone_is_reported_not_fatal(bank, index, caplog):
    save_correction(bank, index, "gone.wav", Correction(timbre="reed"))
    save_correction(bank, index, "a69.wav", Correction(volume="high"))
    with caplog.at_level(logging.WARNING):
        played = samples_by_name(load_bank(bank, index_path=index))
    assert played["a69.wav"].labels.volume == "high"
    assert '["gone.wav"]' in caplog.text and "no longer exists" in caplog.text


# -- the commands, as a user runs them --------------------------------------------------------------------------


def test_label_and_index_commands(bank, tmp_path):
    cache = tmp_path / "cli-cache"
    indexed = run_cli("index", str(bank), "--json", cache=cache)
    assert indexed.returncode == 0, indexed.stderr
    model = {Path(r["file"]).name: r for r in map(json.loads, indexed.stdout.splitlines())}
    wanted = "flute" if model["e76.wav"]["timbre"] != "flute" else "reed"

    proc = run_cli("label", str(bank / "e76.wav"), "--timbre", wanted, "--pitch", "E4", cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (f"{bank / 'e76.wav'}: pitch 76 E5 (composer), volume med (dsp), timbre "
                                   f"{wanted} (composer); saved in {bank / SIDECAR_NAME}")

    shown = json.loads(run_cli("label", str(bank / "e76.wav"), "--json", cache=cache).stdout)
    assert shown["timbre"] == wanted and shown["midi_note"] == 64.0 and shown["methods"]["timbre"] == "composer"

    again = run_cli("index", str(bank), "--json", cache=cache)
    records = {Path(r["file"]).name: r for r in map(json.loads, again.stdout.splitlines())}
    assert records["e76.wav"]["timbre"] == wanted and records["e76.wav"]["methods"]["pitch"] == "composer"
    assert records["a69.wav"] == model["a69.wav"]  # the others as the models said

    cleared = run_cli("label", str(bank / "e76.wav"), "--clear", cache=cache)
    assert cleared.returncode == 0 and "cleared" in cleared.stdout
    back = {Path(r["file"]).name: r for r in map(json.loads, run_cli("index", str(bank), "--json",
                                                                       cache=cache).stdout.splitlines())}
    assert back["e76.wav"] == model["e76.wav"]


def test_label_refuses_what_it_cannot_correct_and_goes_on(bank, tmp_path):
    cache = tmp_path / "cli-cache"
    (bank / "notes.txt").write_text("not audio")
    proc = run_cli("label", str(bank / "missing.wav"), str(bank / "notes.txt"), str(bank / "a69.wav"),
                   "--timbre", "reed", cache=cache)
    assert proc.returncode == 1
    assert f"error: {bank / 'missing.wav'}: no such file" in proc.stderr
    assert f"error: {bank / 'notes.txt'}: not an audio file" in proc.stderr
    assert "a69.wav: " in proc.stdout and "not indexed yet" in proc.stdout  # corrected all the same
    assert tomllib.loads((bank / SIDECAR_NAME).read_text()) == {"a69.wav": {"timbre": "reed"}}

    outside = run_cli("label", str(bank / "a69.wav"), "--bank", str(tmp_path / "elsewhere"), "--volume", "low",
                      cache=cache)
    assert outside.returncode == 1 and "not inside the bank folder" in outside.stderr
    for args, message in ((("--clear", "--timbre", "reed"), "--clear removes a correction"),
                          (("--pitch", "H2"), "--pitch: expected a MIDI note")):
        bad = run_cli("label", str(bank / "a69.wav"), *args, cache=cache)
        assert bad.returncode == 2 and message in bad.stderr


def test_the_bank_folder_is_found_from_the_file(bank, tmp_path):
    """Correcting `sub/c72.wav` of an indexed bank lands in the bank's sidecar, not in `sub/`."""
    cache = tmp_path / "cli-cache"
    assert run_cli("index", str(bank), cache=cache).returncode == 0
    proc = run_cli("label", str(bank / "sub" / "c72.wav"), "--volume", "low", cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads((bank / SIDECAR_NAME).read_text()) == {"sub/c72.wav": {"volume": "low"}}
    assert not (bank / "sub" / SIDECAR_NAME).exists()
