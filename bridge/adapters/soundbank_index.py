"""The sound bank index: scan a folder, label new or changed files in worker processes, store the
result atomically, and turn it into a `SoundBank`.

One JSON file per indexed folder (under `$PICT2AUDIO_CACHE/index/`, or a path given with `index_path`).
A file is re-labelled only when its (size, mtime_ns) changed and its content hash changed too, or when
the model changed; removed files are dropped. The index is written once, at the end of a run, to a
temporary file that replaces the old one (`os.replace`), so a killed run leaves the previous index as it was.

Bad input never stops a run: a file that cannot be labelled (bad content, NaN samples, a symlink loop,
permissions) is skipped with a reason and the rest is indexed. Nothing non-finite is ever written (the
JSON is strict). File names are the `os.fsdecode` strings of the names on disk: a byte that is not UTF-8
becomes a lone surrogate (U+DC80..U+DCFF), which the ASCII-only JSON writes as a `\\udcXX` escape, and
`os.fsencode` gives the original bytes back. Worker processes die with the run (SIGKILL or SIGTERM
included), so none is left behind.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bridge.adapters.atomic_write import write_atomically
from bridge.adapters.audio_features import SUPPORTED_EXTENSIONS, SoundFeatures, UnusableAudio, features_for_file
from bridge.adapters.label_corrections import apply_corrections
from bridge.core.audio_levels import fold_pitch, midi_to_hz
from bridge.core.bank import Sample, SoundBank
from bridge.core.errors import SoundBankError
from bridge.core.index_plan import Listing, plan_index
from bridge.core.labels import Labels

log = logging.getLogger(__name__)

INDEX_SCHEMA = 1
CHUNK_FILES = 32  # files per worker task (one CNN batch)
IN_PROCESS_BELOW = 48  # fewer files than this are labelled without starting worker processes

ProgressFn = Callable[[int, int], None]
PR_SET_PDEATHSIG = 1  # linux/prctl.h
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc malloc.h
MALLOC_KEEP_BYTES = 32 << 20  # allocations below this come from (and return to) the worker's own heap
PARENT_POLL_S = 0.5  # where prctl is missing, a worker checks this often whether its parent is alive


class Outcome(NamedTuple):
    """What labelling one file gave: its index entry, or the reason it was skipped. `retry` marks a
    skip caused by the file system (permissions, I/O, a vanished file) rather than by the file's
    content: such a file is tried again on the next run instead of being remembered as bad."""

    rel: str
    entry: dict | None
    reason: str | None = None
    retry: bool = False


def cache_dir() -> Path:
    """$PICT2AUDIO_CACHE, or ~/.cache/pict2audio."""
    return Path(os.environ.get("PICT2AUDIO_CACHE") or Path.home() / ".cache" / "pict2audio")


def default_index_path(folder: str | os.PathLike) -> Path:
    """Where the index of a folder lives: one file per absolute folder path, in the cache."""
    folder = Path(folder).resolve()
    digest = hashlib.sha1(os.fsencode(folder)).hexdigest()[:12]  # the bytes of the path: any name works
    name = os.fsencode(folder.name).decode("utf-8", "replace") or "root"  # the index's own name stays UTF-8
    return cache_dir() / "index" / f"{name}-{digest}.json"


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

@dataclass
class ScanResult:
    """found: relative path -> (size, mtime_ns) of every supported audio file; problems: relative path
    -> why an entry that looked like one (or a folder) could not be looked at."""

    found: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def scan(folder: Path) -> ScanResult:
    """Every supported audio file under folder (recursive; hidden folders and symlinked folders are not
    entered). An entry that cannot be looked at is a problem of its own: the rest is still scanned."""
    result = ScanResult()
    stack = [str(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = list(it)
        except OSError as exc:
            if current == str(folder):
                raise SoundBankError(f"cannot list {folder} ({exc.strerror or exc}); make it readable") from exc
            result.problems[os.path.relpath(current, folder)] = (
                f"folder not readable ({exc.strerror or exc}): its files are not indexed; make it readable")
            continue
        for entry in entries:
            _scan_entry(entry, folder, stack, result)
    return result


def _scan_entry(entry: os.DirEntry, folder: Path, stack: list[str], result: ScanResult) -> None:
    try:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                stack.append(entry.path)
            return
        if not entry.name.lower().endswith(SUPPORTED_EXTENSIONS):
            return
        st = entry.stat()  # follows a symlink to its file
    except OSError as exc:
        problem = _stat_problem(entry, exc)
        if problem:
            result.problems[os.path.relpath(entry.path, folder)] = problem
        return
    if stat.S_ISREG(st.st_mode):  # a FIFO or device named .wav is not opened (reading one could block)
        result.found[os.path.relpath(entry.path, folder)] = (st.st_size, st.st_mtime_ns)


def _stat_problem(entry: os.DirEntry, exc: OSError) -> str | None:
    """The skip reason of an entry whose stat failed; None for a file removed while scanning."""
    if exc.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links): fix or remove the link"
    if isinstance(exc, FileNotFoundError):
        if not os.path.islink(entry.path):
            return None
        return "broken symlink (its target does not exist): fix or remove the link"
    return f"unreadable ({exc.strerror or exc})"


def file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --- the workers ----------------------------------------------------------------------------------

_CLASSIFIER = None


def _init_worker(model_dir: str | None, parent_pid: int | None = None, *, single_thread_blas: bool = True) -> None:
    """Load the classifier once per worker process. The workers are one per core, so BLAS runs one
    thread each (the mel projection is a small matrix product that multi-threading only slows down).
    With parent_pid (a pool worker), the worker dies when that process does, and keeps its freed memory
    for the next file (`_keep_freed_memory`)."""
    global _CLASSIFIER
    from bridge.adapters.sound_classifier import MODEL_DIR, SoundClassifier

    if parent_pid is not None:
        _die_with_parent(parent_pid)
        _keep_freed_memory()
    if single_thread_blas:
        from threadpoolctl import threadpool_limits  # installed with librosa (via scikit-learn)

        threadpool_limits(limits=1, user_api="blas")
    _CLASSIFIER = SoundClassifier(Path(model_dir) if model_dir else MODEL_DIR)


def _keep_freed_memory() -> None:
    """glibc returns a freed block of 128 KiB or more to the kernel at once, so every file's arrays (its
    frames, spectra: a few hundred KiB each) come back as fresh pages to fault in and zero, which cost as
    much as the analysis. A worker keeps up to MALLOC_KEEP_BYTES for reuse instead (mallopt; elsewhere
    nothing changes)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MALLOC_KEEP_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, 2 * MALLOC_KEEP_BYTES)
    except (OSError, AttributeError):  # not glibc
        pass


