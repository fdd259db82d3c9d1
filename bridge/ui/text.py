"""Cached text rendering: fonts by size, rendered strings by (text, size, colour, bold)."""

from __future__ import annotations

import re
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
        """Draw text with its `anchor` (a pygame.Rect attribute) at `pos`; too-long text is elided at a word."""
        if max_width is not None:
            text = self.fit(text, size_px, max_width, bold=bold)
        surface = self.render(text, size_px, color, bold=bold)
        rect = surface.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
        target.blit(surface, rect)
        return rect

    def fit(self, text: str, size_px: int, max_width: int, *, bold: bool = False) -> str:
        """`text` if it fits, else cut at the last word boundary that fits (a space, or after a '/' of a
        path) and ended with an ellipsis; a single word wider than the line is the only thing cut inside."""
        font = self.font(size_px, bold=bold)
        if font.size(text)[0] <= max_width:
            return text
        for cut in reversed(word_ends(text)):
            shown = text[:cut].rstrip() + ELLIPSIS
            if font.size(shown)[0] <= max_width:
                return shown
        while text and font.size(text + ELLIPSIS)[0] > max_width:  # one word longer than the line
            text = text[:-1]
        return text + ELLIPSIS

    def wrap(self, text: str, size_px: int, max_width: int, *, max_lines: int = 2, bold: bool = False) -> list[str]:
        """Break text into lines that fit, at spaces (dropped) or after a path's '/' (kept); a word is never
        split unless it alone is wider than a line. Text beyond `max_lines` is elided on the last line."""
        font = self.font(size_px, bold=bold)
        lines: list[str] = []
        rest = text.strip()
        while rest and len(lines) < max_lines - 1 and font.size(rest)[0] > max_width:
            cut = _longest_fitting(font, rest, max_width)
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        return [*lines, self.fit(rest, size_px, max_width, bold=bold)] if rest else lines


ELLIPSIS = "\u2026"


def word_ends(text: str) -> list[int]:
    """Where a line may end inside `text`: before a space, or just after a '/' (paths have few spaces)."""
    ends = {m.start() for m in re.finditer(r" ", text)}
    ends |= {m.end() for m in re.finditer(r"/", text)}
    return sorted(e for e in ends if 0 < e < len(text))


def _longest_fitting(font: pygame.font.Font, text: str, max_width: int) -> int:
    """The length of the longest first line of `text` that fits, ending at a word boundary if one fits."""
    for cut in reversed(word_ends(text)):
        if font.size(text[:cut].rstrip())[0] <= max_width:
            return cut
    cut = len(text)
    while cut > 1 and font.size(text[:cut])[0] > max_width:  # one word longer than the line
        cut -= 1
    return cut
