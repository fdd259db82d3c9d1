"""Modal overlays: the one-line text prompt (save/open paths, custom colour) and the help sheet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygame

from bridge.ui.layout import DESIGN_SIZE, Layout
from bridge.ui.text import ELLIPSIS, ERROR, INK, MUTED, TextCache, word_ends

PROMPT_KEYS = "Enter: OK    Esc: cancel    Ctrl+A: select all    Ctrl+Backspace: clear"
SELECTION = (200, 222, 250)


@dataclass
class Prompt:
    """A one-line text field; `on_done(text)` returns an error message to keep it open, or None.

    `note` is a second line under the title (e.g. where a relative path starts). Ctrl+A selects the whole
    text: typing then replaces it and Backspace or Delete empties it; Ctrl+Backspace or Ctrl+U empties it.
    """

    title: str
    text: str
    on_done: Callable[[str], str | None]
    note: str = ""
    error: str | None = None
    selected: bool = False

    def handle(self, event: pygame.event.Event) -> bool:
        """Edit with the event; False when the prompt closes."""
        if event.type == pygame.TEXTINPUT:
            self.text = event.text if self.selected else self.text + event.text
            self.selected = False
        elif event.type == pygame.KEYDOWN:
            return self._key(event.key, event.mod)
        return True

    def _key(self, key: int, mod: int) -> bool:
        ctrl = bool(mod & pygame.KMOD_CTRL)
        if key == pygame.K_ESCAPE:
            return False
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.selected = False
            self.error = self.on_done(self.text.strip())
            return self.error is not None
        if ctrl and key == pygame.K_a:
            self.selected = bool(self.text)
        elif (ctrl and key in (pygame.K_BACKSPACE, pygame.K_u)) or (
                self.selected and key in (pygame.K_BACKSPACE, pygame.K_DELETE)):
            self.text, self.selected = "", False
        elif key == pygame.K_BACKSPACE:
            self.text = self.text[:-1]
        elif key in (pygame.K_LEFT, pygame.K_RIGHT, pygame.K_HOME, pygame.K_END):
            self.selected = False  # the cursor stays at the end: these only drop the selection
        return True

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache) -> None:
        _dim(target)
        w = 720
        inner = layout.px(w - 40)
        title = text.wrap(self.title, layout.px(21), inner, max_lines=2, bold=True)
        note = text.wrap(self.note, layout.px(17), inner, max_lines=2) if self.note else []
        hint = text.wrap(self.error or PROMPT_KEYS, layout.px(17), inner, max_lines=3)
        h = 16 + 24 * len(title) + 20 * len(note) + 8 + 34 + 12 + 20 * len(hint) + 10
        x, y = (DESIGN_SIZE[0] - w) / 2, 200 - max(h - 130, 0) / 2
        pygame.draw.rect(target, (255, 255, 255), layout.rect(x, y, w, h), border_radius=layout.px(10))
        y += 16
        for line in title:
            text.blit(target, line, layout.pt(x + 20, y), layout.px(21), INK, bold=True)
            y += 24
        for line in note:
            text.blit(target, line, layout.pt(x + 20, y), layout.px(17), MUTED)
            y += 20
        self._draw_field(target, layout, text, layout.rect(x + 20, y + 8, w - 40, 34))
        y += 8 + 34 + 12
        for line in hint:
            text.blit(target, line, layout.pt(x + 20, y), layout.px(17), ERROR if self.error else MUTED)
            y += 20

    def _draw_field(self, target: pygame.Surface, layout: Layout, text: TextCache, field: pygame.Rect) -> None:
        """The text, its end always visible (a long path loses its first folders, not part of a name)."""
        pygame.draw.rect(target, (246, 246, 250), field)
        pygame.draw.rect(target, (150, 150, 160), field, 1)
        size = layout.px(19)
        font = text.font(size)
        shown = tail_that_fits(font, self.text, field.width - layout.px(12) - font.size("|")[0])
        pos = (field.x + layout.px(6), field.centery)
        if self.selected:
            pygame.draw.rect(target, SELECTION, pygame.Rect(pos[0], field.y + 4, font.size(shown)[0], field.height - 8))
        rect = text.blit(target, shown, pos, size, INK, anchor="midleft") if shown else pygame.Rect(pos, (0, 0))
        if not self.selected:
            text.blit(target, "|", (rect.right, field.centery), size, INK, anchor="midleft")


def tail_that_fits(font: pygame.font.Font, value: str, max_width: int) -> str:
    """`value`, or its end after a word boundary (a '/' or a space) led by an ellipsis, that fits."""
    if font.size(value)[0] <= max_width:
        return value
    for start in word_ends(value):
        shown = ELLIPSIS + value[start:].lstrip()
        if font.size(shown)[0] <= max_width:
            return shown
    cut = 0
    while cut < len(value) and font.size(ELLIPSIS + value[cut:])[0] > max_width:  # one word wider than the field
        cut += 1
    return ELLIPSIS + value[cut:]


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
