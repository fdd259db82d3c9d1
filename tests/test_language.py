"""Taught shapes (bridge.core.shapes, bridge.core.language): recognition, invariances, rejection, the language
file, stroke grouping, and the engine playing a recognised shape's label."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from shape_drawings import SHAPES, STYLE_A, STYLE_B, STYLE_C, shape_drawing
from stand_ins import InkClassifier, label_matcher

from bridge.core.drawing import Drawing, PlayMode, Point, Stroke
from bridge.core.engine import Engine, EngineConfig
from bridge.core.events import LoadDrawing, PenDown, PenMove, PenUp, ScoreNoteOn, SetLanguage
from bridge.core.labels import Prediction
from bridge.core.language import (
    DEFAULT_THRESHOLD,
    GROUP_GAP_MS,
    SCHEMA_VERSION,
    Language,
    LanguageError,
    Recogniser,
    content_hash,
    example_from_strokes,
    language_from_json,
    parse_class_name,
    trailing_group,
)
from bridge.core.replay import session_events

CLASS_OF = dict(zip(SHAPES, ("timbre=brass", "timbre=flute", "timbre=string", "timbre=organ", "volume=high",
                             "pitch=72")))


def taught(style=STYLE_A, per_class: int = 3, seed: int = 11) -> Language:
    language = Language()
    for shape in SHAPES:
        for i in range(per_class):
            drawing = shape_drawing(shape, seed=seed, index=i, style=style)
            language = language.with_example(CLASS_OF[shape], example_from_strokes(drawing.strokes, f"{shape}-{i}"))
    return language


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    return Recogniser(taught())


def moved(drawing: Drawing, *, angle_deg: float = 0.0, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0,
          time_scale: float = 1.0, color: str | None = None) -> Drawing:
    """The drawing turned about its centre, scaled, shifted, drawn at another speed, in another colour."""
    points = np.array([(p.x, p.y) for s in drawing.strokes for p in s.points])
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))

    def point(p: Point) -> Point:
        x, y = p.x - centre[0], p.y - centre[1]
        return Point(centre[0] + dx + scale * (c * x - s * y), centre[1] + dy + scale * (s * x + c * y),
                     p.t_ms * time_scale)

    return replace(drawing, strokes=tuple(Stroke(tuple(map(point, st.points)), color or st.color, st.width_px)
                                          for st in drawing.strokes))


def test_class_names_are_head_equals_value_in_the_label_space():
    assert parse_class_name("timbre=brass") == ("timbre", "brass")
    assert parse_class_name(" pitch = 72 ") == ("pitch", 72)
    for bad in ("brass", "colour=red", "timbre=trumpet", "pitch=90", "volume=", "pitch=high"):
        with pytest.raises(LanguageError) as caught:
            parse_class_name(bad)
        assert repr(bad) in str(caught.value)


def test_unseen_drawings_of_every_taught_shape_are_recognised(recogniser):
    for shape in SHAPES:
        found = [recogniser.match(shape_drawing(shape, seed=12, index=i).strokes) for i in range(20)]
        right = sum(g is not None and g.name == CLASS_OF[shape] for g in found)
        assert right >= 18, (shape, [None if g is None else g.name for g in found])


def test_colour_size_place_rotation_speed_and_direction_do_not_change_the_answer(recogniser):
    for shape in SHAPES:
        drawing = shape_drawing(shape, seed=13, index=0)
        expected = recogniser.match(drawing.strokes)
        assert expected is not None and expected.name == CLASS_OF[shape], shape
        variants = [moved(drawing, angle_deg=15), moved(drawing, angle_deg=-15), moved(drawing, scale=0.5),
                    moved(drawing, scale=1.4), moved(drawing, dx=-30, dy=40), moved(drawing, time_scale=3.0),
                    moved(drawing, color="#E6A700"),
                    replace(drawing, strokes=tuple(Stroke(s.points[::-1], s.color, s.width_px)
                                                   for s in drawing.strokes[::-1]))]
        for variant in variants:
            found = recogniser.match(variant.strokes)
            assert found is not None and found.name == expected.name, shape


def mirrored(drawing: Drawing) -> Drawing:
    """The drawing mirrored top to bottom (a spiral the other way round, a zigzag going down first)."""
    top = min(p.y for s in drawing.strokes for p in s.points)
    bottom = max(p.y for s in drawing.strokes for p in s.points)
    return replace(drawing, strokes=tuple(Stroke(tuple(Point(p.x, top + bottom - p.y, p.t_ms) for p in s.points),
                                                 s.color, s.width_px) for s in drawing.strokes))


def test_a_triangle_in_three_strokes_is_the_triangle_taught_in_one(recogniser):
    """Hand A teaches triangles in one stroke; hand C draws them in three, in any order and direction."""
    found = [recogniser.match(shape_drawing("triangle", seed=19, index=i, style=STYLE_C).strokes) for i in range(20)]
    assert all(len(shape_drawing("triangle", seed=19, index=i, style=STYLE_C).strokes) == 3 for i in range(20))
    right = sum(g is not None and g.name == CLASS_OF["triangle"] for g in found)
    assert right >= 19, [None if g is None else g.name for g in found]


def test_a_mirror_image_is_the_same_shape(recogniser):
    """Hand A draws spirals one way round and zigzags going up first; their mirror images top to bottom (a
    spiral the other way round, a zigzag going down first) are recognised as the same shapes."""
    for shape in ("spiral", "zigzag", "wave"):
        for i in range(5):
            found = recogniser.match(mirrored(shape_drawing(shape, seed=20, index=i)).strokes)
            assert found is not None and found.name == CLASS_OF[shape], (shape, i)


def test_lines_wavy_notes_and_dabs_are_no_shape(recogniser):
    for kind in ("line", "dab"):
        for i in range(20):
            assert recogniser.match(shape_drawing(kind, seed=14, index=i).strokes) is None, (kind, i)


def test_a_looser_hand_taught_its_own_shapes_is_recognised_too():
    recogniser = Recogniser(taught(STYLE_B, per_class=5))
    right = sum((g := recogniser.match(shape_drawing(shape, seed=15, index=i, style=STYLE_B).strokes)) is not None
                and g.name == CLASS_OF[shape] for shape in SHAPES for i in range(10))
    assert right >= 50  # of 60; benchmarks/language_accuracy.py has the full figures


def test_a_gesture_sets_only_its_own_head():
    prediction = Prediction.from_probabilities([1 / 12] * 11 + [0.9], [0.1, 0.8, 0.1], [0.05] * 7 + [0.65])
    recogniser = Recogniser(Language().with_example("timbre=brass", example_from_strokes(
        shape_drawing("circle", seed=16, index=0).strokes)))
    gesture = recogniser.match(shape_drawing("circle", seed=16, index=1).strokes)
    applied = gesture.apply(prediction)
    assert applied.labels.timbre == "brass" and applied.confidence("timbre") == gesture.confidence
    assert 0.5 <= gesture.confidence <= 1.0
    assert (applied.labels.pitch, applied.labels.volume) == (prediction.labels.pitch, prediction.labels.volume)
    assert (applied.p_pitch, applied.p_volume) == (prediction.p_pitch, prediction.p_volume)
    assert math.isclose(sum(applied.p_timbre), 1.0)


def test_the_language_file_round_trips_and_a_changed_file_is_refused():
    language = taught(per_class=2)
    text = language.to_json()
    again = language_from_json(text)
    assert again == language and again.hash == language.hash and again.hash.startswith("sha256:")
    doc = json.loads(text)
    doc["threshold"] = 0.5
    with pytest.raises(LanguageError, match="hash"):
        language_from_json(json.dumps(doc))
    for field, value, where in (("classes", [{"name": "colour=red", "examples": []}], "classes[0].name"),
                                ("format", "pict2audio-drawing", "format"), ("version", SCHEMA_VERSION + 1, "version"),
                                ("threshold", "high", "threshold")):
        broken = {**json.loads(text), field: value}
        with pytest.raises(LanguageError) as caught:
            language_from_json(json.dumps(broken))
        assert caught.value.where == where
    with pytest.raises(LanguageError, match="not a language file"):
        language_from_json(b"\xff\xfe not json")


@pytest.mark.parametrize(("version", "default"), [(1, 0.26), (2, 0.3), (3, 0.34)])
def test_an_older_file_loads_with_its_threshold_on_today_s_scale(version: int, default: float):
    language = taught(per_class=2)

    def older(threshold: float) -> dict:
        content = {**json.loads(language.to_json()), "version": version, "threshold": threshold}
        del content["hash"]
        return {**content, "hash": content_hash(content)}

    old = older(default)
    loaded = language_from_json(json.dumps(old))
    assert loaded.classes == language.classes and loaded.threshold == DEFAULT_THRESHOLD
    assert loaded.hash != old["hash"] and json.loads(loaded.to_json())["version"] == SCHEMA_VERSION  # plays differently
    assert language_from_json(json.dumps(older(default / 2))).threshold == pytest.approx(DEFAULT_THRESHOLD / 2)
    with pytest.raises(LanguageError, match="hash"):
        language_from_json(json.dumps({**old, "threshold": 0.2}))


def test_examples_are_added_and_the_last_one_removed():
    drawing = shape_drawing("circle", seed=17, index=0)
    example = example_from_strokes(drawing.strokes)
    language = Language().with_example("timbre=brass", example).with_example(" timbre = brass", example)
    assert [len(c.examples) for c in language.classes] == [2]
    assert language.without_last_example("timbre=brass").find("timbre=brass").examples == (example,)
    assert language.without_last_example("timbre=brass").without_last_example("timbre=brass").classes == ()
    with pytest.raises(LanguageError, match="smaller than"):
        example_from_strokes(shape_drawing("dab", seed=17, index=0).strokes)


def stroke(x0: float, y0: float, x1: float, y1: float, t0: float, *, tool: str = "pen") -> Stroke:
    return Stroke(tuple(Point(x0 + (x1 - x0) * i / 9, y0 + (y1 - y0) * i / 9, t0 + 10 * i) for i in range(10)),
                  tool=tool)


def test_strokes_drawn_soon_after_and_near_each_other_are_one_shape():
    a = stroke(100, 100, 160, 160, 0)  # ends at t 90
    b = stroke(160, 100, 100, 160, 300)  # crosses a, 210 ms later
    far = stroke(300, 300, 360, 360, 600)
    late = stroke(100, 160, 160, 100, 400 + GROUP_GAP_MS + 1)
    assert trailing_group([a, b]) == [a, b]
    assert trailing_group([a, b], limit=1) == [b]
    assert trailing_group([a, b, far]) == [far]
    assert trailing_group([a, b, late]) == [late]
    assert trailing_group([a, stroke(0, 0, 1, 1, 200, tool="eraser"), b]) == [b]
    assert trailing_group([a, stroke(0, 0, 1, 1, 200, tool="eraser")]) == []


def engine_with(recognise, **config) -> Engine:
    return Engine(classify=InkClassifier().classify_raster, match=label_matcher, gestures=recognise,
                  config=EngineConfig(**config))


def play_all(engine: Engine, drawing: Drawing) -> list:
    return [b for b in map(engine.handle, session_events(drawing)) if b is not None]


def plays(bundles) -> list[tuple]:
    return [m.args for b in bundles for m in b.find_all("play")]


def test_the_engine_plays_a_recognised_shape_with_its_label_at_pen_up(recogniser):
    circle = shape_drawing("circle", seed=18, index=0)
    bundles = play_all(engine_with(recogniser), circle)
    without = play_all(engine_with(None), circle)
    assert plays(without)[-1][3] != "brass"  # the stand-in classifier hears its colour
    assert plays(bundles)[-1][3] == "brass" and plays(bundles)[-1][-1] == 1  # the same voice, retriggered
    end = bundles[-1]
    assert [m.address.rsplit("/", 1)[-1] for m in end.messages][-1] == "end"
    assert end.find("labels").args[2] == "brass"
    assert bundles[:-1] == without[:-1]  # nothing changes before the shape is complete


def test_the_second_bar_of_a_cross_makes_the_shape_and_the_first_bar_s_voice_stops(recogniser):
    cross = shape_drawing("cross", seed=18, index=0)
    engine = engine_with(recogniser)
    bundles = play_all(engine, cross)
    assert engine.gesture is not None and engine.gesture.name == "pitch=72" and engine.gesture.strokes == 2
    last = bundles[-1]
    assert last.find("voice_stop").args == (1,)
    assert last.find("labels").args[0] == 72 and last.find("labels").args[-1] == 2
    assert engine.drawing.strokes == cross.strokes


def test_onset_up_plays_the_shape_once_with_its_label(recogniser):
    engine = engine_with(recogniser, mode=PlayMode("stroke", "up"))
    bundles = play_all(engine, shape_drawing("spiral", seed=19, index=0))
    assert [args[3] for args in plays(bundles)] == ["organ"]


def test_a_failing_recogniser_is_contained_and_the_fixed_rules_play():
    def broken(strokes):
        raise RuntimeError("injected gestures failure")

    engine = engine_with(broken)
    bundles = play_all(engine, shape_drawing("circle", seed=20, index=0))
    assert plays(bundles) and any("gestures: RuntimeError" in e for e in engine.errors)
    assert engine.gesture is None


def test_set_language_switches_recognition_and_the_drawing_records_it(recogniser):
    engine = engine_with(None)
    record = {"path": "/somewhere/shapes.json", "hash": recogniser.language.hash}
    assert engine.handle(SetLanguage(t_ms=0.0, recognise=recogniser, record=record)) is None
    assert engine.drawing.meta["language"] == record
    bundles = play_all(engine, shape_drawing("circle", seed=21, index=0))
    assert plays(bundles)[-1][3] == "brass"
    engine.handle(LoadDrawing(t_ms=4000.0, drawing=Drawing(meta={"model_version": "x"})))  # an open, a palette
    assert engine.drawing.meta == {"model_version": "x", "language": record}  # the session's language stays
    engine.handle(SetLanguage(t_ms=5000.0, recognise=None, record=None))
    assert "language" not in engine.drawing.meta


def test_score_notes_of_an_opened_drawing_play_its_shapes(recogniser):
    circle = shape_drawing("circle", seed=22, index=0)
    engine = engine_with(recogniser)
    engine.handle(LoadDrawing(t_ms=0.0, drawing=circle))
    bundle = engine.handle(ScoreNoteOn(t_ms=10.0, stroke=circle.strokes[0], note=1))
    assert bundle.find("play").args[3] == "brass"


def test_pen_events_of_a_live_session_and_a_replay_give_the_same_bundles(recogniser):
    """The engine groups by drawing time only: the same events in, the same bundles out."""
    drawing = Drawing((*shape_drawing("cross", seed=23, index=0).strokes,
                       *(replace(s, points=tuple(Point(p.x, p.y, p.t_ms + 3000) for p in s.points))
                         for s in shape_drawing("wave", seed=23, index=0).strokes)))
    first, second = play_all(engine_with(recogniser), drawing), play_all(engine_with(recogniser), drawing)
    assert first == second
    events = session_events(drawing)
    assert isinstance(events[0], PenDown) and isinstance(events[-1], PenUp) and any(
        isinstance(e, PenMove) for e in events)


@pytest.mark.parametrize("mutate", [
    lambda d: d["classes"][0].update(examples=[{"source": "x", "strokes": [[[0.1, float("nan")], [0.2, 0.2]]]}]),
    lambda d: d["classes"][0].update(examples=[{"source": "x", "strokes": [[[0.1, 0.1]]]}]),
    lambda d: d["classes"][0].update(examples=[{"source": 7, "strokes": [[[0.1, 0.1], [0.2, 0.2]]]}]),
    lambda d: d["classes"][0].update(examples=[{"strokes": [[["a", 0.1], [0.2, 0.2]]]}]),
    lambda d: d["classes"][0].update(examples="all of them"),
    lambda d: d["classes"].append(dict(d["classes"][0])),
    lambda d: d.update(classes={"name": "timbre=brass"}),
    lambda d: d.update(threshold=float("inf")),
    lambda d: d.update(threshold=True),
    lambda d: d.update(version=True),
    lambda d: d.update(hash=None),
], ids=["nan", "one-point", "source", "text", "examples", "twice", "classes", "inf", "bool", "version-bool", "hash"])
def test_a_hostile_language_file_is_one_clear_error(mutate):
    doc = json.loads(taught(per_class=1).to_json())
    mutate(doc)
    with pytest.raises(LanguageError):
        language_from_json(json.dumps(doc))
