"""Where everything sits: a fixed design at 1000x620 px, scaled uniformly to the window.

The drawing itself always lives in 400x400 canvas px; `Layout.to_canvas` maps a window position into
it, whatever the window size.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from bridge.core.labels import CANVAS_SIZE_PX

DESIGN_SIZE = (1000, 620)
TOOLBAR_H = 56
CANVAS_ORIGIN = (70, 76)  # top-left of the drawing surface in design px; note names sit left of it
PALETTE_X = CANVAS_ORIGIN[0] + CANVAS_SIZE_PX + 22
PALETTE_ROW_H = 44
HUD_X = PALETTE_X + 150
STATUS_Y = CANVAS_ORIGIN[1] + CANVAS_SIZE_PX + 14


@dataclass(frozen=True)
class Layout:
    """Uniform scale `s` and offset that fit the design into a window of `size` (letterboxed)."""

    size: tuple[int, int]
    s: float
    ox: float
    oy: float

    @classmethod
    def fit(cls, size: tuple[int, int]) -> Layout:
        w, h = max(size[0], 1), max(size[1], 1)
        s = min(w / DESIGN_SIZE[0], h / DESIGN_SIZE[1])
        return cls((w, h), s, (w - DESIGN_SIZE[0] * s) / 2, (h - DESIGN_SIZE[1] * s) / 2)

    def pt(self, x: float, y: float) -> tuple[int, int]:
        return round(self.ox + x * self.s), round(self.oy + y * self.s)

    def rect(self, x: float, y: float, w: float, h: float) -> pygame.Rect:
        x0, y0 = self.pt(x, y)
        x1, y1 = self.pt(x + w, y + h)
        return pygame.Rect(x0, y0, max(x1 - x0, 1), max(y1 - y0, 1))

    def px(self, design_px: float) -> int:
        """A length (e.g. a font size) in window px."""
        return max(round(design_px * self.s), 1)

    def to_design(self, pos: tuple[float, float]) -> tuple[float, float]:
        return (pos[0] - self.ox) / self.s, (pos[1] - self.oy) / self.s

    @property
    def canvas_rect(self) -> pygame.Rect:
        return self.rect(*CANVAS_ORIGIN, CANVAS_SIZE_PX, CANVAS_SIZE_PX)

    def to_canvas(self, pos: tuple[float, float], *, clamp: bool = True) -> tuple[float, float]:
        """Window px -> canvas px (0..400), rounded to 0.01 px."""
        x, y = self.to_design(pos)
        x, y = x - CANVAS_ORIGIN[0], y - CANVAS_ORIGIN[1]
        if clamp:
            x = min(max(x, 0.0), float(CANVAS_SIZE_PX))
            y = min(max(y, 0.0), float(CANVAS_SIZE_PX))
        return round(x, 2), round(y, 2)

    def in_canvas(self, pos: tuple[float, float]) -> bool:
        x, y = self.to_canvas(pos, clamp=False)
        return 0 <= x < CANVAS_SIZE_PX and 0 <= y < CANVAS_SIZE_PX

    def from_canvas(self, x: float, y: float) -> tuple[int, int]:
        return self.pt(CANVAS_ORIGIN[0] + x, CANVAS_ORIGIN[1] + y)
