"""Modal overlays: the one-line text prompt (save/open paths, custom colour) and the help sheet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygame

from bridge.ui.layout import DESIGN_SIZE, Layout
from bridge.ui.text import ERROR, INK, MUTED, TextCache


@dataclass
class Prompt:
    """A one-line text field; `on_done(text)` returns an error message to keep it open, or None."""

    title: str
    text: str
    on_done: Callable[[str], str | None]
    error: str | None = None

    def handle(self, event: pygame.event.Event) -> bool:
        """Edit with the event; False when the prompt closes."""
        if event.type == pygame.TEXTINPUT:
            self.text += event.text
        elif event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                return False
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.error = self.on_done(self.text.strip())
                return self.error is not None
            if event.key == pygame.K_BACKSPACE:
                self.text = "" if event.mod & pygame.KMOD_CTRL else self.text[:-1]
        return True

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache) -> None:
        _dim(target)
        w, h = 720, 130
        x, y = (DESIGN_SIZE[0] - w) / 2, 200
        box = layout.rect(x, y, w, h)
        pygame.draw.rect(target, (255, 255, 255), box, border_radius=layout.px(10))
        text.blit(target, self.title, layout.pt(x + 20, y + 16), layout.px(21), INK, bold=True)
        field = layout.rect(x + 20, y + 46, w - 40, 34)
        pygame.draw.rect(target, (246, 246, 250), field)
        pygame.draw.rect(target, (150, 150, 160), field, 1)
        shown = self.text + "|"
        font = text.font(layout.px(19))
        while len(shown) > 1 and font.size(shown)[0] > field.width - layout.px(12):
            shown = shown[1:]  # keep the end of a long path visible
        text.blit(target, shown, (field.x + layout.px(6), field.centery), layout.px(19), INK, anchor="midleft")
        hint = self.error or "Enter: OK    Esc: cancel"
        text.blit(target, hint, layout.pt(x + 20, y + 96), layout.px(17), ERROR if self.error else MUTED,
                  max_width=layout.px(w - 40))


def draw_help(target: pygame.Surface, layout: Layout, text: TextCache, rows: Sequence[tuple[str, str]]) -> None:
    """The shortcut sheet: (keys, what it does) rows in two columns."""
    _dim(target)
    per_column = (len(rows) + 1) // 2
    w, h = 860, min(80 + per_column * 22, DESIGN_SIZE[1] - 60)
    x, y = (DESIGN_SIZE[0] - w) / 2, 40
    pygame.draw.rect(target, (255, 255, 255), layout.rect(x, y, w, h), border_radius=layout.px(12))
    text.blit(target, "Keys and mouse  (H, F1 or Esc closes this)", layout.pt(x + 24, y + 18), layout.px(22), INK,
              bold=True)
    for i, (keys, description) in enumerate(rows):
        col, row = divmod(i, per_column)
        cx, cy = x + 24 + col * (w / 2), y + 58 + row * 22
        text.blit(target, keys, layout.pt(cx, cy), layout.px(17), INK, bold=True)
        text.blit(target, description, layout.pt(cx + 130, cy), layout.px(17), MUTED,
                  max_width=layout.px(w / 2 - 150))


def _dim(target: pygame.Surface) -> None:
    shade = pygame.Surface(target.get_size(), pygame.SRCALPHA)
    shade.fill((20, 20, 30, 120))
    target.blit(shade, (0, 0))
