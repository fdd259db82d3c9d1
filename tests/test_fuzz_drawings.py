"""Fuzzing saved drawings (hypothesis, derandomized): valid drawings round-trip exactly; any other text,
JSON value or mutation of a valid document parses or raises DrawingError (a field and a problem, one
line), never anything else; and a `classify` batch over generated bad files reports each in one line."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.core.drawing import (
    CANVAS_SIDE_RANGE_PX,
    COORDINATE_MARGIN,
    MAX_DURATION_MS,
    MAX_PEN_WIDTH_PX,
    Drawing,
    PlayMode,
    Point,
    Stroke,
    canvas_scale,
    drawing_from_json,
)
from bridge.core.errors import DrawingError
from bridge.core.events import ReleaseOverrides, SetOverride, Trigger
from bridge.core.labels import CLASSES, PITCHES, format_hex_color
from bridge.core.raster import rasterise


def fuzz(max_examples: int) -> settings:
    """Derandomized (the same examples every run), no example database in the tree, no deadline."""
    return settings(derandomize=True, database=None, deadline=None, max_examples=max_examples,
                    suppress_health_check=[HealthCheck.too_slow])


KNOWN_KEYS = {"format", "version", "canvas", "strokes", "meta", "controls", "mode"}

# -- strategies ------------------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
finite_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
times = st.floats(min_value=0, max_value=MAX_DURATION_MS)


spans = st.floats(min_value=-COORDINATE_MARGIN, max_value=1 + COORDINATE_MARGIN)  # of the canvas side
shares = st.floats(min_value=1e-4, max_value=1.0)  # of the widest pen allowed on the canvas
colors = st.tuples(*[st.integers(0, 255)] * 3).map(format_hex_color)
tools = st.sampled_from(["pen", "pen", "eraser"])


@st.composite
def strokes(draw: st.DrawFn, width: int, height: int) -> Stroke:
    points = draw(st.lists(st.tuples(spans, spans, times), min_size=1, max_size=6))
    ordered = sorted(t for _, _, t in points)  # times never decrease within a stroke
    pen = draw(shares) * MAX_PEN_WIDTH_PX / canvas_scale(width, height)[2]
    return Stroke(tuple(Point(fx * width, fy * height, t) for (fx, fy, _), t in zip(points, ordered, strict=True)),
                  draw(colors), pen, draw(tools))


overrides = st.one_of(
    st.builds(lambda t, v: SetOverride(t_ms=t, head="pitch", value=v), times, st.sampled_from(PITCHES) | st.none()),
    st.builds(lambda t, v: SetOverride(t_ms=t, head="volume", value=v), times, st.sampled_from(CLASSES["volume"])),
    st.builds(lambda t, v: SetOverride(t_ms=t, head="timbre", value=v), times, st.sampled_from(CLASSES["timbre"])),
    st.builds(lambda t: ReleaseOverrides(t_ms=t), times),
    st.builds(lambda t: Trigger(t_ms=t), times),
)
modes = st.none() | st.builds(PlayMode, st.sampled_from(["stroke", "canvas"]), st.sampled_from(["down", "up"]))


@st.composite
def drawings(draw: st.DrawFn) -> Drawing:
    low, high = CANVAS_SIDE_RANGE_PX
    width = draw(st.sampled_from([400, 400, low, high]) | st.integers(low, high))
    height = draw(st.just(width) | st.integers(low, high))
    return Drawing(
        strokes=tuple(draw(st.lists(strokes(width, height), max_size=4))),
        width_px=width,
        height_px=height,
        meta=draw(st.dictionaries(st.text(max_size=8), finite_json, max_size=3)),
        extra=draw(st.dictionaries(st.text(max_size=8).filter(lambda k: k not in KNOWN_KEYS), finite_json,
                                   max_size=2)),
        controls=tuple(draw(st.lists(overrides, max_size=3))),
        mode=draw(modes),
    )


# -- the properties --------------------------------------------------------------------------------------


def parse_or_drawing_error(text: str | bytes) -> Drawing | None:
    """The parsed drawing, or None after checking the DrawingError names a field and a problem in one line.
    Any other exception fails the test."""
    try:
        drawing = drawing_from_json(text)
    except DrawingError as exc:
        assert isinstance(exc.where, str) and exc.where, repr(exc)
        assert isinstance(exc.problem, str) and exc.problem, repr(exc)
        assert "\n" not in str(exc) and len(str(exc)) < 400, str(exc)[:500]
        return None
    saved = drawing.to_json()
    assert drawing_from_json(saved) == drawing  # whatever is accepted is saved and read back as is
    json.loads(saved, parse_constant=not_json)  # as standard JSON (json's NaN compares equal to itself)
    return drawing


def not_json(name: str) -> None:
    raise AssertionError(f"an accepted drawing is saved with {name}, which is not JSON")


def draws_cleanly(drawing: Drawing) -> None:
    """What passes is scaled and rasterised without overflow or NaN."""
    with np.errstate(over="raise", invalid="raise"):
        rasterise(drawing)


@fuzz(150)
@given(drawings())
def test_valid_drawings_round_trip_exactly(drawing: Drawing):
    text = drawing.to_json()
    again = drawing_from_json(text)
    assert again == drawing
    assert again.to_json() == text


@fuzz(200)
@given(json_values)
def test_any_json_value_parses_or_is_a_drawing_error(value: Any):
    parse_or_drawing_error(json.dumps(value))


@fuzz(200)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_parse_or_are_a_drawing_error(data: bytes | str):
    parse_or_drawing_error(data)


DEEP = "@deep@"
NASTY = [  # values a sweep of bad inputs found, put anywhere in a valid document
    10**400, -(10**400), 1e308, -1e308, 5e-324, float("nan"), float("inf"), float("-inf"), True, False, None,
    0, -1, 61, 1e9, 1e15, 39, 4001, "", "pen", "#GGGGGG", [], {}, [1, 2], [[1, 2, 3]], {"kind": "trigger"}, DEEP,
]


def paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON document: tuples of keys and indices (the top level included)."""
    yield prefix
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, child in children:
        yield from paths(child, (*prefix, key))


