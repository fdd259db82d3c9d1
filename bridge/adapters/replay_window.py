"""`replay --show`: a pygame window that redraws the strokes as they replay (the canvas's InkLayer).

It is driven from the replay loop (`window(event, bundle)` after each engine event), so it needs no
thread of its own; closing the window stops the replay.
"""

from __future__ import annotations

import logging

from bridge.core.events import Event, PenDown, PenMove, PenUp
from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)


class ReplayClosed(Exception):
    """The user closed the replay window."""


class ReplayWindow:
    """Draws pen-down / pen-move events as they happen; `start(title)` clears it for the next drawing."""

    def __init__(self, *, max_fps: float = 60.0) -> None:
        import pygame

        from bridge.ui.ink import InkLayer

        pygame.display.init()
        self._pygame = pygame
        self._screen = pygame.display.set_mode((400, 400))
        self._ink = InkLayer()
        self._frame_s = 1.0 / max_fps
        self._last_flip = 0.0

    def start(self, title: str) -> None:
        self._pygame.display.set_caption(f"pict2audio replay: {title}")
        self._ink.redraw(())
        self._flip(force=True)

    def __call__(self, event: Event, bundle: Bundle | None) -> None:
        if isinstance(event, PenDown):
            self._ink.begin(color=event.color, width_px=event.width_px, tool=event.tool)
            self._ink.add(event.x, event.y)
        elif isinstance(event, PenMove):
            self._ink.add(event.x, event.y)
        self._flip(force=isinstance(event, PenUp))

    def _flip(self, *, force: bool = False) -> None:
        import time

        for event in self._pygame.event.get():
            if event.type == self._pygame.QUIT:
                raise ReplayClosed
        now = time.monotonic()
        if force or now - self._last_flip >= self._frame_s:
            self._screen.blit(self._ink.view(), (0, 0))
            self._pygame.display.flip()
            self._last_flip = now

    def close(self) -> None:
        self._pygame.display.quit()
