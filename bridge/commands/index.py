"""`index FOLDER`: label every sample of a folder (incrementally) and store the sound bank index.

Exit codes: 0 all files labelled, 3 some files were skipped (listed with their reasons), 1 error.
A skipped file is named on stderr and, with --json, as a `{"file": ..., "skipped": reason}` line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bridge.core.bank import register_of

if TYPE_CHECKING:
    from bridge.adapters.soundbank_index import IndexReport

EXIT_SKIPPED = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="label the samples of a folder and store the sound bank index")
    parser.add_argument("folder", type=Path, help="folder scanned recursively for WAV, FLAC, OGG and AIFF files")
    parser.add_argument("--json", action="store_true", help="print one JSON object per sample on stdout")
    parser.add_argument("--index", type=Path, help="index file (default $PICT2AUDIO_CACHE/index/<folder>-<hash>.json)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.set_defaults(func=run)


class ProgressBar:
    """A one-line bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        filled = int(self.width * done / max(total, 1))
        rate = done / max(now - self.started, 1e-9)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} files, {rate:.0f} files/s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def sample_json(path: str, entry: dict) -> dict:
    """The --json record of one sample: `confidence` is the lowest of the three heads' confidences."""
    conf = entry["confidence"]
    return {
        "file": path,
        "pitch": entry["pitch"],
        "volume": entry["volume"],
        "timbre": entry["timbre"],
        "confidence": min(conf.values()),
        "confidences": conf,
        "methods": entry["methods"],
        "pitched": entry.get("pitched", True),
        "register": register_of(entry["midi_note"]) if entry.get("pitched", True) and entry.get("midi_note")
        is not None else None,
        "midi_note": entry.get("midi_note"),
        "f0_hz": entry.get("f0_hz"),
        "rms_dbfs": entry.get("rms_dbfs"),
        "peak_dbfs": entry.get("peak_dbfs"),
        "duration_s": entry.get("duration_s"),
        "sha256": entry["sha256"],
        "model_version": entry["model_version"],
    }


def json_lines(report: IndexReport) -> Iterator[str]:
    """The --json output: one object per sample, then one per skipped file (`file`, `skipped`: the
    reason). Strict JSON: a NaN or an infinity raises ValueError instead of being printed."""
    for path, entry in report.samples():
        yield json.dumps(sample_json(path, entry), allow_nan=False)
    for rel, reason in report.skipped.items():
        yield json.dumps({"file": str(report.folder / rel), "skipped": reason}, allow_nan=False)


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.soundbank_index import is_utf8, shown_path, update_index

    progress = ProgressBar() if sys.stderr.isatty() and not args.no_progress else None
    report = update_index(args.folder, index_path=args.index, workers=args.workers, progress=progress)
    if args.json:
        out = sys.stdout
        try:
            for line in json_lines(report):
                out.write(line + "\n")
            out.flush()
        except BrokenPipeError:  # the reader went away (`| head`): stop writing, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    summary = (
        f"{len(report.entries)} samples in the index {shown_path(report.index_path)} "
        f"({len(report.labelled)} labelled, {report.reused} unchanged, {len(report.removed)} removed, "
        f"{len(report.skipped)} skipped) in {report.seconds:.2f} s"
    )
    print(summary, file=sys.stderr)
    not_utf8 = sum(not is_utf8(path) for path, _ in report.samples())
    if not_utf8:
        print(f"note: {not_utf8} sample(s) have names that are not UTF-8: indexed, but left out of the bank "
              "when playing (OSC and the local player need UTF-8 paths); rename them to play them", file=sys.stderr)
    for rel, reason in report.skipped.items():
        print(f"skipped {shown_path(report.folder / rel)}: {reason}", file=sys.stderr)
    return EXIT_SKIPPED if report.skipped else 0
