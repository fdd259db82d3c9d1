"""Toolbar buttons, the width slider and the palette swatches: design-px rectangles that draw themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from bridge.core.labels import PEN_WIDTH_RANGE_PX, volume_for_width
from bridge.ui.layout import Layout
from bridge.ui.text import ACCENT, INK, MUTED, TextCache

PANEL = (244, 244, 247)
BUTTON = (255, 255, 255)
BUTTON_ON = (214, 230, 250)
BORDER = (190, 190, 200)


@dataclass
class Button:
    """A toolbar button; `action` runs on click, `is_on` lights it (e.g. the current tool)."""

    label: str
    rect: tuple[float, float, float, float]  # design px
    action: Callable[[], None]
    is_on: Callable[[], bool] = lambda: False
    enabled: Callable[[], bool] = lambda: True

    def hit(self, layout: Layout, pos: tuple[int, int]) -> bool:
        return layout.rect(*self.rect).collidepoint(pos)

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache) -> None:
        rect = layout.rect(*self.rect)
        pygame.draw.rect(target, BUTTON_ON if self.is_on() else BUTTON, rect, border_radius=layout.px(6))
        pygame.draw.rect(target, ACCENT if self.is_on() else BORDER, rect, 1, border_radius=layout.px(6))
        color = INK if self.enabled() else (170, 170, 175)
        text.blit(target, self.label, rect.center, layout.px(18), color, anchor="center")


@dataclass
class Slider:
    """The pen width slider, 1..30 px; shows the volume class the width gives (SPEC §2)."""

    rect: tuple[float, float, float, float]  # the track, design px
    value: float = 5.0
    lo: float = PEN_WIDTH_RANGE_PX[0]
    hi: float = PEN_WIDTH_RANGE_PX[1]
    dragging: bool = False

    def hit(self, layout: Layout, pos: tuple[int, int]) -> bool:
        return layout.rect(*self.rect).inflate(layout.px(12), layout.px(16)).collidepoint(pos)

    def set_from(self, layout: Layout, pos: tuple[int, int]) -> None:
        x, _ = layout.to_design(pos)
        frac = min(max((x - self.rect[0]) / self.rect[2], 0.0), 1.0)
        self.value = float(round(self.lo + frac * (self.hi - self.lo)))

    def nudge(self, step: float) -> None:
        self.value = float(min(max(self.value + step, self.lo), self.hi))

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache) -> None:
        x, y, w, h = self.rect
        track = layout.rect(x, y + h / 2 - 2, w, 4)
        pygame.draw.rect(target, BORDER, track, border_radius=2)
        frac = (self.value - self.lo) / (self.hi - self.lo)
        for edge in (10.0, 20.0):  # where low/med/high change
            ex = x + w * (edge - self.lo) / (self.hi - self.lo)
            pygame.draw.line(target, MUTED, layout.pt(ex, y + 2), layout.pt(ex, y + h - 2))
        knob = layout.pt(x + frac * w, y + h / 2)
        pygame.draw.circle(target, ACCENT, knob, layout.px(8))
        text.blit(target, "width", layout.pt(x - 8, y + h / 2), layout.px(17), MUTED, anchor="midright")
        label = f"{self.value:g} px · {volume_for_width(self.value)}"
        text.blit(target, label, layout.pt(x + w + 12, y + h / 2), layout.px(18), INK, anchor="midleft")


@dataclass
class Swatch:
    """A palette colour labelled with its timbre (or the custom colour and the timbre it gets)."""

    key_hint: str
    label: str
    color: str  # '#RRGGBB'
    rect: tuple[float, float, float, float]
    custom: bool = False

    def hit(self, layout: Layout, pos: tuple[int, int]) -> bool:
        x, y, w, h = self.rect
        return layout.rect(x, y, w + 100, h).collidepoint(pos)  # the label is clickable too

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache, *, selected: bool, rgb) -> None:
        x, y, w, h = self.rect
        self.draw_box(target, layout, text, selected=selected, rgb=rgb, ring=(8, 3, 7), radius=5, hint_size=15)
        text.blit(target, self.label, layout.pt(x + w + 8, y + h / 2 - 6), layout.px(19), INK,
                  bold=selected, anchor="midleft")
        text.blit(target, self.color, layout.pt(x + w + 8, y + h / 2 + 9), layout.px(14), MUTED, anchor="midleft")

    def draw_box(self, target: pygame.Surface, layout: Layout, text: TextCache, *, selected: bool, rgb,
                 ring: tuple[float, float, float], radius: float, hint_size: float) -> None:
        """The colour box (with an accent ring when selected: grown by, width, corner radius) and its key hint."""
        x, y, w, h = self.rect
        box = layout.rect(x, y, w, h)
        if selected:
            grow, width, corner = ring
            pygame.draw.rect(target, ACCENT, box.inflate(layout.px(grow), layout.px(grow)), layout.px(width),
                             border_radius=layout.px(corner))
        pygame.draw.rect(target, rgb, box, border_radius=layout.px(radius))
        pygame.draw.rect(target, BORDER, box, 1, border_radius=layout.px(radius))
        text.blit(target, self.key_hint, layout.pt(x - 6, y + h / 2), layout.px(hint_size), MUTED, anchor="midright")
