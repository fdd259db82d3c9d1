"""Fuzz: `index` on sound banks built from random mixes of good and bad inputs.

Each example builds a folder from good WAVs, noise (indexed as unpitched), NaN/Inf samples, empty files,
truncated headers, zero-length audio, headers claiming huge sizes, symlink loops, unreadable files, names
that are not UTF-8 and folders named like .wav files, then indexes it twice (fresh, then incremental). The run must
never raise, index every good file, name every bad one with its reason, write strict JSON (index and
--json lines) and keep memory bounded. Hypothesis is derandomized and bounded: CI runs the same
examples every time, in well under 30 s.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from audio_files import (
    file_permissions_enforced,
    huge_claim_flac_bytes,
    huge_claim_wav_bytes,
    non_finite_wav_bytes,
    strict_json,
    tone_bytes,
    traced_peak_bytes,
    wav_bytes,
    write_bytes,
    zero_frames_wav_bytes,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.adapters.soundbank_index import update_index
from bridge.commands.index import json_lines

# kind -> how its skip reason starts; None: a good file that must be indexed; "": any reason will do
# (where libsndfile stops parsing a cut header, or which of its errors a lying FLAC gives, varies).
KINDS: dict[str, str | None] = {
    "good": None,
    "folder_named_wav": None,  # a folder "x.wav" holding a good file: the file is indexed
    "noise": None,  # indexed, and marked unpitched
    "nan": "not finite",
    "inf": "not finite",
    "empty": "empty file",
    "truncated_header": "",
    "zero_frames": "empty audio",
    "huge_wav": "truncated",
    "huge_flac": "",
    "symlink_loop": "symlink loop",
    "unreadable": "unreadable",
}
MEMORY_LIMIT_BYTES = 64 * 2**20  # a few short files take ~2 MiB; trusting a lying header takes >= 256 MiB


@functools.cache
def good_wav() -> bytes:
    return tone_bytes(72, seconds=0.5)


def content(kind: str, variant: int) -> bytes:
    """The bytes of one file of kind; variant picks a NaN count, a cut point or a claimed size."""
    if kind == "nan":
        return non_finite_wav_bytes(1 + variant % 40)
    if kind == "inf":
        return non_finite_wav_bytes(1 + variant % 40, value=float("inf") if variant % 2 else float("-inf"))
    if kind == "truncated_header":
        return good_wav()[: 1 + variant % 43]  # a WAV header is 44 bytes
    if kind == "huge_flac":
        return huge_claim_flac_bytes(1 << (26 + variant % 11))  # 2**26 .. 2**36 frames claimed
    if kind == "noise":
        rng = np.random.default_rng(variant)
        decay = np.exp(-np.arange(8000) / 16_000 * (variant % 30))
        return wav_bytes((rng.standard_normal(8000) * decay * 0.3).astype(np.float32))
    makers = {"empty": lambda: b"", "zero_frames": zero_frames_wav_bytes, "huge_wav": huge_claim_wav_bytes}
    return makers.get(kind, good_wav)()


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Imports and first-use caches (soxr, soundfile, scipy.fft, the mel filterbank) before any memory is
    measured."""
    folder = tmp_path_factory.mktemp("warm")
    write_bytes(folder / "a.wav", good_wav())
    update_index(folder, index_path=folder.parent / "warm-index.json", workers=1)


@dataclass(frozen=True)
class Item:
    kind: str
    not_utf8: bool  # its name (and its subfolder's) holds bytes that are not UTF-8
    nested: bool  # it lives in a subfolder
    variant: int


items = st.builds(Item, st.sampled_from(sorted(KINDS)), st.booleans(), st.booleans(), st.integers(0, 2**16))


def build(bank: bytes, index: int, item: Item) -> tuple[str, str | None]:
    """Create one item under bank -> (its relative path as the index names it, its expected reason)."""
    tail = b"-\xe9\xff" if item.not_utf8 else b""
    folder = os.path.join(bank, b"sub" + tail) if item.nested else bank
    suffix = b".flac" if item.kind == "huge_flac" else b".wav"
    path = os.path.join(folder, b"%02d-%s%s%s" % (index, item.kind.encode(), tail, suffix))
    if item.kind == "folder_named_wav":
        path = os.path.join(path, b"inner.wav")
    if item.kind == "symlink_loop":
        os.makedirs(folder, exist_ok=True)
        os.symlink(os.path.basename(path), path)  # a link to itself
    else:
        write_bytes(path, content(item.kind, item.variant))
    if item.kind == "unreadable":
        os.chmod(path, 0)
    return os.fsdecode(os.path.relpath(path, bank)), KINDS[item.kind]


def check_report(report, expected: dict[str, str | None]) -> None:
    good = {rel for rel, reason in expected.items() if reason is None}
    assert set(report.entries) == good, (sorted(report.entries), sorted(good))
    assert set(report.skipped) == set(expected) - good, (report.skipped, expected)
    for rel, entry in report.entries.items():
        assert entry["pitched"] is ("-noise" not in rel), (rel, entry["pitch_evidence"])
    for rel, reason in report.skipped.items():
        assert reason and reason.startswith(expected[rel]), (rel, reason, expected[rel])
    for line in json_lines(report):
        assert line.isascii()  # prints on any terminal encoding; names that are not UTF-8 are escaped
        strict_json(line)


@settings(derandomize=True, database=None, max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, min_size=1, max_size=6))
def test_index_survives_any_mix_of_bad_files(bank_items: list[Item]) -> None:
    with tempfile.TemporaryDirectory(prefix="fuzz-bank-") as tmp:
        bank, index = os.path.join(os.fsencode(tmp), b"bank"), Path(tmp) / "index.json"
        os.makedirs(bank)
        expected = dict(build(bank, i, item) for i, item in enumerate(bank_items))
        with file_permissions_enforced():  # chmod 000 holds for root too
            first, peak = traced_peak_bytes(lambda: update_index(os.fsdecode(bank), index_path=index, workers=1))
            again = update_index(os.fsdecode(bank), index_path=index, workers=1)
        check_report(first, expected)
        assert peak < MEMORY_LIMIT_BYTES, f"indexing took {peak / 2**20:.0f} MiB"
        strict_json(index.read_bytes().decode("utf-8"))
        assert set(again.entries) == set(first.entries) and again.skipped == first.skipped
        assert not again.labelled  # what was labelled is kept, what was bad stays skipped
