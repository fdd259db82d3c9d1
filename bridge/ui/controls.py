"""The canvas's built-in controls: key bindings, toolbar buttons and palette swatches, wired to an app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.core.labels import PALETTE_HEX, TIMBRES, timbre_for_color
from bridge.ui.keys import KeyMap
from bridge.ui.layout import CANVAS_ORIGIN, PALETTE_ROW_H, PALETTE_X
from bridge.ui.widgets import Button, Swatch

if TYPE_CHECKING:
    from bridge.ui.canvas_app import CanvasApp


def bind_builtin_keys(keys: KeyMap, app: CanvasApp) -> None:
    add = keys.add
    add("p", "pen", lambda: app.set_tool("pen"))
    add("e", "eraser (or draw with the right button)", lambda: app.set_tool("eraser"))
    for i, timbre in enumerate(TIMBRES, start=1):
        add(str(i), f"colour: {timbre}", lambda c=PALETTE_HEX[timbre]: app.set_color(c), show_in_help=False)
    add("9", "custom colour (#RRGGBB)", app.ask_custom_color)
    add("[", "thinner (quieter)", lambda: app.slider.nudge(-1))
    add("]", "thicker (louder)", lambda: app.slider.nudge(1))
    add("shift+[", "thinner by 5 px", lambda: app.slider.nudge(-5))
    add("shift+]", "thicker by 5 px", lambda: app.slider.nudge(5))
    add("ctrl+z", "undo", app.undo)
    add("ctrl+y", "redo", app.redo)
    add("ctrl+shift+z", "redo", app.redo)
    add("delete", "clear the canvas (new drawing)", app.clear)
    add("ctrl+n", "clear the canvas (new drawing)", app.clear)
    add("space", "play the matched sample again", app.trigger)
    add("r", "release all label overrides", app.release_overrides)
    add("ctrl+s", "save drawing (.json + .png)", app.ask_save)
    add("ctrl+o", "open a saved drawing", app.ask_open)
    add("h", "this help", app.toggle_help)
    add("f1", "this help", app.toggle_help)
    add("ctrl+q", "quit", app.quit)


MOUSE_HELP = (
    ("mouse wheel", "pen width"),
    ("left drag", "draw (height = pitch, width = volume)"),
    ("right drag", "erase"),
)


def toolbar_buttons(app: CanvasApp) -> list[Button]:
    """(label, x, width) in design px along the top; tools light up when chosen."""
    return [
        Button("Pen", (12, 10, 64, 36), lambda: app.set_tool("pen"), is_on=lambda: app.tool == "pen"),
        Button("Eraser", (80, 10, 76, 36), lambda: app.set_tool("eraser"), is_on=lambda: app.tool == "eraser"),
        Button("Undo", (172, 10, 64, 36), app.undo, enabled=lambda: app.history.can_undo),
        Button("Redo", (240, 10, 64, 36), app.redo, enabled=lambda: app.history.can_redo),
        Button("Clear", (308, 10, 64, 36), app.clear),
        Button("Open", (388, 10, 64, 36), app.ask_open),
        Button("Save", (456, 10, 64, 36), app.ask_save),
        Button("Play", (536, 10, 64, 36), app.trigger),
        Button("Help", (604, 10, 60, 36), app.toggle_help, is_on=lambda: app.help_visible),
    ]


def palette_swatches(custom_color: str) -> list[Swatch]:
    """The 8 timbre colours (keys 1-8) and the custom colour (key 9), one per row beside the canvas."""
    swatches = []
    for i, timbre in enumerate((*TIMBRES, "custom")):
        rect = (PALETTE_X + 16, CANVAS_ORIGIN[1] + i * PALETTE_ROW_H + 6, 30, 30)
        if timbre == "custom":
            swatches.append(Swatch("9", custom_label(custom_color), custom_color, rect, custom=True))
        else:
            swatches.append(Swatch(str(i + 1), timbre, PALETTE_HEX[timbre], rect))
    return swatches


def custom_label(color: str) -> str:
    return f"custom: {timbre_for_color(color)}"
