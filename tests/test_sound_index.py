"""`index`: the incremental, atomic sound bank index on real files, through the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from audio_files import (
    file_permissions_enforced,
    make_bad_files,
    non_finite_wav_bytes,
    strict_json,
    tone_bytes,
    write_bytes,
    write_tone,
)
from conftest import REPO
from waiting import LineLog

from bridge.adapters import sound_classifier
from bridge.adapters.soundbank_index import load_bank, read_index, update_index
from bridge.core.bank import SoundBank
from bridge.core.errors import ModelError, SoundBankError


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


# --- bad input never stops a run ---------------------------------------------------------------------

def test_nan_or_inf_samples_skip_that_file_only_and_nothing_non_finite_is_written(small_bank, tmp_path):
    (small_bank / "nan.wav").write_bytes(non_finite_wav_bytes(1))
    (small_bank / "deep" / "inf.wav").write_bytes(non_finite_wav_bytes(5, value=float("-inf")))
    index = tmp_path / "index.json"
    proc = run_index(small_bank, index, "--json")
    assert proc.returncode == 3, proc.stderr
    for name in ("nan.wav", str(Path("deep/inf.wav"))):
        assert f"skipped {small_bank / name}: not finite" in proc.stderr, proc.stderr
    records = [strict_json(line) for line in proc.stdout.splitlines()]
    assert sorted(Path(r["file"]).name for r in records if "pitch" in r) == ["a69.wav", "b74.flac", "c80.ogg",
                                                                             "d57.aiff"]
    skipped = {Path(r["file"]).name: r["skipped"] for r in records if "skipped" in r}
    assert skipped == {"nan.wav": "not finite (1 NaN or infinite sample; re-export the file)",
                       "inf.wav": "not finite (5 NaN or infinite samples; re-export the file)"}
    stored = strict_json(index.read_bytes())
    assert len(stored["samples"]) == 4 and set(stored["skipped"]) == {"nan.wav", "deep/inf.wav"}


def test_an_index_holding_nan_still_loads_and_is_written_back_strict(small_bank, tmp_path):
    index = tmp_path / "index.json"
    update_index(small_bank, index_path=index, workers=1)
    stored = json.loads(index.read_text())
    stored["samples"]["a69.wav"]["rms_dbfs"] = float("nan")  # as a hand edit or another tool could leave it
    index.write_text(json.dumps(stored))
    assert "NaN" in index.read_text()
    report = update_index(small_bank, index_path=index, workers=1)
    assert report.labelled == ["a69.wav"] and report.written
    assert strict_json(index.read_bytes())["samples"]["a69.wav"]["rms_dbfs"] == pytest.approx(-15.6, abs=0.5)


def test_a_symlink_loop_is_skipped_and_the_rest_of_its_folder_indexed(tmp_path):
    folder = tmp_path / "bank"
    for i in range(6):
        write_tone(folder / f"t{i}.wav", 69 + i, seconds=0.5)
    (folder / "self.wav").symlink_to("self.wav")
    (folder / "ping.wav").symlink_to("pong.wav")
    (folder / "pong.wav").symlink_to("ping.wav")
    (folder / "up.wav").symlink_to("..")  # a symlinked folder is not entered
    report = update_index(folder, index_path=tmp_path / "index.json", workers=1)
    assert sorted(report.entries) == [f"t{i}.wav" for i in range(6)]
    assert set(report.skipped) == {"self.wav", "ping.wav", "pong.wav"}
    assert all(reason.startswith("symlink loop") for reason in report.skipped.values()), report.skipped


def test_an_unreadable_file_is_tried_again_once_it_is_readable(tmp_path):
    folder = tmp_path / "bank"
    locked = [write_tone(folder / f"{name}.wav", 72, seconds=0.5) for name in ("new", "old")]
    write_tone(folder / "open.wav", 69, seconds=0.5)
    index = tmp_path / "index.json"
    for path in locked:
        path.chmod(0)
    try:
        with file_permissions_enforced():
            first = update_index(folder, index_path=index, workers=1)
            again = update_index(folder, index_path=index, workers=1)
    finally:
        for path in locked:
            path.chmod(0o644)  # readable again; chmod leaves size and mtime as they were
    assert first.skipped == again.skipped == {"new.wav": "unreadable (Permission denied)",
                                              "old.wav": "unreadable (Permission denied)"}
    stored = read_index(index)
    del stored["skipped"]["old.wav"]["retry"]  # as an index written before `retry` holds it
    index.write_text(json.dumps(stored))
    third = update_index(folder, index_path=index, workers=1)
    assert sorted(third.labelled) == ["new.wav", "old.wav"] and third.skipped == {}
    assert sorted(read_index(index)["samples"]) == ["new.wav", "old.wav", "open.wav"]


def test_names_that_are_not_utf8_are_indexed_and_the_index_stays_utf8(tmp_path):
    folder = os.path.join(os.fsencode(tmp_path), b"banque-\xe9t\xe9")
    write_bytes(os.path.join(folder, b"caf\xe9.wav"), tone_bytes(69))
    write_bytes(os.path.join(folder, b"sous-\xff", b"na\xefve.wav"), tone_bytes(74))
    write_bytes(os.path.join(folder, b"plain.wav"), tone_bytes(80))
    write_bytes(os.path.join(folder, b"vide-\xe9.wav"), b"")  # bad and not UTF-8: named, then skipped
    cache = tmp_path / "cache"
    cmd = [sys.executable, "run_bridge.py", "index", folder, "--json"]
    env = {**os.environ, "PICT2AUDIO_CACHE": str(cache)}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr.decode(errors="replace")
    records = [strict_json(line) for line in proc.stdout.decode("utf-8").splitlines()]
    files = sorted(os.fsencode(r["file"]) for r in records if "pitch" in r)  # the JSON names give the bytes back
    assert files == sorted([os.path.join(folder, b"caf\xe9.wav"), os.path.join(folder, b"plain.wav"),
                            os.path.join(folder, b"sous-\xff", b"na\xefve.wav")])
    assert [os.fsencode(r["file"]) for r in records if "skipped" in r] == [os.path.join(folder, b"vide-\xe9.wav")]
    # On the terminal a byte that is not UTF-8 shows as an escape.
    assert b"/vide-\\xe9.wav: empty file (0 bytes)" in proc.stderr, proc.stderr
    (index,) = (cache / "index").iterdir()
    index.name.encode("utf-8")  # the index's own name is UTF-8 too
    text = index.read_bytes().decode("utf-8")  # strict: raises on a byte that is not UTF-8
    assert sorted(strict_json(text)["samples"]) == ["caf\udce9.wav", "plain.wav", "sous-\udcff/na\udcefve.wav"]
    assert b"note: 3 sample(s) have names that are not UTF-8" in proc.stderr  # the folder's name is not either
    with pytest.raises(SoundBankError, match=r"no playable samples: 3 sample\(s\) of .*banque-\\xe9t\\xe9 .*rename"):
        load_bank(os.fsdecode(folder), index_path=index, update=False)


def test_samples_whose_names_are_not_utf8_stay_out_of_the_bank_that_plays(tmp_path, caplog):
    folder = tmp_path / "bank"
    write_bytes(os.path.join(os.fsencode(folder), b"caf\xe9.wav"), tone_bytes(69))
    write_tone(folder / "plain.wav", 72, seconds=0.5)
    bank = load_bank(folder, index_path=tmp_path / "index.json")
    assert [Path(s.path).name for s in bank.samples] == ["plain.wav"]  # OSC could not send the other's path
    assert "caf\\xe9.wav" in caplog.text and "not UTF-8" in caplog.text
    assert sorted(read_index(tmp_path / "index.json")["samples"]) == ["caf\udce9.wav", "plain.wav"]


# --- a killed run leaves no worker behind -------------------------------------------------------------

@pytest.fixture(scope="module")
def big_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.figures.index import write_notes

    folder = tmp_path_factory.mktemp("big") / "bank"
    folder.mkdir()
    write_notes(folder, 300, seconds=2.0)
    return folder


def child_pids(pid: int) -> list[int]:
    """The live children of pid, from every one of its threads."""
    return [int(c) for f in Path(f"/proc/{pid}/task").glob("*/children") for c in f.read_text().split()]


def wait_for_exits(pidfds: dict[int, int], timeout_s: float) -> list[int]:
    """Block until every process (a pidfd each, so grandchildren too) has exited, up to timeout_s in all;
    the pids still running at the deadline."""
    deadline = time.monotonic() + timeout_s
    running = dict(pidfds)
    while running and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select(list(running.values()), [], [], left)
        running = {pid: fd for pid, fd in running.items() if fd not in ready}
    return sorted(running)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_index_run_leaves_no_worker_process_behind(big_bank, tmp_path, sig):
    cmd = [sys.executable, "run_bridge.py", "-vv", "index", str(big_bank), "--index", str(tmp_path / "i.json"),
           "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    progress = LineLog(proc.stderr, name="index-stderr")
    pidfds: dict[int, int] = {}
    try:
        assert progress.wait_for(lambda line: "labelled 32/300" in line, timeout_s=90), progress.lines()[-20:]
        workers = child_pids(proc.pid)
        pidfds = {pid: os.pidfd_open(pid) for pid in workers}  # taken before the kill: no pid reuse race
        assert proc.poll() is None and len(workers) == 2, (proc.poll(), workers)
        os.kill(proc.pid, sig)  # the run only, as the OOM killer or `kill` would: not its process group
        proc.wait(timeout=30)
        left = wait_for_exits(pidfds, timeout_s=15)
        assert left == [], f"worker(s) {left} outlived the index run killed with {sig.name}"
    finally:
        for fd in pidfds.values():
            with contextlib.suppress(ProcessLookupError):  # leave nothing behind even when the test fails
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            os.close(fd)
        proc.kill()
        proc.wait(timeout=30)
        progress.join(5)


def test_a_file_a_library_fails_on_is_skipped_alone(tmp_path, monkeypatch):
    from bridge.adapters import soundbank_index

    folder = tmp_path / "bank"
    for name in ("a", "b", "c"):
        write_tone(folder / f"{name}.wav", 72, seconds=0.5)
    real = soundbank_index.features_for_file

    def failing(path):
        if os.path.basename(path) == "b.wav":
            raise ZeroDivisionError("a decoder bug")
        return real(path)

    monkeypatch.setattr(soundbank_index, "features_for_file", failing)
    report = update_index(folder, index_path=tmp_path / "index.json", workers=1)
    assert sorted(report.entries) == ["a.wav", "c.wav"]
    assert report.skipped == {"b.wav": "could not be labelled (ZeroDivisionError: a decoder bug)"}


def test_a_worker_that_dies_costs_its_batch_only_until_the_next_run(tmp_path, monkeypatch):
    from bridge.adapters import soundbank_index

    folder = tmp_path / "bank"
    for i in range(64):  # two batches of 32, labelled by two worker processes
        write_tone(folder / f"n{i:02d}.wav", 69 + i % 12, seconds=0.3)
    real = soundbank_index.features_for_file

    def crashing(path):  # the forked workers inherit this: one dies as if killed or out of memory
        if os.path.basename(path) == "n40.wav":
            os._exit(1)
        return real(path)

    monkeypatch.setattr(soundbank_index, "features_for_file", crashing)
    index = tmp_path / "index.json"
    first = update_index(folder, index_path=index, workers=2)
    assert "n40.wav" in first.skipped and first.skipped["n40.wav"].startswith("not labelled: a worker process died")
    assert len(first.entries) + len(first.skipped) == 64 and first.written
    monkeypatch.setattr(soundbank_index, "features_for_file", real)
    again = update_index(folder, index_path=index, workers=2)
    assert sorted(again.labelled) == sorted(first.skipped) and len(read_index(index)["samples"]) == 64


def test_drums_are_marked_unpitched_in_the_index_and_json_and_the_bank(tmp_path):
    """Rendered GM drums (channel 10) and piano notes: the index and `--json` say which are pitched, the bank
    that plays carries it, and only the unpitched samples add to the bank's version."""
    from gm_render import DRUMS, TIMGM6MB, Note, render_notes

    folder = tmp_path / "kit"
    render_notes(folder, [Note(DRUMS, 0, 38, 110), Note(DRUMS, 0, 42, 110), Note(0, 0, 60), Note(0, 0, 72)],
                 soundfont=TIMGM6MB, hold_s=0.5, slot_s=1.5)
    index = tmp_path / "index.json"
    proc = run_index(folder, index, "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    printed = {Path(line["file"]).name: line for line in map(json.loads, proc.stdout.splitlines())}
    assert {name: line["pitched"] for name, line in printed.items()} == {
        "ch10_p0_n38.wav": False, "ch10_p0_n42.wav": False, "ch1_p0_n60.wav": True, "ch1_p0_n72.wav": True}
    assert read_index(index)["samples"]["ch10_p0_n38.wav"]["pitched"] is False
    bank = load_bank(folder, index_path=index, update=False)
    assert {Path(s.path).name: s.pitched for s in bank.samples} == {n: p["pitched"] for n, p in printed.items()}
    entries = read_index(index)["samples"]
    all_pitched = {rel: {**e, "pitched": True} for rel, e in entries.items()}
    from bridge.adapters.soundbank_index import bank_from_entries

    assert bank_from_entries(folder, all_pitched).version != bank.version


def test_the_index_keeps_each_samples_real_note_and_register(tmp_path):
    """Piano C notes in four octaves share one pitch class (72) but keep their notes: registers 2..5."""
    from gm_render import TIMGM6MB, Note, render_notes

    folder = tmp_path / "piano"
    render_notes(folder, [Note(0, 0, note) for note in (48, 60, 72, 84)], soundfont=TIMGM6MB)
    bank = load_bank(folder, index_path=tmp_path / "index.json")
    by_name = {Path(s.path).name: s for s in bank.samples}
    for note, register in ((48, 2), (60, 3), (72, 4), (84, 5)):
        sample = by_name[f"ch1_p0_n{note}.wav"]
        assert sample.labels.pitch == 72 and sample.midi_note == pytest.approx(note, abs=0.3)
        assert sample.register == register and sample.pitched


def test_an_index_from_before_unpitched_detection_is_relabelled_once(small_bank, tmp_path):
    index = tmp_path / "index.json"
    update_index(small_bank, index_path=index, workers=1)
    data = read_index(index)
    for entry in data["samples"].values():
        del entry["pitched"]
    from bridge.adapters.soundbank_index import write_index

    write_index(index, data)
    again = update_index(small_bank, index_path=index, workers=1)
    assert len(again.labelled) == 4 and all("pitched" in e for e in read_index(index)["samples"].values())
    assert update_index(small_bank, index_path=index, workers=1).labelled == []
