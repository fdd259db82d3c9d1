"""Silence what native libraries print on file descriptor 2 (LiteRT's delegate banner, ALSA's probing).

The Python-level `sys.stderr` is flushed first and the descriptor restored afterwards; an exception raised
meanwhile still surfaces with its message.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment: native libraries' banners stay off the terminal.

    Failures still surface as Python exceptions (with their messages) after stderr is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def log_stream() -> TextIO:
    """A text stream on a copy of file descriptor 2, for log lines: while a native library's output is
    silenced (on any thread), another thread's log lines still reach the terminal. Where stderr is no
    real file (captured by a test runner), stderr itself."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")
