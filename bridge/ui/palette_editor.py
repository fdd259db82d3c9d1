"""The canvas's palette: its swatches (the composer's colours, or the default eight) and a small editor.

Ctrl+P opens a prompt prefilled with the pen's colour and its timbre: `#20B2AA = flute` gives that colour
that timbre (added, or changed), `#20B2AA = none` removes it, `default` goes back to the default eight
colours (the timbre by the image model). The new palette is used from the next stroke on (the engine
takes it with the drawing: bridge.core.palette), shown in the swatches, recorded in drawings saved from now
on, and written to the config file's `[palette]` table on a background thread (the HUD says where, or
why not).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pygame

from bridge.core.labels import PALETTE_HEX, TIMBRES, timbre_for_color
from bridge.core.palette import Palette, PaletteError
from bridge.ui.background_save import BackgroundSave
from bridge.ui.layout import CANVAS_ORIGIN, PALETTE_ROW_H, PALETTE_X
from bridge.ui.overlays import Prompt
from bridge.ui.text import INK, TextCache
from bridge.ui.widgets import Swatch

if TYPE_CHECKING:
    from bridge.ui.canvas_app import CanvasApp
    from bridge.ui.layout import Layout

KEY = "ctrl+p"
NUMBER_KEYS = 8  # keys 1..8 pick the first eight swatches; 9 is the custom colour
COLUMN_W = 140  # design px from a swatch's box to the HUD
COLUMN_H = 418  # design px from the first swatch down to the status line
_ENTRY = re.compile(r"^\s*(#?[0-9A-Fa-f]{6})\s*(?:=|:|\s)\s*([A-Za-z]+)\s*$")


def timbre_of(palette: Palette | None, color: str) -> str:
    """The timbre a colour plays: the palette's nearest colour, or (no palette) the default eight's by RGB,
    as the image model learnt them."""
    return palette.timbre_of(color) if palette is not None else timbre_for_color(color)


def palette_swatches(palette: Palette | None, custom_color: str) -> list[Swatch]:
    """A swatch per palette colour (the default eight without a palette; keys 1..8 pick the first eight) and
    the custom colour (key 9), one per row beside the canvas; rows shrink to fit a longer palette."""
    entries = palette.entries if palette is not None else tuple((PALETTE_HEX[t], t) for t in TIMBRES)
    rows = len(entries) + 1
    custom = (custom_color, f"custom: {timbre_of(palette, custom_color)}")
    if rows * PALETTE_ROW_H <= COLUMN_H:
        make, row_h = Swatch, float(PALETTE_ROW_H)
    else:
        make, row_h = CompactSwatch, COLUMN_H / rows
    swatches = []
    for i, (color, label) in enumerate((*entries, custom)):
        box = min(30.0, row_h - 4.0)
        rect = (PALETTE_X + 16, CANVAS_ORIGIN[1] + i * row_h + (row_h - box) / 2, box, box)
        is_custom = i == len(entries)
        hint = "9" if is_custom else str(i + 1) if i < NUMBER_KEYS else ""
        swatches.append(make(hint, label, color, rect, custom=is_custom))
    return swatches


class CompactSwatch(Swatch):
    """A swatch in a short row: the timbre and the colour on one line, the whole row clickable."""

    def hit(self, layout: Layout, pos: tuple[int, int]) -> bool:
        x, y, _, h = self.rect
        return layout.rect(x, y, COLUMN_W, h).collidepoint(pos)

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache, *, selected: bool, rgb) -> None:
        x, y, w, h = self.rect
        size = min(17.0, h + 2)
        self.draw_box(target, layout, text, selected=selected, rgb=rgb, ring=(6, 2, 4), radius=3, hint_size=size)
        text.blit(target, f"{self.label}  {self.color}", layout.pt(x + w + 6, y + h / 2), layout.px(size), INK,
                  bold=selected, anchor="midleft", max_width=layout.px(COLUMN_W - w - 10))


def parse_entry(text: str, palette: Palette | None) -> Palette | None:
    """The palette after one prompt entry: 'COLOUR = TIMBRE' (add or change), 'COLOUR = none' (remove),
    'default' (None: the default eight). A first edit starts from the default eight. PaletteError otherwise."""
    if text.strip().lower() == "default":
        return None
    found = _ENTRY.match(text)
    if found is None:
        raise PaletteError("palette", f"expected 'COLOUR = TIMBRE' (e.g. '#20B2AA = flute'), "
                                      f"'COLOUR = none' or 'default', got {text.strip()!r}")
    color, timbre = found.group(1), found.group(2).lower()
    if timbre != "none" and timbre not in TIMBRES:
        raise PaletteError("palette", f"unknown timbre {timbre!r}; expected one of {', '.join(TIMBRES)} or none")
    return (palette or Palette.default()).with_color(color, None if timbre == "none" else timbre)


class PaletteEditor:
    """Ctrl+P in the canvas: edit the palette; each change is saved to `config_path` (`[palette]`)."""

    def __init__(self, app: CanvasApp, config_path: Path) -> None:
        self.app = app
        self.config_path = config_path
        self._saving = BackgroundSave(app.show_message, "palette")
        self.saved = self._saving.saved  # set when the last save is over (written or refused)

    def bind(self) -> PaletteEditor:
        self.app.add_key_command(KEY, "palette: give a colour a timbre (or remove it, or back to default)", self.ask)
        return self

    def ask(self) -> None:
        color = self.app.color
        note = (f"Timbres: {' '.join(TIMBRES)}. 'COLOUR = none' removes a colour; 'default' restores the default "
                f"eight. Saved to {self.config_path} ([palette]).")
        self.app.open_prompt(Prompt("Palette: colour = timbre", f"{color} = {self.app.timbre_of(color)}",
                                    self.apply, note=note))

    def apply(self, text: str) -> str | None:
        """One prompt entry; the error to show in the prompt, or None once the palette is in use."""
        try:
            palette = parse_entry(text, self.app.palette)
        except PaletteError as exc:
            return exc.problem
        self.app.set_palette(palette)
        shown = "the default eight colours" if palette is None else f"{len(palette.entries)} colours"
        self.app.show_message(f"palette: {shown}; saving to {self.config_path} ...")
        self._saving.start(lambda: self._save(palette), lambda path: f"palette: {shown}, saved to {path}")
        return None

    def _save(self, palette: Palette | None) -> Path:
        from bridge.adapters.config_file import save_config_table

        return save_config_table(self.config_path, "palette", None if palette is None else palette.to_dict(),
                                 what="the palette")
