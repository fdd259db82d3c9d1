"""What an index run must do, decided from the folder's listing and the stored index alone (no I/O).

A found file is reused when its (size, mtime_ns) and model version match its entry; remembered as bad
when the same file was skipped by the same model for its content (not for a file-system error, which is
tried again); checked by content hash when only its size or mtime changed; labelled otherwise. Entries of
files no longer found are removed. bridge.adapters.soundbank_index carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Listing = Mapping[str, tuple[int, int]]  # relative path -> (size, mtime_ns)
Record = dict[str, Any]  # a stored index entry or skip record, as JSON


@dataclass(frozen=True)
class IndexPlan:
    unchanged: dict[str, Record]  # rel -> its stored entry, reused as it is
    known_bad: dict[str, Record]  # rel -> its stored skip record: the same file, skipped again without a try
    recheck: dict[str, Record]  # rel -> its stored entry: size or mtime changed; the same content keeps the labels
    to_label: list[str]  # new files, changed ones and those labelled by another model, sorted
    removed: list[str]  # stored entries whose file is gone, sorted
    failed: dict[str, str]  # rel -> why the scan could not look at it
    old_skipped: dict[str, Record]  # the stored skip records: a run that ends with the same ones changes nothing


def plan_index(found: Listing, problems: Mapping[str, str], old: Mapping[str, Any], *, folder: str,
               version: str) -> IndexPlan:
    """The plan for the files `found` (and the scan's `problems`), given the stored index `old` ({} when
    there is none; an index of another folder counts as none) and the labelling model's `version`."""
    same_folder = old.get("folder") == folder
    old_entries: Mapping[str, Record] = old.get("samples", {}) if same_folder else {}
    old_skipped: Mapping[str, Record] = old.get("skipped", {}) if same_folder else {}
    unchanged, known_bad, recheck, to_label = {}, {}, {}, []
    for rel, stat in found.items():
        entry, bad = old_entries.get(rel), old_skipped.get(rel)
        if entry and (entry["size"], entry["mtime_ns"]) == stat and is_current(entry, version):
            unchanged[rel] = entry
        elif bad and (bad["size"], bad["mtime_ns"]) == stat and bad.get("model_version") == version \
                and not is_retried(bad):
            known_bad[rel] = bad
        elif entry and is_current(entry, version):
            recheck[rel] = entry
        else:
            to_label.append(rel)
    return IndexPlan(unchanged=unchanged, known_bad=known_bad, recheck=recheck, to_label=sorted(to_label),
                     removed=sorted(set(old_entries) - set(found)), failed=dict(problems),
                     old_skipped=dict(old_skipped))


def is_current(entry: Mapping[str, Any], version: str) -> bool:
    """An entry labelled by this model and analysis (one from before unpitched detection has no `pitched`)."""
    return entry.get("model_version") == version and "pitched" in entry


def is_retried(record: Mapping[str, Any]) -> bool:
    """Whether a remembered skip is tried again. Records written before `retry` existed say
    "unreadable (...)" for permission and I/O errors too: those are tried once more."""
    return bool(record.get("retry", str(record.get("reason", "")).startswith("unreadable (")))
