"""Atomic writes: the old file survives a failed write, and no temporary file is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.adapters.atomic_write import write_atomically


def test_writes_and_replaces(tmp_path: Path):
    target = tmp_path / "sub" / "index.json"
    write_atomically(target, lambda f: f.write(b"one"))
    write_atomically(target, lambda f: f.write(b"two"))
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["index.json"]


def test_a_failing_write_keeps_the_old_file(tmp_path: Path):
    target = tmp_path / "drawing.json"
    target.write_bytes(b"old")

    def half_then_fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["drawing.json"]
