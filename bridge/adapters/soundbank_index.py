"""The sound bank index: scan a folder, label new or changed files in worker processes, store the
result atomically, and turn it into a `SoundBank`.

One JSON file per indexed folder (under `$PICT2AUDIO_CACHE/index/`, or a path given with `index_path`).
A file is re-labelled only when its (size, mtime_ns) changed and its content hash changed too, or when
the model changed; removed files are dropped. The index is written once, at the end of a run, to a
temporary file that replaces the old one (`os.replace`), so a killed run leaves the previous index as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from bridge.adapters.audio_features import SUPPORTED_EXTENSIONS
from bridge.atomic_write import write_atomically
from bridge.core.audio_levels import fold_pitch
from bridge.core.bank import Sample, SoundBank
from bridge.core.labels import Labels
from bridge.errors import SoundBankError

log = logging.getLogger(__name__)

INDEX_SCHEMA = 1
CHUNK_FILES = 32  # files per worker task (one CNN batch)
IN_PROCESS_BELOW = 48  # fewer files than this are labelled without starting worker processes

ProgressFn = Callable[[int, int], None]


def cache_dir() -> Path:
    """$PICT2AUDIO_CACHE, or ~/.cache/pict2audio."""
    return Path(os.environ.get("PICT2AUDIO_CACHE") or Path.home() / ".cache" / "pict2audio")


def default_index_path(folder: str | os.PathLike) -> Path:
    """Where the index of a folder lives: one file per absolute folder path, in the cache."""
    folder = Path(folder).resolve()
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return cache_dir() / "index" / f"{folder.name or 'root'}-{digest}.json"


@dataclass
class IndexReport:
    """What one index run did. `skipped` maps a relative path to the reason it was not labelled."""

    folder: Path
    index_path: Path
    entries: dict[str, dict]
    labelled: list[str] = field(default_factory=list)
    reused: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    written: bool = False
    seconds: float = 0.0

    def samples(self) -> Iterator[tuple[str, dict]]:
        """(absolute path, entry) for every labelled sample, sorted by path."""
        for rel in sorted(self.entries):
            yield str(self.folder / rel), self.entries[rel]


# --- scanning and hashing -------------------------------------------------------------------------

def scan(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every supported audio file under folder (recursive)."""
    found: dict[str, tuple[int, int]] = {}
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith("."):
                            stack.append(Path(entry.path))
                    elif entry.name.lower().endswith(SUPPORTED_EXTENSIONS) and entry.is_file():
                        st = entry.stat()
                        found[os.path.relpath(entry.path, folder)] = (st.st_size, st.st_mtime_ns)
        except OSError as exc:
            log.warning("cannot list %s: %s", current, exc)
    return found


def file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --- the workers ----------------------------------------------------------------------------------

_CLASSIFIER = None


def _init_worker(model_dir: str | None, *, single_thread_blas: bool = True) -> None:
    """Load the classifier once per worker process. The workers are one per core, so BLAS runs one
    thread each (the mel projection is a small matrix product that multi-threading only slows down)."""
    global _CLASSIFIER
    from bridge.adapters.sound_classifier import MODEL_DIR, SoundClassifier

    if single_thread_blas:
        from threadpoolctl import threadpool_limits  # installed with librosa (via scikit-learn)

        threadpool_limits(limits=1, user_api="blas")
    _CLASSIFIER = SoundClassifier(Path(model_dir) if model_dir else MODEL_DIR)


