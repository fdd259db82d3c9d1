"""Cached text rendering: fonts by size, rendered strings by (text, size, colour, bold)."""

from __future__ import annotations

from collections import OrderedDict

import pygame

INK = (34, 34, 40)
MUTED = (110, 110, 120)
ERROR = (190, 30, 30)
ACCENT = (30, 110, 200)


class TextCache:
    def __init__(self, *, limit: int = 600) -> None:
        self._fonts: dict[tuple[int, bool], pygame.font.Font] = {}
        self._surfaces: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self._limit = limit

    def font(self, size_px: int, *, bold: bool = False) -> pygame.font.Font:
        key = (max(int(size_px), 6), bold)
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = pygame.font.Font(None, key[0])
            font.set_bold(bold)
        return font

    def render(
        self, text: str, size_px: int, color: tuple[int, int, int] = INK, *, bold: bool = False
    ) -> pygame.Surface:
        key = (text, int(size_px), color, bold)
        surface = self._surfaces.get(key)
        if surface is None:
            surface = self.font(size_px, bold=bold).render(text, True, color)
            self._surfaces[key] = surface
            if len(self._surfaces) > self._limit:
                self._surfaces.popitem(last=False)
        else:
            self._surfaces.move_to_end(key)
        return surface

    def blit(
        self, target: pygame.Surface, text: str, pos: tuple[float, float], size_px: int,
        color: tuple[int, int, int] = INK, *, bold: bool = False, anchor: str = "topleft", max_width: int | None = None,
    ) -> pygame.Rect:
        """Draw text with its `anchor` (a pygame.Rect attribute) at `pos`; too-long text is cut with '...'."""
        if max_width is not None:
            text = self.fit(text, size_px, max_width, bold=bold)
        surface = self.render(text, size_px, color, bold=bold)
        rect = surface.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
        target.blit(surface, rect)
        return rect

    def fit(self, text: str, size_px: int, max_width: int, *, bold: bool = False) -> str:
        font = self.font(size_px, bold=bold)
        if font.size(text)[0] <= max_width:
            return text
        while text and font.size(text + "...")[0] > max_width:
            text = text[:-1]
        return text + "..."

    def wrap(self, text: str, size_px: int, max_width: int, *, max_lines: int = 2) -> list[str]:
        """Break text into lines that fit (by words, else by characters); the last one is cut with '...'."""
        font = self.font(size_px)
        lines: list[str] = []
        rest = text
        while rest and len(lines) < max_lines - 1:
            if font.size(rest)[0] <= max_width:
                break
            cut = len(rest)
            while cut > 1 and font.size(rest[:cut])[0] > max_width:
                cut -= 1
            space = rest.rfind(" ", 0, cut)
            cut = space + 1 if space > cut // 2 else cut
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:]
        return [*lines, self.fit(rest, size_px, max_width)] if rest else lines
