"""Sample lengths with soundfile: each file's header read once (`soundfile.info`), cached by path.

MIDI out ends a note when its sample would have ended; it asks for the length on the engine's thread,
so a file is read once and every later answer (a length, or None for a file that cannot be read) comes
from the cache. Thread-safe.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class SampleLengths:
    """`lengths(path)` -> the sample's duration in ms, or None when the file cannot be read."""

    def __init__(self) -> None:
        self._ms: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def __call__(self, path: str) -> float | None:
        with self._lock:
            if path in self._ms:
                return self._ms[path]
        length = _read_length_ms(path)
        with self._lock:
            self._ms[path] = length
        return length


def _read_length_ms(path: str) -> float | None:
    import soundfile

    try:
        return float(soundfile.info(path).duration) * 1000.0
    except Exception as exc:  # missing, unreadable or not audio: the note ends on a message instead
        log.debug("sample length of %s unknown: %s", path, exc)
        return None
