"""`label FILE...`: correct the labels of sound bank samples; the composer's labels win over the models.

    run_bridge.py label FILE... [--timbre T] [--volume V] [--pitch NOTE] [--clear] [--bank FOLDER] [--json]

With no label option it prints each file's labels and where each came from (`methods`: dsp, cnn or
composer). A correction is saved in the bank folder's `pict2audio-labels.toml` (or, when the folder cannot
be written, beside its index in the cache: bridge.adapters.label_corrections) and adds to the file's
earlier correction; `--clear` removes it. The bank folder is `--bank`, else the nearest folder above the
file that holds a corrections file or has been indexed, else the file's own folder. A file that cannot be
corrected (missing, not audio, outside the bank) gets one line on stderr and the others go on; the exit
code is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bridge.core.errors import BridgeError, ConfigError
from bridge.core.labels import TIMBRES, VOLUMES, note_name

if TYPE_CHECKING:
    from bridge.adapters.label_corrections import Correction


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("label", help="correct the labels of sound bank samples (they win over the models)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files of a sound bank folder")
    parser.add_argument("--timbre", choices=TIMBRES, help="the file's timbre")
    parser.add_argument("--volume", choices=VOLUMES, help="the file's volume class")
    parser.add_argument("--pitch", metavar="NOTE", help="the file's note: a MIDI note 0..127 or a name like C5 or Bb3 "
                                                        "(folded into 69..80 for matching)")
    parser.add_argument("--clear", action="store_true", help="remove the files' corrections (the models' labels again)")
    parser.add_argument("--bank", type=Path, metavar="FOLDER", help="the bank folder (default: found from the file)")
    parser.add_argument("--index", type=Path, help="the bank's index file (default: the one `index` writes)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file (as `index --json`)")
    parser.set_defaults(func=run)


def wanted_correction(args: argparse.Namespace) -> Correction | Literal[False] | None:
    """The Correction the flags ask for; None for --clear; False when they only ask to show the labels."""
    from bridge.adapters.label_corrections import Correction, parse_pitch

    given = {head: getattr(args, head) for head in ("pitch", "volume", "timbre") if getattr(args, head) is not None}
    if args.clear and given:
        raise ConfigError("--clear removes a correction; it cannot be given with --timbre, --volume or --pitch")
    if args.clear:
        return None
    if not given:
        return False
    if "pitch" in given:
        try:
            given["pitch"] = parse_pitch(given["pitch"])
        except ValueError as exc:
            raise ConfigError(f"--{exc}") from None
    return Correction(**given)


def bank_folder(file: Path, bank: Path | None) -> Path:
    """The bank folder of a sample: `bank`, else the nearest folder above it with a corrections file or an
    index, else its own folder. BridgeError when the file is not inside `bank`."""
    from bridge.adapters.label_corrections import SIDECAR_NAME
    from bridge.adapters.soundbank_index import default_index_path

    if bank is not None:
        folder = bank.expanduser().resolve()
        if not file.is_relative_to(folder):
            raise BridgeError(f"{file}: not inside the bank folder {folder}; give the bank with --bank")
        return folder
    for folder in file.parents:
        if (folder / SIDECAR_NAME).exists() or default_index_path(folder).exists():
            return folder
    return file.parent


def run(args: argparse.Namespace) -> int:
    correction = wanted_correction(args)
    failed = 0
    for path in args.files:
        try:
            record, note = label_file(path, correction, bank=args.bank, index=args.index)
        except BridgeError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr, flush=True)
            continue
        print(json.dumps(record, allow_nan=False) if args.json else describe(record, note), flush=True)
    return 1 if failed else 0


def label_file(path: Path, correction: Correction | Literal[False] | None, *, bank: Path | None,
               index: Path | None) -> tuple[dict, str]:
    """Save (or clear, or only read) one file's correction; (its labels as `index --json` shows them, a note
    on where the correction went)."""
    from bridge.adapters.audio_features import SUPPORTED_EXTENSIONS
    from bridge.adapters.label_corrections import relative_key, save_correction
    from bridge.adapters.soundbank_index import default_index_path, is_utf8

    file = path.expanduser().resolve()
    if not file.is_file():
        raise BridgeError(f"{path}: no such file; give an audio file of the bank")
    if not file.name.lower().endswith(SUPPORTED_EXTENSIONS):
        raise BridgeError(f"{path}: not an audio file the index reads ({', '.join(SUPPORTED_EXTENSIONS)})")
    if not is_utf8(str(file)):
        raise BridgeError(f"{path}: its name is not UTF-8, so it cannot be played or corrected; rename it")
    folder = bank_folder(file, bank)
    index_path = index.expanduser().resolve() if index is not None else default_index_path(folder)
    key = relative_key(folder, file)
    note = ""
    if correction is not False:
        written = save_correction(folder, index_path, key, correction)
        note = f"{'cleared' if correction is None else 'saved'} in {written}"
    return labels_record(folder, index_path, key), note


def labels_record(folder: Path, index_path: Path, key: str) -> dict[str, Any]:
    """The file's labels now: its index entry with the corrections on top (as `index --json` prints it), or
    only its correction when it has not been indexed yet."""
    from bridge.adapters.label_corrections import corrected_entry, read_corrections
    from bridge.adapters.soundbank_index import read_index
    from bridge.commands.index import sample_json

    path = str(folder / key)
    data = read_index(index_path) or {}
    entry = data.get("samples", {}).get(key) if data.get("folder") == str(folder) else None
    correction = read_corrections(folder, index_path).get(key)
    if entry is not None:
        return sample_json(path, entry if correction is None else corrected_entry(entry, correction))
    heads = {} if correction is None else correction.heads()
    return {"file": path, **heads, "methods": {head: "composer" for head in heads}, "indexed": False}


def describe(record: dict[str, Any], note: str) -> str:
    """One line: the file, each label with where it came from, and where the correction was saved."""
    methods = record.get("methods", {})
    parts = []
    for head in ("pitch", "volume", "timbre"):
        if head in record:
            value = record[head]
            shown = f"{value} {note_name(value)}" if head == "pitch" else value
            parts.append(f"{head} {shown} ({methods.get(head, '?')})")
    if record.get("indexed") is False:
        parts.append("not indexed yet: `index FOLDER` labels the rest")
    return f"{record['file']}: {', '.join(parts) or 'no labels'}" + (f"; {note}" if note else "")
