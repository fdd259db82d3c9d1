"""Saving a file the canvas changed, off the UI thread: a slow or failing disk never stalls a frame, and the
HUD says where it was saved or why not (the change is in use either way)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.core.errors import BridgeError

log = logging.getLogger(__name__)

Notify = Callable[..., None]  # CanvasApp.show_message(text, seconds=...)


class BackgroundSave:
    """`start(save, told)` runs `save()` (which returns the path written) on a thread of its own, then shows
    `told(path)`, or "<subject> in use, NOT saved: <reason>" for a BridgeError. `saved` is set when the last
    save is over, written or refused (tests wait on it)."""

    def __init__(self, notify: Notify, subject: str) -> None:
        self._notify = notify
        self._subject = subject
        self.saved = threading.Event()

    def start(self, save: Callable[[], Path], told: Callable[[Path], str]) -> None:
        self.saved.clear()
        threading.Thread(target=self._run, args=(save, told), name=f"pict2audio-save-{self._subject}",
                         daemon=True).start()

    def _run(self, save: Callable[[], Path], told: Callable[[Path], str]) -> None:
        try:
            path = save()
            self._notify(told(path), seconds=5.0)
        except BridgeError as exc:
            log.error("%s in use but not saved: %s", self._subject, exc)
            self._notify(f"{self._subject} in use, NOT saved: {exc}", seconds=8.0)
        finally:
            self.saved.set()