def _label_chunk(folder: str, rels: list[str]) -> list[tuple[str, dict | None, str | None]]:
    """Label a few files in one batch -> [(rel, entry or None, skip reason or None)]."""
    from bridge.adapters.audio_features import UnusableAudio, features_for_file

    assert _CLASSIFIER is not None, "worker not initialised"
    out: list[tuple[str, dict | None, str | None]] = []
    good = []
    for rel in rels:
        path = os.path.join(folder, rel)
        try:
            st = os.stat(path)
            good.append((rel, st, file_sha256(path), features_for_file(path)))
        except UnusableAudio as exc:
            out.append((rel, None, exc.reason))
        except OSError as exc:
            out.append((rel, None, f"unreadable ({exc.strerror or exc})"))
    for (rel, st, digest, feats), labels in zip(good, _CLASSIFIER.label([g[3] for g in good])):
        entry = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": digest,
            "model_version": _CLASSIFIER.version,
            "pitch": labels.pitch,
            "volume": labels.volume,
            "timbre": labels.timbre,
            "confidence": labels.confidence,
            "methods": labels.methods,
            "cnn": {h: [v[0], round(v[1], 4)] for h, v in labels.cnn.items()},
            "dsp": {h: [v[0], round(v[1], 4)] for h, v in labels.dsp.items()},
            **feats.descriptors(),
        }
        out.append((rel, entry, None))
    return out


def _label_files(folder: Path, rels: list[str], *, model_dir: Path | None, workers: int,
                 progress: ProgressFn | None) -> Iterator[tuple[str, dict | None, str | None]]:
    if not rels:
        return
    chunks = [rels[i : i + CHUNK_FILES] for i in range(0, len(rels), CHUNK_FILES)]
    done = 0
    if workers <= 1 or len(rels) < IN_PROCESS_BELOW:
        from threadpoolctl import threadpool_limits

        _init_worker(str(model_dir) if model_dir else None, single_thread_blas=False)
        for chunk in chunks:
            with threadpool_limits(limits=1, user_api="blas"):  # only while labelling: this is the caller's process
                results = _label_chunk(str(folder), chunk)
            yield from results
            done += len(chunk)
            if progress:
                progress(done, len(rels))
        return
    from bridge.adapters.audio_features import warm_up
    from bridge.adapters.sound_classifier import warm_up_inference

    warm_up()  # before forking, so the workers start warm
    warm_up_inference()

    init_args = (str(model_dir) if model_dir else None,)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init_args) as pool:
        futures = [pool.submit(_label_chunk, str(folder), chunk) for chunk in chunks]
        for future in as_completed(futures):
            results = future.result()
            yield from results
            done += len(results)
            log.debug("labelled %d/%d", done, len(rels))
            if progress:
                progress(done, len(rels))


# --- the index file -------------------------------------------------------------------------------