def _die_with_parent(parent_pid: int) -> None:
    """A pool worker must not outlive an index run that is killed (SIGKILL, SIGTERM): its pipes to the
    parent stay open in the worker itself, so it would wait for work forever. On Linux the kernel kills
    the worker when its parent dies (prctl PR_SET_PDEATHSIG: the pool forks its workers from the thread
    that submits, which lives as long as the pool); elsewhere a daemon thread polls the parent's pid."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            zero = ctypes.c_ulong(0)  # prctl is variadic: its arguments are unsigned longs
            if libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), zero, zero, zero) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _label_chunk(folder: str, rels: list[str]) -> list[Outcome]:
    """Label a few files in one batch. A file that fails in any way is skipped with its reason: one
    bad file never costs the others their labels."""
    assert _CLASSIFIER is not None, "worker not initialised"
    out: list[Outcome] = []
    good = []
    for rel in rels:
        features = _features(os.path.join(folder, rel), rel)
        if isinstance(features, Outcome):
            out.append(features)
        else:
            good.append((rel, *features))
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
            **_checked_pitch(labels),
        }
        if all_finite(entry):
            out.append(Outcome(rel, entry))
        else:  # a safety net: the features are checked, but NaN must never reach the index
            out.append(Outcome(rel, None, "not finite (the labels came out NaN or infinite)"))
    return out


def _checked_pitch(labels) -> dict[str, float]:
    """The labeller's unfolded pitch estimate (YIN after its second opinion), where it has one: the note
    the index keeps (`midi_note`, the sample's register) and its f0."""
    midi = getattr(labels, "midi_note", None)
    return {} if midi is None else {"midi_note": round(midi, 3), "f0_hz": round(midi_to_hz(midi), 3)}


def _features(path: str, rel: str) -> tuple[os.stat_result, str, SoundFeatures] | Outcome:
    """(stat, sha256, SoundFeatures) of one file, or the Outcome that says why it cannot be labelled."""
    try:
        return os.stat(path), file_sha256(path), features_for_file(path)
    except UnusableAudio as exc:
        return Outcome(rel, None, exc.reason, exc.retry)
    except OSError as exc:
        return Outcome(rel, None, f"unreadable ({exc.strerror or exc})", retry=True)
    except Exception as exc:  # a library failing on a file it should have refused: skip that file only
        log.debug("labelling %s failed", path, exc_info=True)
        return Outcome(rel, None, f"could not be labelled ({type(exc).__name__}: {exc})", retry=True)


def all_finite(value: object) -> bool:
    """True when no number in value (nested dicts and lists) is NaN or infinite (the strict JSON encoder, in C,
    refuses them)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _label_files(folder: Path, rels: list[str], *, model_dir: Path | None, workers: int,
                 progress: ProgressFn | None) -> Iterator[Outcome]:
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
    _warm_up(model_dir)  # before forking, so the workers start warm

    init_args = (str(model_dir) if model_dir else None, os.getpid())
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init_args) as pool:
        futures = {pool.submit(_label_chunk, str(folder), chunk): chunk for chunk in chunks}
        for future in as_completed(futures):
            results = _chunk_results(future, futures[future])
            yield from results
            done += len(results)
            log.debug("labelled %d/%d", done, len(rels))
            if progress:
                progress(done, len(rels))


def _warm_up(model_dir: Path | None) -> None:
    """Label one generated note in this process: every import and first-use cost of the labelling path
    (soxr, soundfile, the FFT tables, LiteRT, anything the labeller loads lazily) is paid once, here,
    before the workers are forked from it."""
    import numpy as np

    from bridge.adapters.audio_features import SAMPLE_RATE_HZ, prepare, warm_up
    from bridge.adapters.sound_classifier import MODEL_DIR, SoundClassifier, warm_up_inference

    warm_up()
    warm_up_inference()
    t = np.arange(SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    SoundClassifier(model_dir or MODEL_DIR).label([prepare(np.sin(2 * np.pi * 440 * t) * 0.5,
                                                           sample_rate_hz=SAMPLE_RATE_HZ)])


def _chunk_results(future: Future, chunk: list[str]) -> list[Outcome]:
    """A worker's results; if the worker died (killed, out of memory, a crash in a decoder), its
    files are skipped with that reason and tried again on the next run."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        reason = f"not labelled: a worker process died while labelling its batch ({exc}); run index again"
        return [Outcome(rel, None, reason, retry=True) for rel in chunk]


# --- the index file -------------------------------------------------------------------------------

def read_index(index_path: Path) -> dict | None:
    """The stored index, or None when there is none (or it is unusable: then it is rebuilt).

    An index holding NaN or Infinity (which json.loads accepts, but this code never writes) still loads:
    the samples with such values are dropped, so they are labelled again."""
    non_finite: list[str] = []

    def constant(name: str) -> float:
        non_finite.append(name)
        return float(name)  # "NaN", "Infinity", "-Infinity"

    try:
        data = json.loads(index_path.read_bytes(), parse_constant=constant)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("index %s is unreadable (%s); rebuilding it", index_path, exc)
        return None
    if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
        log.warning("index %s has another schema; rebuilding it", index_path)
        return None
    if non_finite:
        _drop_non_finite(data, index_path)
    return data


def _drop_non_finite(data: dict, index_path: Path) -> None:
    for section in ("samples", "skipped"):
        records = data.get(section)
        if isinstance(records, dict):
            bad = [rel for rel, record in records.items() if not all_finite(record)]
            for rel in bad:
                del records[rel]
            if bad:
                log.warning("index %s: %d %s record(s) held NaN or Infinity; they are redone", index_path,
                            len(bad), section)


def write_index(index_path: Path, data: dict) -> None:
    """Atomic: a killed run leaves the previous index as it was. Strict JSON (NaN or Infinity raise
    ValueError, never written) and ASCII only, so names that are not UTF-8 are escaped, not broken."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    write_atomically(index_path, lambda handle: handle.write(text.encode("ascii")))


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
    scanned = scan(folder)
    plan = plan_index(scanned.found, scanned.problems, old, folder=str(folder), version=version)

    report = IndexReport(folder=folder, index_path=index_path, entries=dict(plan.unchanged), removed=plan.removed)
    skipped_records = {**{rel: _scan_skip_record(folder / rel, reason, version) for rel, reason in plan.failed.items()},
                       **plan.known_bad}
    touched = _touched_entries(folder, plan.recheck, scanned.found)
    report.entries.update(touched)
    report.reused = len(report.entries)
    todo = sorted([*plan.to_label, *(set(plan.recheck) - set(touched))])
    _label_into(report, skipped_records, todo, scanned.found, version,
                model_dir=model_dir, workers=workers or os.cpu_count() or 1, progress=progress)
    report.skipped = {rel: record["reason"] for rel, record in sorted(skipped_records.items())}

    # A file tried again and skipped for the same reason changes nothing: the index is not rewritten.
    if report.labelled or touched or report.removed or plan.old_skipped != skipped_records or not old:
        _write_records(index_path, folder, version, report.entries, skipped_records)
        report.written = True
    report.entries = apply_corrections(folder, report.entries, index_path=index_path)  # the composer's win
    report.seconds = time.perf_counter() - started
    return report


def _touched_entries(folder: Path, recheck: dict[str, dict], found: Listing) -> dict[str, dict]:
    """The entries whose file has a new size or mtime but the same content (touched, not changed), updated."""
    return {rel: {**entry, "size": found[rel][0], "mtime_ns": found[rel][1]}
            for rel, entry in recheck.items() if _same_content(folder / rel, entry)}


def _label_into(report: IndexReport, skipped_records: dict[str, dict], todo: list[str], found: Listing,
                version: str, *, model_dir: Path | None, workers: int, progress: ProgressFn | None) -> None:
    """Label the files `todo`: each becomes an entry of the report, or a skip record with its reason."""
    log.info("%s: labelling %d new or changed files (%d unchanged, %d removed) with %d worker(s)", report.folder,
             len(todo), report.reused, len(report.removed), workers if len(todo) >= IN_PROCESS_BELOW else 1)
    for outcome in _label_files(report.folder, todo, model_dir=model_dir, workers=workers, progress=progress):
        if outcome.entry is not None:
            report.entries[outcome.rel] = outcome.entry
            report.labelled.append(outcome.rel)
        else:
            size, mtime_ns = found[outcome.rel]
            skipped_records[outcome.rel] = {"size": size, "mtime_ns": mtime_ns, "reason": outcome.reason,
                                            "model_version": version, "retry": outcome.retry}


def _write_records(index_path: Path, folder: Path, version: str, entries: dict[str, dict],
                   skipped_records: dict[str, dict]) -> None:
    """Store the index: every entry and skip record, sorted by path."""
    write_index(index_path, {
        "schema": INDEX_SCHEMA,
        "folder": str(folder),
        "model_version": version,
        "updated_unix": round(time.time(), 3),
        "samples": dict(sorted(entries.items())),
        "skipped": dict(sorted(skipped_records.items())),
    })


def _scan_skip_record(path: Path, reason: str, version: str) -> dict:
    """The index record of an entry the scan could not look at (found again by every scan)."""
    try:
        st = os.lstat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime_ns = 0, 0
    return {"size": size, "mtime_ns": mtime_ns, "reason": reason, "model_version": version, "retry": True}


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
            pitched=bool(e.get("pitched", True)),
        ))
        # surrogateescape: a name that is not UTF-8 hashes as its bytes (UTF-8 names as they always did)
        unpitched = "" if e.get("pitched", True) else "\0unpitched"
        line = f"{rel}\0{e['sha256']}\0{e['pitch']}{e['volume']}{e['timbre']}{unpitched}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
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
        entries = apply_corrections(folder, data["samples"], index_path=path)
    if not entries:
        raise SoundBankError(f"no usable samples in {folder} (WAV, FLAC, OGG or AIFF files are indexed)")
    return bank_from_entries(folder, playable_entries(folder, entries))


def playable_entries(folder: Path, entries: dict[str, dict]) -> dict[str, dict]:
    """The entries whose path is UTF-8. A name that is not is indexed (its bytes kept as surrogates) but
    cannot be played: OSC sends paths as UTF-8 strings (python-osc refuses the whole bundle) and the
    local player cannot open such a path. Those samples stay out of the bank, with one warning."""
    playable = {rel: e for rel, e in entries.items() if is_utf8(str(folder / rel))}
    if len(playable) < len(entries):
        names = ", ".join(shown_path(folder / rel) for rel in sorted(set(entries) - set(playable))[:5])
        advice = (f"{len(entries) - len(playable)} sample(s) of {shown_path(folder)} have names that are not UTF-8, "
                  "which OSC and the local player cannot carry; rename them "
                  f"(e.g. convmv -f latin1 -t utf8 -r --notest FOLDER): {names}")
        if not playable:
            raise SoundBankError(f"no playable samples: {advice}")
        log.warning("left out of the bank: %s", advice)
    return playable


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: a byte of the name on disk that is not UTF-8
        return False
    return True


def shown_path(path: str | os.PathLike) -> str:
    """A path for a message: bytes that are not UTF-8 show as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
