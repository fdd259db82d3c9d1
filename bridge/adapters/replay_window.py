"""`replay --show`: a pygame window that redraws the strokes as they replay (the canvas's InkLayer).

It is driven from the replay loop (`window(call, bundle)` after each engine call), so it needs no
thread of its own; closing the window stops the replay.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.core.protocol import Bundle
from bridge.core.replay import EngineCall

log = logging.getLogger(__name__)


class ReplayClosed(Exception):
    """The user closed the replay window."""


class ReplayWindow:
    """Draws pen_down / pen_move calls as they happen; `start(title)` clears it for the next drawing."""

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

    def __call__(self, call: EngineCall, bundle: Bundle | None) -> None:
        kwargs: dict[str, Any] = call.kwargs
        if call.event == "pen_down":
            self._ink.begin(color=kwargs["color"], width_px=kwargs["width_px"], tool=kwargs.get("tool", "pen"))
            self._ink.add(kwargs["x"], kwargs["y"])
        elif call.event == "pen_move":
            self._ink.add(kwargs["x"], kwargs["y"])
        self._flip(force=call.event == "pen_up")

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
