"""Teaching shapes in the live canvas (T): give the last shape to a new or existing class, undo, see the classes;
the language file is written atomically and the session recognises the shape from the next stroke on; the
HUD shows the recognised shape."""

from __future__ import annotations

import json

import pygame
import pytest
from canvas_harness import Rig, post_key, post_text
from shape_drawings import shape_drawing

from bridge.adapters.language_files import SessionLanguage, read_language
from bridge.ui.hud import hud_lines
from bridge.ui.teach_panel import TeachPanel

LABELS = "/pict2audio/labels"


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path)
    rig.link.parts.language = SessionLanguage(tmp_path / "shapes.json")  # as --language makes it (a new file)
    rig.panel = TeachPanel(rig.app).bind()
    yield rig
    rig.close()


def draw_shape(rig, kind: str, index: int) -> None:
    """The shape's strokes, as the generator drew them, through the canvas's mouse events."""
    for stroke in shape_drawing(kind, seed=41, index=index).strokes:
        rig.draw([(p.x, p.y) for p in stroke.points])


def press(rig, key: int, mod: int = 0) -> None:
    post_key(key, mod)
    rig.app.pump(frames=1)


def taught(rig) -> None:
    assert rig.panel.saved.wait(5.0)
    rig.settle()


def test_a_shape_taught_in_the_canvas_is_saved_and_recognised_from_the_next_stroke(rig, tmp_path):
    draw_shape(rig, "circle", 0)
    press(rig, pygame.K_t)
    assert rig.app.panel is rig.panel
    press(rig, pygame.K_n)
    assert rig.app.prompt is not None
    rig.app.prompt.text = ""
    post_text("colour=red")
    press(rig, pygame.K_RETURN)
    assert "HEAD" in rig.app.prompt.error  # a wrong class name keeps the prompt open and says what is expected
    rig.app.prompt.text = ""
    post_text("timbre=organ")
    press(rig, pygame.K_RETURN)
    assert rig.app.prompt is None and rig.app.panel is None  # taught: back to drawing
    taught(rig)
    saved = read_language(tmp_path / "shapes.json")
    assert [(c.name, len(c.examples)) for c in saved.classes] == [("timbre=organ", 1)]
    assert rig.link.engine.drawing.meta["language"]["hash"] == saved.hash

    draw_shape(rig, "circle", 1)  # another circle, in its own (random) colour
    stroke_id = len(rig.link.engine.drawing.strokes)
    assert [args[2] for args in rig.rx.messages(LABELS) if args[-1] == stroke_id][-1] == "organ"
    assert rig.link.engine.gesture.name == "timbre=organ"
    rows = [text for text, _, _ in hud_lines(rig.app.hud_state())]
    assert any(row.startswith("Shape: timbre=organ") for row in rows), rows


def test_examples_are_added_to_a_class_by_its_number_and_undone(rig, tmp_path):
    draw_shape(rig, "cross", 0)
    press(rig, pygame.K_t)
    press(rig, pygame.K_n)
    rig.app.prompt.text = "pitch=72"
    press(rig, pygame.K_RETURN)
    taught(rig)
    rig.app.clear()  # else, drawn at once beside the first, its bars would join the first cross's (one shape)
    rig.settle()
    draw_shape(rig, "cross", 1)
    press(rig, pygame.K_t)
    press(rig, pygame.K_1)
    taught(rig)
    language = read_language(tmp_path / "shapes.json")
    assert [len(e.outline.strokes) for e in language.classes[0].examples] == [2, 2]  # both bars, each time
    press(rig, pygame.K_t)
    press(rig, pygame.K_BACKSPACE)
    taught(rig)
    assert len(read_language(tmp_path / "shapes.json").classes[0].examples) == 1
    press(rig, pygame.K_1, pygame.KMOD_SHIFT)
    taught(rig)
    assert json.loads((tmp_path / "shapes.json").read_text())["classes"] == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shapes.json")]  # no temporary file left
    press(rig, pygame.K_BACKSPACE)  # nothing left to undo: said, nothing written
    assert rig.panel.saved.is_set() and "nothing taught" in rig.app.hud_state().message
    press(rig, pygame.K_ESCAPE)
    assert rig.app.panel is None


def test_without_a_language_file_t_says_how_to_start_one(tmp_path):
    rig = Rig(tmp_path)
    try:
        TeachPanel(rig.app).bind()
        press(rig, pygame.K_t)
        assert rig.app.panel is None
        assert "--language" in rig.app.hud_state().message
    finally:
        rig.close()
