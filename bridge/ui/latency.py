"""Pen-to-OSC latency as the HUD shows it: from the canvas posting an event to the outputs sending it.

`mark(t_ms)` is called on the UI thread when a pen event is posted to a live session (not for events
kept while the model loads: they are sent later, and their wait is loading, not latency); the probe is a
session sink placed right after the OSC sender, so when it sees the bundle of that event (bundles carry
their event's t_ms) the datagram has just gone out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from bridge.core.protocol import Bundle


class LatencyProbe:
    def __init__(self, *, window: int = 200, pending_limit: int = 512) -> None:
        self._pending: OrderedDict[float, float] = OrderedDict()
        self._lock = threading.Lock()
        self._pending_limit = pending_limit
        self.samples_ms: deque[float] = deque(maxlen=window)
        self.__name__ = "latency-probe"

    def mark(self, t_ms: float) -> None:
        with self._lock:
            self._pending[round(t_ms, 3)] = time.perf_counter()
            while len(self._pending) > self._pending_limit:  # events that sent nothing
                self._pending.popitem(last=False)

    def __call__(self, bundle: Bundle) -> None:
        now = time.perf_counter()
        with self._lock:
            posted = self._pending.get(round(bundle.t_ms, 3))  # pen_move and pen_up may share one t_ms
        if posted is not None:
            self.samples_ms.append((now - posted) * 1000.0)

    def summary(self) -> tuple[float, float, int] | None:
        """(median ms, max ms, count) over the recent window, or None before the first bundle."""
        samples = sorted(self.samples_ms)
        if not samples:
            return None
        return samples[len(samples) // 2], samples[-1], len(samples)
