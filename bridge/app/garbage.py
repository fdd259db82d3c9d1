"""Cyclic garbage collection at moments no one hears: never in the middle of a pen event.

Python's collector runs when allocations pass a threshold, on whichever thread happens to allocate. While a
stroke is drawn that is mostly the engine thread, in the middle of a pen event, and a collection of the
younger generations costs it 1-4 ms there (the drawing's points pile up in them). So while the canvas
runs, automatic collection is off and the canvas loop calls `GarbagePacer.tick` instead:

- when nothing is being drawn and the engine is idle (between strokes): the young generations at most every
  `young_every_s`; everything (tens of ms) once all has been quiet for `quiet_s` (a pause in the playing),
  at most every `full_every_s`;
- while a long stroke goes on: the youngest generation after `busy_limit_s` (a fraction of a ms), so cyclic
  garbage never piles up however long the pen stays down.

Objects alive when the session starts were frozen out of the collector's reach (`session.settle_heap`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

YOUNG_EVERY_S = 1.0
FULL_EVERY_S = 60.0
QUIET_S = 2.0
BUSY_LIMIT_S = 5.0


class GarbagePacer:
    """Turns automatic collection off from `start` to `stop`, and collects on `tick`s (see the module)."""

    def __init__(self, *, young_every_s: float = YOUNG_EVERY_S, full_every_s: float = FULL_EVERY_S,
                 quiet_s: float = QUIET_S, busy_limit_s: float = BUSY_LIMIT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.young_every_s = young_every_s
        self.full_every_s = full_every_s
        self.quiet_s = quiet_s
        self.busy_limit_s = busy_limit_s
        self._clock = clock
        self._was_enabled = False
        self._young_at = self._full_at = self._busy_at = clock()
        self.collections = [0, 0, 0]  # by generation collected up to (0, 1, 2)

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._young_at = self._full_at = self._busy_at = self._clock()

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()

    def tick(self, *, idle: bool) -> None:
        """Collect what is due; `idle`: nothing is being drawn and the engine has nothing to do."""
        now = self._clock()
        if not idle:
            self._busy_at = now
        if idle and now - self._busy_at >= self.quiet_s and now - self._full_at >= self.full_every_s:
            self._collect(2, now)
        elif idle and now - self._young_at >= self.young_every_s:
            self._collect(1, now)
        elif now - self._young_at >= self.busy_limit_s:
            self._collect(0, now)

    def _collect(self, generation: int, now: float) -> None:
        gc.collect(generation)
        self.collections[generation] += 1
        self._young_at = now
        if generation == 2:
            self._full_at = now