def read_index(index_path: Path) -> dict | None:
    """The stored index, or None when there is none (or it is unusable: then it is rebuilt)."""
    try:
        data = json.loads(index_path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("index %s is unreadable (%s); rebuilding it", index_path, exc)
        return None
    if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
        log.warning("index %s has another schema; rebuilding it", index_path)
        return None
    return data


def write_index(index_path: Path, data: dict) -> None:
    """Atomic: a killed run leaves the previous index as it was."""
    write_atomically(index_path, lambda handle: handle.write(json.dumps(data, separators=(",", ":")).encode()))


def update_index(
    folder: str | os.PathLike, *, index_path: Path | None = None, model_dir: Path | None = None,
    workers: int | None = None, progress: ProgressFn | None = None,
) -> IndexReport:
    """Bring the index of folder up to date (incrementally) and return what was done."""
    from bridge.adapters.sound_classifier import MODEL_DIR, model_version

    started = time.perf_counter()
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise SoundBankError(f"{folder} is not a folder; give the folder of samples to index")
    index_path = Path(index_path) if index_path else default_index_path(folder)
    version = model_version(model_dir or MODEL_DIR)
    old = read_index(index_path) or {}
    old_entries: dict[str, dict] = old.get("samples", {}) if old.get("folder") == str(folder) else {}
    old_skipped: dict[str, dict] = old.get("skipped", {}) if old.get("folder") == str(folder) else {}
    found = scan(folder)

    report = IndexReport(folder=folder, index_path=index_path, entries={})
    report.removed = sorted(set(old_entries) - set(found))
    skipped_records: dict[str, dict] = {}
    todo: list[str] = []
    touched = 0
    for rel, (size, mtime_ns) in found.items():
        entry, bad = old_entries.get(rel), old_skipped.get(rel)
        if entry and (entry["size"], entry["mtime_ns"]) == (size, mtime_ns) and entry["model_version"] == version:
            report.entries[rel] = entry
        elif bad and (bad["size"], bad["mtime_ns"]) == (size, mtime_ns) and bad.get("model_version") == version:
            skipped_records[rel] = bad
        elif entry and entry["model_version"] == version and _same_content(folder / rel, entry):
            report.entries[rel] = {**entry, "size": size, "mtime_ns": mtime_ns}  # touched, not changed
            touched += 1
        else:
            todo.append(rel)
    report.reused = len(report.entries)

    todo.sort()
    n_workers = workers or os.cpu_count() or 1
    log.info("%s: labelling %d new or changed files (%d unchanged, %d removed) with %d worker(s)",
             folder, len(todo), report.reused, len(report.removed), n_workers if len(todo) >= IN_PROCESS_BELOW else 1)
    for rel, entry, reason in _label_files(folder, todo, model_dir=model_dir, workers=n_workers, progress=progress):
        if entry is not None:
            report.entries[rel] = entry
            report.labelled.append(rel)
        else:
            size, mtime_ns = found[rel]
            skipped_records[rel] = {"size": size, "mtime_ns": mtime_ns, "reason": reason, "model_version": version}
    report.skipped = {rel: rec["reason"] for rel, rec in sorted(skipped_records.items())}

    changed = bool(todo or touched or report.removed or set(old_skipped) != set(skipped_records))
    if changed or not old:
        write_index(index_path, {
            "schema": INDEX_SCHEMA,
            "folder": str(folder),
            "model_version": version,
            "updated_unix": round(time.time(), 3),
            "samples": dict(sorted(report.entries.items())),
            "skipped": dict(sorted(skipped_records.items())),
        })
        report.written = True
    report.seconds = time.perf_counter() - started
    return report


def _same_content(path: Path, entry: dict) -> bool:
    try:
        return file_sha256(str(path)) == entry.get("sha256")
    except OSError:
        return False


# --- the bank -------------------------------------------------------------------------------------

def bank_from_entries(folder: Path, entries: dict[str, dict]) -> SoundBank:
    samples = []
    digest = hashlib.sha256()
    for rel in sorted(entries):
        e = entries[rel]
        midi = e.get("midi_note")
        samples.append(Sample(
            path=str(folder / rel),
            labels=Labels(fold_pitch(e["pitch"]), e["volume"], e["timbre"]),
            confidence=dict(e["confidence"]),
            midi_note=float(midi) if midi is not None else None,
        ))
        digest.update(f"{rel}\0{e['sha256']}\0{e['pitch']}{e['volume']}{e['timbre']}\n".encode())
    return SoundBank(tuple(samples), version=digest.hexdigest()[:16])


def load_bank(folder: str | os.PathLike, *, index_path: Path | None = None, update: bool = True,
              model_dir: Path | None = None) -> SoundBank:
    """The SoundBank of a folder. With update=True (default) the index is first brought up to date
    (fast when nothing changed); with update=False the stored index is used as it is."""
    folder = Path(folder).resolve()
    if update:
        report = update_index(folder, index_path=index_path, model_dir=model_dir)
        entries = report.entries
    else:
        path = Path(index_path) if index_path else default_index_path(folder)
        data = read_index(path)
        if data is None:
            raise SoundBankError(f"{folder} has no index at {path}; index it with: python run_bridge.py index {folder}")
        entries = data["samples"]
    if not entries:
        raise SoundBankError(f"no usable samples in {folder} (WAV, FLAC, OGG or AIFF files are indexed)")
    return bank_from_entries(folder, entries)
