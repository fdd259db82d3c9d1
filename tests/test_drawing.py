"""Saved drawings (SPEC §5): JSON round-trip and every validation error, naming its field."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from bridge.core.drawing import (
    MAX_CONTROLS,
    MAX_DRAWING_BYTES,
    MAX_DURATION_MS,
    MAX_META_DEPTH,
    MAX_POINTS,
    MAX_POINTS_PER_STROKE,
    MAX_STROKES,
    Drawing,
    PlayMode,
    Point,
    Stroke,
    canvas_scale,
    drawing_from_dict,
    drawing_from_json,
)
from bridge.core.errors import DrawingError
from bridge.core.events import ReleaseOverrides, SetOverride, Trigger
from bridge.core.raster import rasterise, scaled_to_canvas


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


def test_equal_strokes_hash_alike_and_a_copy_carries_no_hash_from_another_process():
    pen = sample_drawing().strokes[0]
    rebuilt = Stroke(tuple(Point(p.x, p.y, p.t_ms) for p in pen.points), pen.color.lower(), pen.width_px)
    assert rebuilt == pen and hash(rebuilt) == hash(pen)  # the second hash is the cached one
    assert {pen: 1}[rebuilt] == 1
    assert hash(Stroke(pen.points, pen.color, pen.width_px + 1.0)) != hash(pen)
    assert "_hash" not in pickle.loads(pickle.dumps(pen)).__dict__
    assert "_hash" not in copy.deepcopy(pen).__dict__


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
    # Values Python accepts but a drawing must not (True == 1, NaN, ints beyond a float, absurd finite numbers).
    ("version true", mutate("version", True), "version", "got true"),
    ("point NaN", mutate("strokes[0].points[1]", [1, float("nan"), 20]), "strokes[0].points[1]",
     "y = NaN is not a finite number"),
    ("point Infinity", mutate("strokes[0].points[1]", [float("inf"), 1, 20]), "strokes[0].points[1]",
     "x = Infinity is not a finite number"),
    ("point int beyond a float", mutate("strokes[0].points[1]", [10**400, 1, 20]), "strokes[0].points[1]",
     "x = 1000"),
    ("point 1e308", mutate("strokes[0].points[1]", [1e308, 1, 20]), "strokes[0].points[1]",
     "x = 1e+308 is outside the canvas (expected -400..800"),
    ("point below the margin", mutate("strokes[0].points[1]", [1, -400.5, 20]), "strokes[0].points[1]",
     "y = -400.5 is outside the canvas"),
    ("point time 1e9", mutate("strokes[2].points[0]", [1, 2, 1e9]), "strokes[2].points[0]", "more than a day"),
    ("point time 1e15", mutate("strokes[2].points[0]", [1, 2, 1e15]), "strokes[2].points[0]", "more than a day"),
    ("width int beyond a float", mutate("strokes[0].width", 10**400), "strokes[0].width", "pen width"),
    ("control time 1e15", mutate("controls[1].t_ms", 1e15), "controls[1].t_ms", "<= 86400000"),
    ("control time beyond a float", mutate("controls[1].t_ms", -(10**400)), "controls[1].t_ms", "time in ms"),
    ("override value a list", mutate("controls[0].value", [72]), "controls[0].override", "an int, a string"),
    ("mode a list", mutate("mode.onset", ["up"]), "mode.onset", "down, up"),
    ("canvas too small", mutate("canvas.width", 39), "canvas.width", "40..4000"),
    ("canvas too big", mutate("canvas.height", 4001), "canvas.height", "40..4000"),
    ("meta NaN", mutate("meta.labels", {"p": [1, float("-inf")]}), "meta.labels.p[1]", "not a JSON number"),
    ("unknown key NaN", mutate("app", float("nan")), "app", "not a JSON number"),
    ("meta too deep", mutate("meta.deep", json.loads("[" * 40 + "]" * 40)), "meta.deep" + "[0]" * 31,
     f"more than {MAX_META_DEPTH} levels"),
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


def test_errors_stay_one_short_line_whatever_the_value():
    for doc in (mutate("strokes[0].tool", "x\n" * 10_000), mutate("strokes[0].width", 10**4000),
                mutate("mode.label_by", {"a\nb": list(range(10_000))}), mutate("meta.bad\nkey", float("nan"))):
        with pytest.raises(DrawingError) as info:
            drawing_from_json(json.dumps(doc))
        assert "\n" not in str(info.value) and len(str(info.value)) < 300, str(info.value)[:400]


def test_deep_nesting_is_a_drawing_error_not_a_recursion_error():
    for text in ("[" * 100_000 + "]" * 100_000, '{"version": 1, "meta": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"):
        with pytest.raises(DrawingError) as info:
            drawing_from_json(text)
        assert info.value.where == "(file)" and "nested too deeply" in info.value.problem


def test_a_number_too_long_to_read_is_a_drawing_error():
    text = json.dumps(valid_doc()).replace('"width": 12.5', '"width": ' + "9" * 5000)
    with pytest.raises(DrawingError) as info:
        drawing_from_json(text)
    assert info.value.where == "(file)" and "number too long" in info.value.problem


def test_a_file_larger_than_a_drawing_may_be_is_refused_before_parsing():
    text = json.dumps(valid_doc())
    padded = text[:-1] + ', "pad": "' + "x" * MAX_DRAWING_BYTES + '"}'
    with pytest.raises(DrawingError) as info:
        drawing_from_json(padded.encode())
    assert info.value.where == "(file)" and f"at most {MAX_DRAWING_BYTES}" in info.value.problem


def many_points(count: int, t0: float = 0.0) -> list[list[float]]:
    return [[100 + i % 50, 200, t0 + i] for i in range(count)]


def test_count_limits_name_their_field():
    longest = mutate("strokes[0].points", many_points(MAX_POINTS_PER_STROKE))
    assert len(drawing_from_dict(longest).strokes[0].points) == MAX_POINTS_PER_STROKE
    cases = [
        (mutate("strokes[0].points", many_points(MAX_POINTS_PER_STROKE + 1)), "strokes[0].points",
         f"a stroke has at most {MAX_POINTS_PER_STROKE}"),
        (mutate("strokes", [{"width": 3, "points": [[1, 2, 0]]}] * (MAX_STROKES + 1)), "strokes",
         f"at most {MAX_STROKES}"),
        (mutate("strokes", [{"width": 3, "points": many_points(MAX_POINTS_PER_STROKE)}] * 6), "strokes[5].points",
         f"more than {MAX_POINTS} points"),
        (mutate("controls", [{"t_ms": 1, "kind": "trigger"}] * (MAX_CONTROLS + 1)), "controls",
         f"at most {MAX_CONTROLS}"),
    ]
    for doc, where, problem in cases:
        with pytest.raises(DrawingError) as info:
            drawing_from_dict(doc)
        assert (info.value.where, problem in info.value.problem) == (where, True), str(info.value)


def test_a_million_points_is_one_error():
    doc = mutate("strokes[0].points", [[1, 2, 0]] * 1_000_000)
    with pytest.raises(DrawingError) as info:
        drawing_from_json(json.dumps(doc, separators=(",", ":")))
    assert info.value.where == "strokes[0].points" and "1000000 points" in info.value.problem


def test_times_up_to_a_day_are_kept():
    doc = mutate("strokes[2].points[0]", [1, 2, MAX_DURATION_MS])
    assert drawing_from_dict(doc).duration_ms() == MAX_DURATION_MS


def on_canvas(width: int, height: int, pen: float) -> dict:
    doc = mutate("canvas", {"width": width, "height": height})
    doc["strokes"] = [{"width": pen, "points": [[width / 4, height / 2, 0], [3 * width / 4, height / 2, 100]]}]
    return doc


def test_pen_widths_are_checked_once_scaled_to_the_400_px_canvas():
    for width, height, pen in [(40, 40, 6.5), (4000, 4000, 601), (40, 4000, 12)]:
        with pytest.raises(DrawingError) as info:
            drawing_from_dict(on_canvas(width, height, pen))
        assert info.value.where == "strokes[0].width", str(info.value)
        assert f"on this {width} x {height} canvas: 60 px once scaled" in info.value.problem
    for width, height, pen in [(40, 40, 6), (4000, 4000, 100), (4000, 4000, 600), (800, 400, 40)]:
        drawing = drawing_from_dict(on_canvas(width, height, pen))  # a wide pen on a big canvas is a thin one
        scaled = scaled_to_canvas(drawing)
        assert scaled.strokes[0].width_px == pytest.approx(pen * canvas_scale(width, height)[2])
        assert 0 < scaled.strokes[0].width_px <= 60
        assert drawing_from_json(drawing.to_json()) == drawing  # saved in its own canvas's px


def test_a_drawing_on_another_canvas_rasterises_as_its_400_px_version():
    doc = valid_doc()
    doc["canvas"] = {"width": 800, "height": 800}
    for stroke in doc["strokes"]:
        stroke["width"] *= 2
        stroke["points"] = [[2 * x, 2 * y, t] for x, y, t in stroke["points"]]
    big = drawing_from_dict(doc)
    assert scaled_to_canvas(big).strokes == sample_drawing().strokes
    assert (rasterise(big) == rasterise(sample_drawing())).all()


def test_a_stream_that_never_ends_is_refused_after_the_size_limit(tmp_path):
    """replay reads a drawing through read_drawing_bytes: a pipe, a device or a huge file is never read whole."""
    import contextlib
    import os
    import threading
    import time

    from bridge.commands.replay import read_drawing

    fifo = tmp_path / "endless.json"
    os.mkfifo(fifo)
    done = threading.Event()

    def writer() -> None:  # more than a drawing may have, then the pipe stays open until the test ends
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as pipe:
            pipe.write(b"[" + b" " * MAX_DRAWING_BYTES + b"]")
            pipe.flush()
            done.wait(10.0)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(DrawingError) as info:
            read_drawing(fifo)
    finally:
        done.set()
        thread.join(5.0)
    assert time.monotonic() - started < 5.0
    assert info.value.where == "(file)" and f"({MAX_DRAWING_BYTES} bytes)" in info.value.problem
