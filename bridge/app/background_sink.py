"""Run a slow output on its own thread, so the engine thread never waits for it.

Local playback decodes a sample file the first time it plays it (milliseconds to tens of them); on the
engine thread that would delay the next event's OSC. `BackgroundSink(sink)` takes bundles at once and
hands them to `sink` in order on its own thread. Its queue is bounded: when the output falls that far
behind, bundles are dropped and counted (a rate-limited warning says so) rather than growing memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)

_STOP = object()
WARN_EVERY_S = 10.0


class BackgroundSink:
    def __init__(self, sink: Callable[[Bundle], None], *, name: str, max_pending: int = 1000) -> None:
        self.sink = sink
        self.name = name
        self.dropped = 0
        self.errors: list[str] = []
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._warned_at = -float("inf")
        self._pending = 0  # taken and not yet handed over
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"pict2audio-{name}", daemon=True)
        self._thread.start()

    def __call__(self, bundle: Bundle) -> None:
        with self._done:
            self._pending += 1
        try:
            self._queue.put_nowait(bundle)
        except queue.Full:
            self._handed_over()
            self.dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                log.warning("%s is behind: %d bundles dropped so far", self.name, self.dropped)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Block until every bundle taken so far has been handed to the sink."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Hand over what is queued, then stop the thread (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self.sink(item)  # type: ignore[arg-type]
            except Exception as exc:  # an output never takes the session down
                log.error("%s failed: %s", self.name, exc)
                self.errors.append(f"{self.name}: {exc}")
                del self.errors[:-20]
            self._handed_over()

    def _handed_over(self) -> None:
        with self._done:
            self._pending -= 1
            self._done.notify_all()

    def __repr__(self) -> str:
        return f"BackgroundSink({self.sink!r})"
