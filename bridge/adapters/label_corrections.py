"""The composer's corrections of a sound bank's labels: a TOML sidecar file whose labels win over the models.

The file is `pict2audio-labels.toml` in the bank folder, so it travels with the samples; one table per
corrected file, named by its path relative to the folder (`/` between folders), holding any of the three
labels:

    ["brass/trumpet-C5.wav"]
    timbre = "brass"
    pitch = 72          # a MIDI note 0..127 (or "C5"); folded into 69..80 for matching, as an estimate is
    volume = "med"

When the bank folder cannot be written (a read-only sample library), corrections are saved in the cache
beside the folder's index instead (`<index name>.labels.toml`, same format). Both files are read; for a
file named in both, the cache's entry wins (it was written when the folder's could not be), and saving a
correction in the folder drops that file's entry from the cache's, so the newest correction always wins.

Corrections are applied each time the index is read (`apply_corrections`, called by the sound bank index):
the index itself keeps the models' labels, so corrections survive re-indexing and a new model that
relabels everything. A corrected label has confidence 1.0 and method `"composer"`. A correction naming
a file that is no longer in the folder is reported (a warning) and otherwise ignored.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.adapters.atomic_write import write_atomically
from bridge.core.audio_levels import fold_pitch
from bridge.core.errors import SoundBankError
from bridge.core.labels import HEADS, NOTE_NAMES, TIMBRES, VOLUMES

log = logging.getLogger(__name__)

SIDECAR_NAME = "pict2audio-labels.toml"
CACHE_SUFFIX = ".labels.toml"
METHOD = "composer"
HEADER = ("# Pict2Audio: the composer's corrections of this sound bank's labels (they win over the models).\n"
          "# One table per file, by its path in the bank folder; any of pitch (MIDI note or name like \"C5\"),\n"
          "# volume (low, med, high) and timbre (" + ", ".join(TIMBRES) + ").\n\n")
_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
_FLAT_TO_SHARP = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}


@dataclass(frozen=True)
class Correction:
    """The labels the composer gave one file; None = keep the model's."""

    pitch: int | None = None  # a MIDI note 0..127 as given (matching folds it into 69..80)
    volume: str | None = None
    timbre: str | None = None

    def __post_init__(self) -> None:
        if self.pitch is not None and (isinstance(self.pitch, bool) or not isinstance(self.pitch, int)
                                       or not 0 <= self.pitch <= 127):
            raise ValueError(f"pitch: expected a MIDI note 0..127 or a note name like \"C5\", got {self.pitch!r}")
        for head, classes in (("volume", VOLUMES), ("timbre", TIMBRES)):
            value = getattr(self, head)
            if value is not None and value not in classes:
                raise ValueError(f"{head}: expected one of {', '.join(classes)}, got {value!r}")
        if not self.heads():
            raise ValueError("expected at least one of pitch, volume, timbre")

    def heads(self) -> dict[str, int | str]:
        """The corrected heads and their values."""
        return {head: getattr(self, head) for head in HEADS if getattr(self, head) is not None}

    def updated(self, other: Correction) -> Correction:
        """This correction with `other`'s heads on top (a second `label` call adds to the first)."""
        return Correction(pitch=self.pitch if other.pitch is None else other.pitch,
                          volume=self.volume if other.volume is None else other.volume,
                          timbre=self.timbre if other.timbre is None else other.timbre)


def parse_pitch(value: Any) -> int:
    """A MIDI note 0..127 from an int or a note name ("C5", "G#4", "Bb3"); ValueError otherwise."""
    note = None
    if isinstance(value, int) and not isinstance(value, bool):
        note = value
    elif isinstance(value, str) and value.strip().isdigit():
        note = int(value.strip())
    elif isinstance(value, str) and (found := _NOTE.match(value.strip())):
        name = found.group(1).upper() + found.group(2)
        name = _FLAT_TO_SHARP.get(name, name)
        if name in NOTE_NAMES:  # Cb, Fb, E#, B# are not written here
            note = NOTE_NAMES.index(name) + 12 * (int(found.group(3)) + 1)
    if note is not None and 0 <= note <= 127:
        return note
    raise ValueError(f"pitch: expected a MIDI note 0..127 or a note name like \"C5\", got {value!r}")


