"""Atomic file writes: a temporary file beside the target, fsynced, then renamed over it.

A reader sees the old file or the new one, never half of one; a killed or failed write leaves the
old file as it was and no temporary file behind. A replaced file keeps its permissions (a config the user
made private stays private); a new one gets 0o644.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o644


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *,
                     mode: int | None = None) -> None:
    """Create `path`'s folder if needed and replace `path` with what `write(handle)` writes (its result is
    ignored: `handle.write` itself will do). `mode`: the new file's permissions (default: the replaced
    file's, else NEW_FILE_MODE)."""
    path = Path(path)
    if mode is None:
        mode = existing_mode(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def existing_mode(path: Path) -> int:
    """The permission bits of the file at `path`, or NEW_FILE_MODE when there is none."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return NEW_FILE_MODE
