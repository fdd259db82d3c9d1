"""Saved drawings (SPEC §5): JSON round-trip and every validation error, naming its field."""

from __future__ import annotations

import copy
import json

import pytest

from bridge.core.drawing import Drawing, PlayMode, Point, Stroke, drawing_from_dict, drawing_from_json
from bridge.core.events import ReleaseOverrides, SetOverride, Trigger
from bridge.errors import DrawingError


def sample_drawing() -> Drawing:
    pen = Stroke((Point(10, 20.5, 0), Point(30.25, 22, 16.5), Point(50, 21, 33)), "#1E90FF", 12.5)
    eraser = Stroke((Point(20, 20, 500), Point(25, 21, 516)), "#FFFFFF", 20.0, "eraser")
    tap = Stroke((Point(200.125, 300.875, 900.333),), "#000000", 3.0)
    return Drawing((pen, eraser, tap), meta={"composer": "test", "labels": {"pitch": 79}},
                   extra={"app": {"name": "x"}}, mode=PlayMode("stroke", "up"),
                   controls=(SetOverride(t_ms=700.0, head="pitch", value=72), ReleaseOverrides(t_ms=800.0),
                             Trigger(t_ms=950.0)))


def valid_doc() -> dict:
    return json.loads(sample_drawing().to_json())


def test_json_round_trip_is_exact():
    drawing = sample_drawing()
    text = drawing.to_json()
    again = drawing_from_json(text)
    assert again == drawing
    assert again.to_json() == text
    assert drawing_from_json(text.encode("utf-8")) == drawing


def test_points_are_quantised_so_live_and_saved_drawings_are_equal():
    point = Point(1.23456789, 2.0000001, 3.9999)
    assert (point.x, point.y, point.t_ms) == (1.235, 2.0, 4.0)
    stroke = Stroke((point,), "#abcdef", 5.0)
    assert stroke.color == "#ABCDEF"
    assert drawing_from_json(Drawing((stroke,)).to_json()).strokes[0] == stroke


def test_document_shape_and_defaults():
    doc = valid_doc()
    assert doc["format"] == "pict2audio-drawing" and doc["version"] == 1
    assert doc["canvas"] == {"width": 400, "height": 400}
    assert doc["strokes"][0]["points"][0] == [10, 20.5, 0]  # whole numbers written without ".0"
    assert doc["app"] == {"name": "x"}  # unknown keys are kept
    minimal = {"version": 1, "canvas": {"width": 400, "height": 400},
               "strokes": [{"width": 4, "points": [[1, 2, 0]]}]}
    stroke = drawing_from_dict(minimal).strokes[0]
    assert (stroke.tool, stroke.color, stroke.width_px) == ("pen", "#000000", 4.0)


def mutate(path: str, value):
    """A valid document with the field at `path` (dots and [i]) set to value; value=... deletes it."""
    doc = valid_doc()
    keys = path.replace("[", ".").replace("]", "").split(".")
    target = doc
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return doc


BAD_DOCUMENTS = [
    # (what, document or None for raw text, expected field path, a word of the problem)
    ("format", mutate("format", "svg"), "format", "pict2audio-drawing"),
    ("version missing", mutate("version", ...), "version", "schema version"),
    ("version newer", mutate("version", 2), "version", "schema version"),
    ("canvas missing", mutate("canvas", ...), "canvas", "width"),
    ("canvas width", mutate("canvas.width", 0), "canvas.width", "whole number"),
    ("canvas height", mutate("canvas.height", 400.5), "canvas.height", "whole number"),
    ("strokes not a list", mutate("strokes", {}), "strokes", "list of strokes"),
    ("stroke not an object", mutate("strokes[1]", [1, 2]), "strokes[1]", "stroke object"),
    ("tool", mutate("strokes[0].tool", "brush"), "strokes[0].tool", "pen, eraser"),
    ("colour word", mutate("strokes[0].color", "blue"), "strokes[0].color", "#RRGGBB"),
    ("colour number", mutate("strokes[2].color", 255), "strokes[2].color", "#RRGGBB"),
    ("width zero", mutate("strokes[0].width", 0), "strokes[0].width", "pen width"),
    ("width too big", mutate("strokes[0].width", 61), "strokes[0].width", "pen width"),
    ("width text", mutate("strokes[0].width", "12"), "strokes[0].width", "pen width"),
    ("width bool", mutate("strokes[0].width", True), "strokes[0].width", "pen width"),
    ("points missing", mutate("strokes[0].points", ...), "strokes[0].points", "non-empty list"),
    ("points empty", mutate("strokes[0].points", []), "strokes[0].points", "non-empty list"),
    ("point short", mutate("strokes[0].points[1]", [1, 2]), "strokes[0].points[1]", "[x, y, t_ms]"),
    ("point text", mutate("strokes[0].points[2]", [1, "2", 3]), "strokes[0].points[2]", "[x, y, t_ms]"),
    ("time backwards", mutate("strokes[0].points[2]", [1, 2, 3]), "strokes[0].points[2]", "never decrease"),
    ("negative time", mutate("strokes[2].points[0]", [1, 2, -1]), "strokes[2].points[0]", ">= 0"),
    ("meta", mutate("meta", [1]), "meta", "object"),
    ("controls not a list", mutate("controls", {}), "controls", "list of control events"),
    ("control not an object", mutate("controls[0]", 5), "controls[0]", "control object"),
    ("control time", mutate("controls[1].t_ms", -3), "controls[1].t_ms", "time in ms"),
    ("control kind", mutate("controls[1].kind", "wiggle"), "controls[1].kind", "override, release, trigger"),
    ("override head", mutate("controls[0].head", "tempo"), "controls[0].override", "pitch, volume, timbre"),
    ("override value", mutate("controls[0].value", 99), "controls[0].override", "69..80"),
    ("top level", [1, 2], "(top level)", "JSON object"),
]


@pytest.mark.parametrize(("what", "doc", "where", "problem"), BAD_DOCUMENTS, ids=[b[0] for b in BAD_DOCUMENTS])
def test_each_validation_error_names_its_field(what, doc, where, problem):
    with pytest.raises(DrawingError) as info:
        drawing_from_json(json.dumps(doc))
    assert info.value.where == where, str(info.value)
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{where}: ")


def test_not_json_and_not_text():
    with pytest.raises(DrawingError, match="not valid JSON") as info:
        drawing_from_json('{"version": 1,')
    assert info.value.where.startswith("line 1 column")
    with pytest.raises(DrawingError, match="not a text file"):
        drawing_from_json(b"\x89PNG\r\n\x1a\n\xff\xfe")


def test_bad_values_in_code_are_rejected_too():
    with pytest.raises(DrawingError) as info:
        Stroke((Point(0, 0, 0),), "#000000", 0.0)
    assert info.value.where == "width"
    with pytest.raises(DrawingError) as info:
        Stroke((Point(0, 0, 0),), "#000000", 5.0, "spray")
    assert info.value.where == "tool"


def test_validation_does_not_change_a_valid_document():
    doc = valid_doc()
    before = copy.deepcopy(doc)
    drawing_from_dict(doc)
    assert doc == before
