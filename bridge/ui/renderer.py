"""Drawing one frame of the window from the app's state (read-only).

The chrome (toolbar, note names, palette, status line) and the HUD are drawn into cached surfaces and
redrawn only when what they show changes, so a frame while drawing is little more than two blits.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import pygame

from bridge.core.labels import BAND_HEIGHT_PX, PITCHES, band_for_y, note_name, parse_hex_color
from bridge.core.labels import volume_for_width as volume_of
from bridge.ui.hud import HudState, draw_hud
from bridge.ui.layout import CANVAS_ORIGIN, DESIGN_SIZE, HUD_X, PALETTE_X, STATUS_Y, TOOLBAR_H, Layout
from bridge.ui.overlays import draw_help
from bridge.ui.text import ACCENT, ERROR, INK, MUTED, TextCache
from bridge.ui.widgets import BORDER, PANEL

if TYPE_CHECKING:
    from bridge.ui.canvas_app import CanvasApp

log = logging.getLogger(__name__)

BACKDROP = (232, 233, 238)


class Renderer:
    def __init__(self) -> None:
        self.text = TextCache()
        self._chrome: tuple[tuple, pygame.Surface] | None = None
        self._hud: tuple[tuple, pygame.Surface] | None = None
        self._scaled: tuple[tuple[int, int], pygame.Surface] | None = None
        self._hud_errors: set[str] = set()

    def draw(self, screen: pygame.Surface, app: CanvasApp, hud: HudState) -> None:
        layout = Layout.fit(screen.get_size())
        screen.blit(self.chrome(layout, app), (0, 0))
        self.draw_canvas(screen, layout, app)
        rect = layout.rect(HUD_X - 8, TOOLBAR_H + 1, DESIGN_SIZE[0] - HUD_X + 8, DESIGN_SIZE[1] - TOOLBAR_H - 1)
        try:
            screen.blit(self.hud(layout, rect, hud), rect)
        except Exception as exc:  # a HUD that cannot show a value must not hide the drawing
            text = f"HUD error: {type(exc).__name__}: {exc}"
            if text not in self._hud_errors:
                self._hud_errors.add(text)
                log.exception("%s", text)
            pygame.draw.rect(screen, PANEL, rect)
            self.text.blit(screen, text, (rect.x + 8, rect.y + 20), layout.px(18), ERROR, max_width=rect.width - 16)
        if app.help_visible:
            draw_help(screen, layout, self.text, app.help_rows())
        if app.prompt is not None:
            app.prompt.draw(screen, layout, self.text)

    def chrome(self, layout: Layout, app: CanvasApp) -> pygame.Surface:
        """Everything but the drawing and the HUD."""
        hover_band = None
        if app.hover is not None and layout.in_canvas(app.hover):
            hover_band = band_for_y(layout.to_canvas(app.hover)[1])
        key = (layout.size, app.tool, app.color, app.custom_color, app.palette, app.slider.value, app.history.can_undo,
               app.history.can_redo, app.help_visible, hover_band)
        if self._chrome is None or self._chrome[0] != key:
            surface = pygame.Surface(layout.size)
            surface.fill(BACKDROP)
            pygame.draw.rect(surface, PANEL, layout.rect(0, 0, DESIGN_SIZE[0], DESIGN_SIZE[1]))
            self.draw_toolbar(surface, layout, app)
            self.draw_margin(surface, layout, hover_band)
            self.draw_palette(surface, layout, app)
            self.draw_status(surface, layout, app)
            self._chrome = (key, surface)
        return self._chrome[1]

    def hud(self, layout: Layout, rect: pygame.Rect, state: HudState) -> pygame.Surface:
        if self._hud is None or self._hud[0] != (state, rect.size):
            surface = pygame.Surface(rect.size)
            surface.fill(PANEL)
            draw_hud(surface, replace(layout, ox=layout.ox - rect.x, oy=layout.oy - rect.y), self.text, state)
            self._hud = ((state, rect.size), surface)
        return self._hud[1]

    def draw_toolbar(self, screen: pygame.Surface, layout: Layout, app: CanvasApp) -> None:
        pygame.draw.line(screen, BORDER, layout.pt(0, TOOLBAR_H), layout.pt(DESIGN_SIZE[0], TOOLBAR_H))
        for button in app.buttons:
            button.draw(screen, layout, self.text)
        app.slider.draw(screen, layout, self.text)

    def draw_margin(self, screen: pygame.Surface, layout: Layout, hover_band: int | None) -> None:
        """The note names of the 12 pitch bands beside the canvas, the one under the pen highlighted."""
        pygame.draw.rect(screen, BORDER, layout.canvas_rect.inflate(2, 2), 1)
        for band in range(len(PITCHES)):
            y = CANVAS_ORIGIN[1] + band * BAND_HEIGHT_PX + BAND_HEIGHT_PX / 2
            on = band == hover_band
            self.text.blit(screen, note_name(PITCHES[-1] - band), layout.pt(CANVAS_ORIGIN[0] - 10, y),
                           layout.px(19 if on else 17), ACCENT if on else MUTED, bold=on, anchor="midright")

    def draw_canvas(self, screen: pygame.Surface, layout: Layout, app: CanvasApp) -> None:
        """The grid and the ink, scaled to the window; the pen's size where it would draw."""
        rect = layout.canvas_rect
        dirty = app.ink.dirty
        view = app.ink.view()
        if rect.size != view.get_size():
            if dirty or self._scaled is None or self._scaled[0] != rect.size:
                self._scaled = (rect.size, pygame.transform.smoothscale(view, rect.size))
            view = self._scaled[1]
        screen.blit(view, rect)
        playhead = app.playhead()
        if playhead is not None:  # score mode: the playhead sweeping the canvas
            x = rect.x + round(playhead * (rect.width - 1))
            pygame.draw.line(screen, ACCENT, (x, rect.top), (x, rect.bottom - 1), max(round(layout.s * 2), 1))
        if app.hover is not None and not app.drawing and layout.in_canvas(app.hover):
            pygame.draw.circle(screen, MUTED, app.hover, max(layout.s * app.slider.value / 2, 2), 1)

    def draw_palette(self, screen: pygame.Surface, layout: Layout, app: CanvasApp) -> None:
        self.text.blit(screen, "colour = timbre", layout.pt(PALETTE_X, TOOLBAR_H + 4), layout.px(16), MUTED)
        for swatch in app.swatches:
            selected = app.tool == "pen" and swatch.color == app.color
            swatch.draw(screen, layout, self.text, selected=selected, rgb=parse_hex_color(swatch.color))

    def draw_status(self, screen: pygame.Surface, layout: Layout, app: CanvasApp) -> None:
        width = app.slider.value
        if app.tool == "eraser":
            what = f"eraser · {width:g} px"
        else:
            what = f"pen · {app.timbre_of(app.color)} {app.color} · {width:g} px = {volume_of(width)}"
        self.text.blit(screen, what, layout.pt(CANVAS_ORIGIN[0], STATUS_Y), layout.px(19), INK)
        hint = "height = pitch · width = volume · colour = timbre      H: keys"
        self.text.blit(screen, hint, layout.pt(CANVAS_ORIGIN[0], STATUS_Y + 24), layout.px(17), MUTED)
