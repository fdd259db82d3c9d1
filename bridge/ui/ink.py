"""What the composer sees on the drawing surface: the grid and the ink, drawn with pygame.

The classifier never looks at this (it sees the engine's CanvasRaster); this is the fast display copy.
Ink is kept on its own transparent layer so the eraser gives the grid back.
"""

from __future__ import annotations

import math

import pygame

from bridge.core.drawing import Stroke
from bridge.core.labels import BACKGROUND_RGB, CANVAS_SIZE_PX, GRID_RGB, GRID_STEP_PX, parse_hex_color

CLEAR = (0, 0, 0, 0)


def grid_surface(size_px: int = CANVAS_SIZE_PX) -> pygame.Surface:
    """White with light-grey lines every 33 px (SPEC §2), as CanvasRaster draws it."""
    surface = pygame.Surface((size_px, size_px))
    surface.fill(BACKGROUND_RGB)
    for v in range(GRID_STEP_PX, size_px, GRID_STEP_PX):
        pygame.draw.line(surface, GRID_RGB, (v, 0), (v, size_px - 1))
        pygame.draw.line(surface, GRID_RGB, (0, v), (size_px - 1, v))
    return surface


class InkLayer:
    """The strokes, drawn incrementally as points arrive; `view()` is grid + ink, 400x400."""

    def __init__(self, size_px: int = CANVAS_SIZE_PX) -> None:
        self.grid = grid_surface(size_px)
        self.ink = pygame.Surface((size_px, size_px), pygame.SRCALPHA)
        self._view = self.grid.copy()
        self.dirty = True
        self._color: tuple[int, ...] = (0, 0, 0, 255)
        self._radius = 2.5
        self._last: tuple[float, float] | None = None

    def begin(self, *, color: str, width_px: float, tool: str) -> None:
        self._color = CLEAR if tool == "eraser" else (*parse_hex_color(color), 255)
        self._radius = width_px / 2.0
        self._last = None

    def add(self, x: float, y: float) -> None:
        """Draw the segment from the previous point as a capsule: a quad plus a round cap at each point."""
        r = self._radius
        if self._last is not None:
            x0, y0 = self._last
            length = math.hypot(x - x0, y - y0)
            if r < 1.0 or length == 0.0:
                pygame.draw.line(self.ink, self._color, self._last, (x, y), 1)
            else:
                nx, ny = -(y - y0) / length * r, (x - x0) / length * r
                quad = ((x0 + nx, y0 + ny), (x + nx, y + ny), (x - nx, y - ny), (x0 - nx, y0 - ny))
                pygame.draw.polygon(self.ink, self._color, quad)
        if r >= 1.0:
            pygame.draw.circle(self.ink, self._color, (x, y), r)
        else:
            self.ink.set_at((int(x), int(y)), self._color)
        self._last = (x, y)
        self.dirty = True

    def draw_stroke(self, stroke: Stroke) -> None:
        self.begin(color=stroke.color, width_px=stroke.width_px, tool=stroke.tool)
        for p in stroke.points:
            self.add(p.x, p.y)

    def redraw(self, strokes: tuple[Stroke, ...]) -> None:
        """Start over from the given strokes (undo, redo, open, clear)."""
        self.ink.fill(CLEAR)
        for stroke in strokes:
            self.draw_stroke(stroke)
        self._last = None
        self.dirty = True

    def view(self) -> pygame.Surface:
        if self.dirty:
            self._view.blit(self.grid, (0, 0))
            self._view.blit(self.ink, (0, 0))
            self.dirty = False
        return self._view