def correction_from_table(table: Any) -> Correction:
    """A sidecar table ({"pitch": .., "volume": .., "timbre": ..}) -> Correction; ValueError naming the key."""
    if not isinstance(table, Mapping):
        raise ValueError(f"expected a table of labels (pitch, volume, timbre), got {table!r}")
    unknown = sorted(set(table) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; expected pitch, volume or timbre")
    values = dict(table)
    if "pitch" in values:
        values["pitch"] = parse_pitch(values["pitch"])
    return Correction(**values)


# -- where the corrections live ---------------------------------------------------------------------------


def sidecar_paths(folder: Path, index_path: Path) -> tuple[Path, Path]:
    """(the bank folder's file, the cache's file beside the index)."""
    return Path(folder) / SIDECAR_NAME, index_path.with_name(index_path.stem + CACHE_SUFFIX)


def relative_key(folder: Path, path: Path) -> str:
    """A file's key in the sidecar: its path relative to the folder, with '/' between folders."""
    return Path(os.path.relpath(path, folder)).as_posix()


def read_corrections(folder: Path, index_path: Path) -> dict[str, Correction]:
    """Every correction of the bank (the cache's entries win over the folder's); SoundBankError naming the
    file and the entry for a file that cannot be read or an entry that is not a correction."""
    corrections: dict[str, Correction] = {}
    for path in sidecar_paths(folder, index_path):
        corrections.update(_read_file(path))
    return corrections


def _read_file(path: Path) -> dict[str, Correction]:
    doc = _read_toml(path)
    out = {}
    for rel, table in doc.items():
        try:
            out[Path(rel).as_posix()] = correction_from_table(table)
        except ValueError as exc:
            raise SoundBankError(f"label corrections {path}: [{_quoted(rel)}] {exc}; fix the entry "
                                 f"(or remove it with: python run_bridge.py label FILE --clear)") from exc
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SoundBankError(f"label corrections {path}: cannot be read ({exc}); fix or remove the file") from exc


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- applying them --------------------------------------------------------------------------------------


def apply_corrections(folder: Path, entries: dict[str, dict], *, index_path: Path) -> dict[str, dict]:
    """The index entries with the composer's labels on top (the same dict when there are none). A correction
    naming a file that is not in the bank is reported as a warning."""
    corrections = read_corrections(folder, index_path)
    if not corrections:
        return entries
    for problem in unmatched(folder, corrections, entries):
        log.warning("%s", problem)
    return {rel: corrected_entry(entry, corrections[key]) if (key := Path(rel).as_posix()) in corrections
            else entry for rel, entry in entries.items()}


def unmatched(folder: Path, corrections: Mapping[str, Correction], entries: Mapping[str, dict]) -> list[str]:
    """A message per correction that names no sample of the bank (the file is gone, or was not indexed)."""
    indexed = {Path(rel).as_posix() for rel in entries}
    problems = []
    for key in sorted(set(corrections) - indexed):
        if (Path(folder) / key).exists():
            why = "is not in the bank (not an audio file the index reads, or skipped: see `index`)"
        else:
            why = "names a file that no longer exists"
        problems.append(f"label correction [{_quoted(key)}] in {folder}: {why}; it is ignored (remove it with "
                        f"`python run_bridge.py label FILE --clear`, or edit {SIDECAR_NAME})")
    return problems


def corrected_entry(entry: dict, correction: Correction) -> dict:
    """An index entry with the corrected labels: confidence 1.0, method "composer", the given note kept."""
    out = {**entry, "confidence": {**entry.get("confidence", {})}, "methods": {**entry.get("methods", {})}}
    for head, value in correction.heads().items():
        out[head] = value if isinstance(value, str) else fold_pitch(value)  # the pitch is the one number
        out["confidence"][head] = 1.0
        out["methods"][head] = METHOD
    if correction.pitch is not None:
        out["midi_note"] = float(correction.pitch)
    return out


# -- saving them ----------------------------------------------------------------------------------------


def save_correction(folder: Path, index_path: Path, key: str, correction: Correction | None) -> Path:
    """Set (or, with None, clear) one file's correction; returns the file written. Written atomically in the
    bank folder, or in the cache when the folder cannot be written. A new correction adds to the file's earlier
    one (`Correction.updated`)."""
    folder_file, cache_file = sidecar_paths(folder, index_path)
    current = read_corrections(folder, index_path).get(key)
    if correction is not None and current is not None:
        correction = current.updated(correction)
    try:
        _write_entry(folder_file, key, correction)
    except OSError as exc:
        log.info("cannot write %s (%s): the correction goes to %s", folder_file, exc.strerror or exc, cache_file)
        try:
            _write_entry(cache_file, key, correction)
        except OSError as cache_exc:
            raise SoundBankError(f"cannot save the label correction: neither {folder_file} nor {cache_file} can "
                                 f"be written ({cache_exc.strerror or cache_exc}); make one of them writable") from None
        return cache_file
    if key in _read_file(cache_file):  # an older correction there would win over this one
        _write_entry(cache_file, key, None)
    return folder_file


def _write_entry(path: Path, key: str, correction: Correction | None) -> None:
    """Rewrite `path` with `key`'s table set or removed (the other tables kept; a file left empty is removed)."""
    import tomli_w

    doc = _read_toml(path)
    if correction is None:
        if key not in doc:
            return
        doc.pop(key)
    else:
        doc[key] = correction.heads()
    if not doc:
        path.unlink(missing_ok=True)
        return
    text = HEADER + tomli_w.dumps(dict(sorted(doc.items())))
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))

