"""Silence what native libraries print on file descriptor 2 (LiteRT's delegate banner, ALSA's probing).

The Python-level `sys.stderr` is flushed first and the descriptor restored afterwards; an exception raised
meanwhile still surfaces with its message.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


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
