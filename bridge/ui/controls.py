"""The canvas's built-in controls: key bindings and toolbar buttons, wired to an app (swatches: palette_editor)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from bridge.ui.keys import KeyMap
from bridge.ui.palette_editor import NUMBER_KEYS
from bridge.ui.widgets import Button

if TYPE_CHECKING:
    from bridge.ui.canvas_app import CanvasApp


def bind_builtin_keys(keys: KeyMap, app: CanvasApp) -> None:
    add = keys.add
    add("p", "pen", lambda: app.set_tool("pen"))
    add("e", "eraser (or draw with the right button)", lambda: app.set_tool("eraser"))
    for i in range(1, NUMBER_KEYS + 1):
        add(str(i), f"palette colour {i}", partial(app.choose_palette_key, i), show_in_help=False)
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
    add(",", "register down (the octave matching prefers)", lambda: app.step_register(-1))
    add(".", "register up", lambda: app.step_register(1))
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
