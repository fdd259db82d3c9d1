"""`index`: the incremental, atomic sound bank index on real files, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_sound_features import make_bad_files, write_tone
from waiting import LineLog

from bridge.adapters import sound_classifier
from bridge.adapters.soundbank_index import load_bank, read_index, update_index
from bridge.core.bank import SoundBank
from bridge.errors import ModelError, SoundBankError


def run_index(folder: Path, index: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "run_bridge.py", "index", str(folder), "--index", str(index), *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def small_bank(tmp_path: Path) -> Path:
    folder = tmp_path / "bank"
    write_tone(folder / "a69.wav", 69)
    write_tone(folder / "deep" / "er" / "b74.flac", 74, rate=44_100, channels=2)
    write_tone(folder / "c80.ogg", 80, rate=22_050)
    write_tone(folder / "d57.aiff", 57, subtype="PCM_24")  # A3: outside 69..80
    return folder


def test_index_stores_labels_confidences_and_descriptors(small_bank, tmp_path):
    index = tmp_path / "index.json"
    report = update_index(small_bank, index_path=index, workers=1)
    assert sorted(report.labelled) == ["a69.wav", "c80.ogg", "d57.aiff", str(Path("deep/er/b74.flac"))]
    assert report.written and not report.skipped
    stored = read_index(index)
    entry = stored["samples"]["d57.aiff"]
    assert entry["pitch"] == 69 and entry["midi_note"] == pytest.approx(57, abs=0.3)  # folded, estimate kept
    assert entry["volume"] in ("low", "med", "high") and entry["timbre"]
    assert set(entry["confidence"]) == {"pitch", "volume", "timbre"}
    for key in ("f0_hz", "rms_dbfs", "peak_dbfs", "duration_s", "sha256", "model_version", "size", "mtime_ns"):
        assert key in entry, key
    assert stored["samples"]["a69.wav"]["pitch"] == 69 and stored["samples"]["c80.ogg"]["pitch"] == 80
    assert stored["samples"]["a69.wav"]["peak_dbfs"] == pytest.approx(-6.0, abs=0.1)


def test_reindexing_processes_only_new_or_changed_files_and_drops_removed(small_bank, tmp_path):
    index = tmp_path / "index.json"
    update_index(small_bank, index_path=index, workers=1)

    again = update_index(small_bank, index_path=index, workers=1)
    assert again.labelled == [] and again.reused == 4 and not again.written

    write_tone(small_bank / "a69.wav", 71)  # changed content
    os.utime(small_bank / "c80.ogg")  # touched, same content: no relabel
    (small_bank / "d57.aiff").unlink()  # removed
    write_tone(small_bank / "new" / "e76.wav", 76)  # new
    third = update_index(small_bank, index_path=index, workers=1)
    assert sorted(third.labelled) == ["a69.wav", str(Path("new/e76.wav"))]
    assert third.removed == ["d57.aiff"] and third.written
    stored = read_index(index)["samples"]
    assert stored["a69.wav"]["pitch"] == 71 and "d57.aiff" not in stored and stored["new/e76.wav"]["pitch"] == 76
    assert stored["c80.ogg"]["mtime_ns"] == (small_bank / "c80.ogg").stat().st_mtime_ns


def test_a_new_model_relabels_everything(small_bank, tmp_path):
    index = tmp_path / "index.json"
    update_index(small_bank, index_path=index, workers=1)
    models = tmp_path / "models"
    shutil.copytree(sound_classifier.MODEL_DIR, models)
    meta = json.loads((models / sound_classifier.METADATA_FILE).read_text())
    (models / sound_classifier.METADATA_FILE).write_text(json.dumps({**meta, "note": "retrained"}))
    report = update_index(small_bank, index_path=index, workers=1, model_dir=models)
    assert len(report.labelled) == 4
    assert {e["model_version"] for e in read_index(index)["samples"].values()} == {
        sound_classifier.model_version(models)}


def test_bad_files_are_skipped_with_reasons_and_the_exit_code_says_so(small_bank, tmp_path):
    expected = make_bad_files(small_bank / "bad")
    index = tmp_path / "index.json"
    proc = run_index(small_bank, index)
    assert proc.returncode == 3, proc.stderr
    for name, word in expected.items():
        line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("skipped") and name in ln), None)
        assert line and word in line, (name, proc.stderr)
    assert len(read_index(index)["samples"]) == 4  # the good files went on being indexed
    again = run_index(small_bank, index)  # unchanged bad files are remembered, still reported
    assert again.returncode == 3 and again.stderr.count("skipped ") == len(expected)
    assert "0 labelled" in again.stderr
    shutil.rmtree(small_bank / "bad")
    assert update_index(small_bank, index_path=index).skipped == {}


def test_json_prints_one_object_per_sample(small_bank, tmp_path):
    proc = run_index(small_bank, tmp_path / "index.json", "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 4
    for rec in records:
        assert Path(rec["file"]).is_absolute() and Path(rec["file"]).exists()
        assert isinstance(rec["pitch"], int) and 69 <= rec["pitch"] <= 80
        assert rec["volume"] in ("low", "med", "high")
        assert rec["timbre"] in ("brass", "guitar", "keyboard", "organ", "string", "vocal", "flute", "reed")
        assert 0.0 <= rec["confidence"] <= 1.0


def test_a_killed_run_leaves_the_previous_index_intact(tmp_path):
    folder = tmp_path / "bank"
    for i in range(6):
        write_tone(folder / f"first{i}.wav", 69 + i)
    index = tmp_path / "index.json"
    update_index(folder, index_path=index, workers=1)
    before = index.read_bytes()
    for i in range(160):
        write_tone(folder / "more" / f"n{i:03d}.wav", 69 + i % 12, seconds=2.0)
    cmd = [sys.executable, "run_bridge.py", "-vv", "index", str(folder), "--index", str(index), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stderr is not None
    progress = LineLog(proc.stderr, name="index-stderr")
    # Wait (up to 90 s, even if it stops printing) until the first batch of files is labelled, then kill the run.
    progress.wait_for(lambda line: "labelled 32/160" in line, timeout_s=90)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    progress.join(5)
    assert index.read_bytes() == before
    assert len(read_index(index)["samples"]) == 6
    report = update_index(folder, index_path=index, workers=2)  # the next run completes the job
    assert len(report.labelled) == 160 and len(read_index(index)["samples"]) == 166


def test_load_bank_gives_a_sound_bank(small_bank, tmp_path):
    index = tmp_path / "index.json"
    with pytest.raises(SoundBankError, match=r"python run_bridge\.py index"):
        load_bank(small_bank, index_path=index, update=False)
    bank = load_bank(small_bank, index_path=index)
    assert isinstance(bank, SoundBank) and len(bank) == 4
    assert all(Path(s.path).is_absolute() for s in bank.samples)
    assert sorted(int(p) for p in bank.pitch_index) == [0, 0, 5, 11]  # A3 folds to A4
    assert load_bank(small_bank, index_path=index, update=False).version == bank.version


def test_a_missing_or_mismatched_model_says_how_to_fix_it(tmp_path, small_bank):
    with pytest.raises(ModelError, match=r"python run_bridge\.py train-sound"):
        update_index(small_bank, index_path=tmp_path / "i.json", model_dir=tmp_path / "nothing")
    models = tmp_path / "models"
    shutil.copytree(sound_classifier.MODEL_DIR, models)
    meta = json.loads((models / sound_classifier.METADATA_FILE).read_text())
    (models / sound_classifier.METADATA_FILE).write_text(json.dumps({**meta, "preprocessing_version": "old"}))
    with pytest.raises(ModelError, match="preprocessing"):
        sound_classifier.SoundClassifier(models)
