"""Log hygiene for input that anyone can send: a rate limit with periodic summaries, and terminal-safe text.

A flood of bad input (a misconfigured controller, a fuzzer, a stranger on the LAN) must not write one
line per datagram: that buries the log and costs more than dropping the input. And text that came from
outside must not reach the terminal raw: an escape sequence in an OSC address could clear the screen
or retitle the window, and a 60 kB string would fill it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class LogLimiter:
    """At most `burst` lines per `period_s`; the rest are counted, then summarised once per period.

    The first `burst` calls of `log()` in a period are written, later ones only counted. When the period
    ends (noticed by the next `log()` or `tick()`), one line gives that count, formatted with `summary`
    (`%d` the count, `%.1f` the seconds it covers). While the flood goes on, each further period writes
    only its summary; after a period with nothing held back, lines are written again. Thread-safe.
    """

    def __init__(self, logger: logging.Logger, summary: str, *, burst: int = 3, period_s: float = 10.0,
                 level: int = logging.WARNING, clock: Clock = time.monotonic) -> None:
        self.logger = logger
        self.summary = summary
        self.burst = burst
        self.period_s = period_s
        self.level = level
        self.total = 0  # every call of log(), written or not
        self._clock = clock
        self._lock = threading.Lock()
        self._start: float | None = None  # when the current period began; None: no period open
        self._written = 0  # lines written in the current period
        self._held = 0  # lines counted, not written, in the current period

    def log(self, msg: str, *args: object, exc_info: bool = False) -> bool:
        """Write `msg % args` at `level` unless this period's burst is spent; True when it was written."""
        with self._lock:
            now = self._clock()
            due = self._roll(now)
            if self._start is None:
                self._start = now
            self.total += 1
            write = self._written < self.burst
            if write:
                self._written += 1
            else:
                self._held += 1
        self._summarise(due)
        if write:
            self.logger.log(self.level, msg, *args, exc_info=exc_info, stacklevel=2)  # the caller's line
        return write

    def tick(self) -> None:
        """Write the summary of a period that has ended; call it from a loop that wakes up now and then,
        so the count of a flood that stopped is still written."""
        with self._lock:
            due = self._roll(self._clock())
        self._summarise(due)

    def flush(self) -> None:
        """Write what is held back now, without waiting for the period to end (on shutdown)."""
        with self._lock:
            now = self._clock()
            due = (self._held, now - self._start) if self._held and self._start is not None else None
            self._start, self._written, self._held = None, 0, 0
        self._summarise(due)

    def due_in(self) -> float | None:
        """Seconds until a held-back count is due to be written; None when nothing is held back."""
        with self._lock:
            if not self._held or self._start is None:
                return None
            return max(0.0, self._start + self.period_s - self._clock())

    def _roll(self, now: float) -> tuple[int, float] | None:
        """Close the current period if it has ended: (count held back, seconds covered) to write, or None.

        Caller holds the lock."""
        if self._start is None or now - self._start < self.period_s:
            return None
        held, covered = self._held, now - self._start
        if held:  # the flood goes on: the next period opens muted and writes only its own summary
            self._start, self._written, self._held = now, self.burst, 0
            return held, covered
        self._start, self._written = None, 0
        return None

    def _summarise(self, due: tuple[int, float] | None) -> None:
        if due is not None:
            self.logger.log(self.level, self.summary, *due)


def printable(text: str, limit: int = 160) -> str:
    """`text` safe to print: every non-printable character as a repr-style escape (\\x1b, \\n, \\u202e),
    and at most `limit` characters, the cut marked with the full length."""
    escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[: limit + 1])
    if len(escaped) <= limit and len(text) <= limit:
        return escaped
    return f"{escaped[:limit]}... ({len(text)} chars)"


def shown(value: object, limit: int = 160) -> str:
    """repr(value) (strings quoted and escaped), cut to `limit` characters: for values from outside."""
    return printable(repr(value), limit)