def mutated(doc: Any, path: tuple, value: Any, *, delete: bool = False) -> str:
    """The document as text with the value at `path` replaced (or deleted); DEEP becomes 100,000 nested lists."""
    doc = json.loads(json.dumps(doc))
    if not path:
        doc = value
    else:
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if delete:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return json.dumps(doc).replace(json.dumps(DEEP), "[" * 100_000 + "]" * 100_000)


@fuzz(200)
@given(drawings(), st.data())
def test_mutations_of_valid_documents_parse_or_are_a_drawing_error(drawing: Drawing, data: st.DataObject):
    doc = json.loads(drawing.to_json())
    path = data.draw(st.sampled_from(list(paths(doc))), label="path")
    delete = bool(path) and data.draw(st.booleans(), label="delete")
    nasty = st.sampled_from(NASTY)
    value = None if delete else data.draw(st.one_of(nasty, nasty, nasty, json_values), label="value")
    accepted = parse_or_drawing_error(mutated(doc, path, value, delete=delete))
    if accepted is not None:
        draws_cleanly(accepted)


def small_document() -> dict:
    """A valid document with one of everything: two strokes, each control kind, a mode, meta and an extra key."""
    strokes = (Stroke((Point(10, 20, 0), Point(30, 40, 16)), "#1E90FF", 12.0),
               Stroke((Point(200, 300, 500),), "#FFFFFF", 20.0, "eraser"))
    controls = (SetOverride(t_ms=700, head="pitch", value=72), ReleaseOverrides(t_ms=800), Trigger(t_ms=950))
    drawing = Drawing(strokes, meta={"model_version": "m1", "labels": [1, {"a": 2.5}]}, extra={"app": {"x": 1}},
                      controls=controls, mode=PlayMode("canvas", "up"))
    return json.loads(drawing.to_json())


def test_every_nasty_value_at_every_place_of_a_document_parses_or_is_a_drawing_error():
    doc = small_document()
    places = list(paths(doc))
    outcomes = {"accepted": 0, "refused": 0}
    for path in places:
        for value in NASTY:
            accepted = parse_or_drawing_error(mutated(doc, path, value))
            outcomes["accepted" if accepted else "refused"] += 1
            if accepted and path[:1] in (("strokes",), ("canvas",)):
                draws_cleanly(accepted)
        if path:
            parse_or_drawing_error(mutated(doc, path, None, delete=True))
    assert len(places) > 40 and outcomes["refused"] > outcomes["accepted"] > 0, outcomes


@fuzz(100)
@given(drawings(), st.data())
def test_cut_or_corrupted_text_parses_or_is_a_drawing_error(drawing: Drawing, data: st.DataObject):
    text = drawing.to_json().encode()
    at = data.draw(st.integers(0, len(text)), label="at")
    cut = data.draw(st.integers(0, 8), label="cut")
    inserted = data.draw(st.binary(max_size=6), label="inserted")
    parse_or_drawing_error(text[:at] + inserted + text[at + cut :])


# -- a classify batch over generated bad files ---------------------------------------------------------------


def generated_folder(folder: Path, count: int, seed: int = 7) -> tuple[list[Path], list[Path]]:
    """`count` mutations of the example drawings at random places with NASTY values; (good files, bad files)
    as the parser judges them in this process."""
    rng = random.Random(seed)
    examples = [json.loads((REPO / "data" / "drawings" / name).read_text()) for name in ("melody.json", "scale.json")]
    good: list[Path] = []
    bad: list[Path] = []
    for i in range(count):
        doc = rng.choice(examples)
        places = [p for p in paths(doc) if p]
        path = rng.choice(places)
        text = mutated(doc, path, rng.choice(NASTY))
        file = folder / f"{i:02d}.json"
        file.write_text(text)
        (good if parse_or_drawing_error(text) is not None else bad).append(file)
    return good, bad


def test_a_classify_batch_of_generated_files_reports_each_bad_file_in_one_line(tmp_path: Path):
    good, bad = generated_folder(tmp_path, 40)
    assert len(bad) >= 25 and good  # the mix the batch must cope with
    files = sorted([*good, *bad])
    result = subprocess.run([sys.executable, "run_bridge.py", "classify", *map(str, files), "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in errors] == [str(f) for f in sorted(bad)], result.stderr[-2000:]
    assert all(line.startswith("error: ") and len(line) < 400 for line in errors)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["file"] for row in rows] == [str(f) for f in sorted(good)]
