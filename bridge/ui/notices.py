"""What the window must follow from the engine: a session sink that queues notices for the UI thread.

The canvas keeps its own stroke list (undo history, the ink on screen), but other inputs post to the
same session: a `/pict2audio/clear` arriving by OSC control clears the engine's drawing. This sink sees
every bundle on the engine thread and queues a notice for each clear; the canvas takes them at its next
frame (`drain()`) and tells its own clears (counted when posted) from the ones that came from elsewhere.
"""

from __future__ import annotations

import queue

from bridge.core.protocol import ADDRESSES, Bundle

CLEAR_ADDRESS = ADDRESSES["clear"].path
CLEARED = "cleared"


class SessionNotices:
    """A LiveSession sink (engine thread); `drain()` on the UI thread returns the notices in order."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.__name__ = "canvas-notices"  # how a failing sink is named in the HUD

    def __call__(self, bundle: Bundle) -> None:
        if CLEAR_ADDRESS in bundle.addresses():
            self._queue.put(CLEARED)

    def drain(self) -> list[str]:
        """Every notice queued since the last call, oldest first (never blocks)."""
        notices = []
        while True:
            try:
                notices.append(self._queue.get_nowait())
            except queue.Empty:
                return notices
