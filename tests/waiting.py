"""Waiting in tests on the event itself, never by sleeping and looking again.

`Changes` lets a test block until a predicate over state that other threads write holds: each writer
changes the state inside `with changes:` and every waiter re-checks its predicate on that wake-up.
`LineLog` reads a text stream (a subprocess's pipe) on a thread, so a test can wait for a line with
a timeout even when the process prints nothing more. `next_item` takes from a queue that a callback
fills, until an item of interest arrives.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, TypeVar

Predicate = Callable[[], bool]
T = TypeVar("T")


class Changes:
    """A condition variable for shared state: writers change it inside `with changes:` (which wakes every
    waiter on exit); `wait_until(predicate, timeout_s)` blocks until the predicate holds."""

    def __init__(self) -> None:
        self._condition = threading.Condition()

    def __enter__(self) -> Changes:
        self._condition.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._condition.notify_all()
        self._condition.release()

    def wait_until(self, predicate: Predicate, timeout_s: float) -> bool:
        """True as soon as predicate() holds (checked at once and after every change), False on timeout."""
        with self._condition:
            return self._condition.wait_for(predicate, timeout_s)


class LineLog:
    """Every line of `stream` (newline stripped), read on a daemon thread until the stream ends."""

    def __init__(self, stream: IO[str], *, name: str = "line-log") -> None:
        self._lines: list[str] = []
        self._ended = False
        self._changes = Changes()
        self._reader = threading.Thread(target=self._read, args=(stream,), name=name, daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                with self._changes:
                    self._lines.append(line.rstrip("\n"))
        except (OSError, ValueError):  # the stream was closed under the reader
            pass
        finally:
            with self._changes:
                self._ended = True

    def lines(self) -> list[str]:
        with self._changes:
            return list(self._lines)

    def wait_for(self, predicate: Callable[[str], bool], *, timeout_s: float, count: int = 1,
                 poke: Callable[[], None] | None = None, poke_every_s: float = 0.2) -> list[str]:
        """The lines matching `predicate` as soon as there are `count` of them, else (timeout, or the stream
        ended) those there are. With `poke`, poke() is called first and again after every poke_every_s
        without enough lines: a probe re-sent to a peer that may drop it while it starts."""
        deadline = time.monotonic() + timeout_s

        def done() -> bool:
            return self._ended or len(matching(self._lines, predicate)) >= count

        while True:
            if poke is not None:
                poke()
            left = deadline - time.monotonic()
            step = left if poke is None else min(poke_every_s, left)
            if self._changes.wait_until(done, max(step, 0.0)) or time.monotonic() >= deadline:
                return matching(self.lines(), predicate)

    def join(self, timeout_s: float) -> None:
        self._reader.join(timeout_s)


def matching(lines: Iterable[str], predicate: Callable[[str], bool]) -> list[str]:
    return [line for line in lines if predicate(line)]


def next_item(items: queue.Queue[T], predicate: Callable[[T], bool], *, timeout_s: float) -> T | None:
    """The next item taken from `items` that passes `predicate` (earlier ones are dropped), blocking up to
    timeout_s in all; None on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            item = items.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if predicate(item):
            return item
