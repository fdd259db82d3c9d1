"""The composer's palette (bridge/core/palette.py): colour science, the written form, the engine's timbre,
the config, saved drawings and their replay."""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import pytest
from stand_ins import InkClassifier, label_matcher

from bridge.app.config import load_config
from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_json
from bridge.core.engine import Engine, EngineConfig
from bridge.core.errors import ConfigError, DrawingError
from bridge.core.events import Clear, LoadDrawing, PenDown, PenMove, PenUp
from bridge.core.labels import PALETTE_HEX, TIMBRES, pitch_for_y
from bridge.core.palette import MAX_COLOURS, Palette, PaletteError, ciede2000, delta_e, srgb_to_lab
from bridge.core.raster import rasterise
from bridge.core.replay import session_events

LABELS_ADDRESS = "/pict2audio/labels"
# Far from the default eight and from each other, plus two close pairs: mid grey on black's ray from white,
# and two reds 6 ΔE00 apart.
COMPOSER = {
    "keyboard": ["#000000"],
    "organ": ["#808080"],
    "flute": ["#20B2AA", "#87CEEB"],
    "string": ["#D00000"],
    "brass": ["#B22222"],
    "vocal": ["#FFD700"],
    "reed": ["#9ACD32"],
}


@pytest.fixture(scope="module")
def palette() -> Palette:
    return Palette.from_dict(COMPOSER)


# -- colour science ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lab1", "lab2", "expected"), [  # Sharma, Wu and Dalal 2005, supplementary test data
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
])
def test_ciede2000_matches_the_published_test_pairs(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    assert float(ciede2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_srgb_to_lab_white_black_and_red():
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]]))
    assert lab[0] == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    assert lab[1] == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.01)


# -- the written form -------------------------------------------------------------------------------------


def test_written_form_round_trips_in_the_composers_order(palette):
    assert palette.to_dict() == COMPOSER
    assert Palette.from_dict(palette.to_dict()) == palette
    assert Palette.from_dict({"flute": "#1e90ff"}).entries == (("#1E90FF", "flute"),)  # one colour, any case
    assert Palette.default().to_dict() == {t: [PALETTE_HEX[t]] for t in TIMBRES}


def test_with_color_adds_to_its_timbre_changes_and_removes(palette):
    added = palette.with_color("#40E0D0", "flute")
    assert added.to_dict()["flute"] == ["#20B2AA", "#87CEEB", "#40E0D0"]
    moved = palette.with_color("#87CEEB", "vocal")
    assert moved.to_dict()["flute"] == ["#20B2AA"] and moved.to_dict()["vocal"] == ["#FFD700", "#87CEEB"]
    assert "organ" not in palette.with_color("#808080", None).to_dict()
    with pytest.raises(PaletteError, match="not in the palette"):
        palette.with_color("#123456", None)
    with pytest.raises(PaletteError, match="at least one"):
        Palette.from_dict({"flute": "#1E90FF"}).with_color("#1E90FF", None)


@pytest.mark.parametrize(("doc", "where", "problem"), [
    ({"flutes": ["#1E90FF"]}, "palette.flutes", "unknown timbre"),
    ({"flute": ["#1E90FF", "#1e90ff"]}, "palette.flute", "already the colour of flute"),
    ({"flute": ["#1E90FF"], "reed": "#1E90FF"}, "palette.reed", "already the colour of flute"),
    ({"flute": ["#1E90FG"]}, "palette.flute[0]", "#RRGGBB"),
    ({"flute": [12]}, "palette.flute[0]", "#RRGGBB"),
    ({"flute": []}, "palette.flute", "non-empty list"),
    ({}, "palette", "at least one"),
    (["#1E90FF"], "palette", "each timbre mapped to its colours"),
    ({"flute": [f"#0000{i:02X}" for i in range(MAX_COLOURS + 1)]}, "palette", f"at most {MAX_COLOURS}"),
])
def test_a_bad_palette_names_the_entry_and_the_problem(doc, where, problem):
    with pytest.raises(PaletteError) as err:
        Palette.from_dict(doc)
    assert err.value.where == where and problem in err.value.problem


# -- the timbre of a colour -------------------------------------------------------------------------------


def test_exact_palette_colours_play_their_timbre_and_others_the_nearest(palette):
    for color, timbre in palette.entries:
        assert palette.timbre_of(color) == timbre
    assert palette.timbre_of("#1E90FF") == "flute"  # a blue not in it: nearest is sky blue
    assert palette.timbre_of("#FFFFFF") == "flute"  # white: the palest colour, sky blue
    probs = palette.probabilities((0x20, 0xB2, 0xAA))
    assert probs[TIMBRES.index("flute")] > 0.999 and sum(probs) == pytest.approx(1.0)
    assert probs[TIMBRES.index("guitar")] == 0.0  # a timbre without a colour


def test_confidence_follows_the_margin_between_close_colours(palette):
    assert 5.0 < delta_e("#D00000", "#B22222") < 8.0  # the close pair
    exact = palette.probabilities((0xD0, 0x00, 0x00))
    assert 0.9 < exact[TIMBRES.index("string")] < 0.99  # right, but less sure than for a far colour
    between = palette.probabilities((0xC1, 0x11, 0x11))  # about half way
    string, brass = between[TIMBRES.index("string")], between[TIMBRES.index("brass")]
    assert 0.3 < string < 0.7 and string + brass == pytest.approx(1.0, abs=1e-3)


def image_of(color: str, width_px: float, y: float = 200.0) -> np.ndarray:
    points = tuple(Point(40 + 10 * i, y + 6 * np.sin(i / 3), 10 * i) for i in range(30))
    return rasterise(Drawing((Stroke(points, color, width_px),)))


@pytest.mark.parametrize("width_px", [2, 5, 12, 25])
def test_canvas_images_read_the_timbre_of_their_ink(palette, width_px):
    """The picture path (canvas mode): anti-aliased strokes on the grid, the close pairs included (grey from
    5 px: a thinner black stroke covers no 4 px block fully and reads as its paler ray-mate)."""
    for color, timbre in palette.entries:
        if color == "#000000" and width_px < 5:
            continue
        probs = palette.ink_probabilities(image_of(color, width_px))
        assert TIMBRES[int(np.argmax(probs))] == timbre, (color, width_px, probs)
    assert palette.ink_probabilities(rasterise(Drawing())) is None  # no ink: the model's timbre stays


def test_canvas_images_weigh_colours_by_their_ink(palette):
    drawing = Drawing((Stroke(tuple(Point(40 + 20 * i, 100, i) for i in range(16)), "#FFD700", 20.0),
                       Stroke(tuple(Point(40 + 20 * i, 300, i) for i in range(4)), "#20B2AA", 6.0)))
    probs = palette.ink_probabilities(rasterise(drawing))
    assert TIMBRES[int(np.argmax(probs))] == "vocal" and probs[TIMBRES.index("flute")] > 0.01


# -- the engine ---------------------------------------------------------------------------------------------


def stroke_events(color: str, *, y: float, t0: float) -> list:
    return [PenDown(t_ms=t0, x=40.0, y=y, color=color, width_px=12.0),
            *(PenMove(t_ms=t0 + 10.0 * i, x=40.0 + 20 * i, y=y) for i in range(1, 12)), PenUp(t_ms=t0 + 110.0)]


def labels_of(bundles) -> list[tuple]:
    return [m.args for b in bundles if b is not None for m in b.find_all("labels")]


def test_stroke_voices_play_the_palettes_timbre_while_pitch_and_volume_come_from_the_model(palette):
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher, config=EngineConfig(palette=palette))
    events = stroke_events("#9ACD32", y=100, t0=0) + stroke_events("#FFD700", y=300, t0=200)
    labels = labels_of(engine.handle(e) for e in events)
    assert {args[2] for args in labels if args[-1] == 1} == {"reed"}  # the stand-in model says brass for both
    assert {args[2] for args in labels if args[-1] == 2} == {"vocal"}
    assert {args[0] for args in labels if args[-1] == 1} == {pitch_for_y(100)}  # the model's pitch, per voice
    assert {args[0] for args in labels if args[-1] == 2} == {pitch_for_y(300)}
    assert all(args[5] > 0.99 for args in labels)  # p_timbre: far from every other colour
    assert engine.drawing.palette == palette  # recorded with the drawing
    engine.handle(Clear(t_ms=400.0))
    assert engine.drawing.palette == palette  # a new drawing keeps it


def test_without_a_palette_the_model_decides_and_a_loaded_drawing_brings_its_own(palette):
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    first = labels_of(engine.handle(e) for e in stroke_events("#9ACD32", y=100, t0=0))
    assert {args[2] for args in first} == {"brass"}  # the stand-in model's answer
    engine.handle(LoadDrawing(t_ms=200.0, drawing=Drawing(palette=palette)))
    second = labels_of(engine.handle(e) for e in stroke_events("#9ACD32", y=100, t0=300))
    assert {args[2] for args in second} == {"reed"} and engine.drawing.palette == palette


def test_canvas_mode_reads_the_palette_from_the_pictures_ink(palette):
    from bridge.core.drawing import PlayMode

    config = EngineConfig(mode=PlayMode("canvas", "down"), palette=palette)
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher, config=config)
    labels = labels_of(engine.handle(e) for e in stroke_events("#9ACD32", y=200, t0=0))
    assert labels and labels[-1][2] == "reed"


def test_score_notes_use_the_palette_too(palette):
    from bridge.core.events import ScoreNoteOn

    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher, config=EngineConfig(palette=palette))
    stroke = Stroke(tuple(Point(40 + 20 * i, 150, 10 * i) for i in range(10)), "#FFD700", 12.0)
    bundle = engine.handle(ScoreNoteOn(t_ms=0.0, stroke=stroke, note=1))
    assert bundle.find("play").args[3] == "vocal"


# -- saved drawings --------------------------------------------------------------------------------------------


def test_a_drawing_records_its_palette_and_reads_it_back(palette):
    drawing = Drawing((Stroke((Point(10, 10, 0),), "#20B2AA", 5.0),), palette=palette)
    doc = json.loads(drawing.to_json())
    assert doc["palette"] == COMPOSER
    assert drawing_from_json(drawing.to_json()) == drawing
    assert "palette" not in json.loads(Drawing().to_json())  # none: the model's timbre


@pytest.mark.parametrize(("palette_doc", "where"), [
    ({"flute": ["#1E90FF", "#1E90FF"]}, "palette.flute"),
    ({"oboe": "#1E90FF"}, "palette.oboe"),
    ("#1E90FF", "palette"),
])
def test_a_broken_palette_in_a_drawing_names_the_field(palette_doc, where):
    doc = {"version": 1, "canvas": {"width": 400, "height": 400}, "strokes": [], "palette": palette_doc}
    with pytest.raises(DrawingError) as err:
        drawing_from_json(json.dumps(doc))
    assert err.value.where == where


def test_a_replay_of_the_saved_drawing_gives_the_live_bundles(palette):
    """Engine level: the live session's bundles come back from the saved JSON alone (its palette included)."""
    from bridge.app.replayer import replay_drawing

    live = Engine(classify=InkClassifier().classify_raster, match=label_matcher, config=EngineConfig(palette=palette))
    events = stroke_events("#808080", y=50, t0=0) + stroke_events("#B22222", y=250, t0=200)
    live_bundles = [b for b in map(live.handle, events) if b is not None and b.messages]
    saved = drawing_from_json(live.drawing.to_json())
    replayed = Engine(classify=InkClassifier().classify_raster, match=label_matcher,
                      config=EngineConfig(palette=saved.palette))
    assert [b for _, b in replay_drawing(saved, replayed, speed=None).bundles] == live_bundles
    assert {args[2] for args in labels_of(live_bundles)} == {"organ", "brass"}
    assert len(session_events(saved)) == len(events)


# -- the config ---------------------------------------------------------------------------------------------


def config_file(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(argparse.Namespace(config=path))


def test_the_config_palette_table(tmp_path, caplog):
    text = '[palette]\nflute = ["#20B2AA", "#87CEEB"]\nstring = "#D00000"\nflutes = "#000000"\n'
    with caplog.at_level(logging.WARNING):
        config = config_file(tmp_path, text)
    assert config.palette.to_dict() == {"flute": ["#20B2AA", "#87CEEB"], "string": ["#D00000"]}
    assert "[palette] unknown key 'flutes'; did you mean 'flute'? (ignored)" in caplog.text
    assert config_file(tmp_path, "[osc]\n").palette is None


@pytest.mark.parametrize(("text", "message"), [
    ('[palette]\nflute = ["#20B2AA", "#20B2AG"]\n', r"\[palette\] flute\[1\]: expected a colour"),
    ('[palette]\nflute = "#20B2AA"\nreed = "#20b2aa"\n', r"\[palette\] reed: #20B2AA is already the colour of flute"),
    ("palette = 3\n", r"\[palette\] must be a table"),
])
def test_a_bad_config_palette_is_one_error_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as err:
        config_file(tmp_path, text)
    assert "config.toml" in str(err.value)


def test_a_bad_config_palette_stops_the_cli_with_exit_code_2(tmp_path):
    from replay_helpers import run_bridge

    path = tmp_path / "config.toml"
    path.write_text('[palette]\nflute = ["#20B2AA", "#20B2AA"]\n', encoding="utf-8")
    proc = run_bridge("replay", str(tmp_path / "none.json"), "--config", str(path), "--audio", "none", "--fast")
    assert proc.returncode == 2, proc.stderr
    assert "[palette] flute: #20B2AA is already the colour of flute" in proc.stderr


def test_cli_replay_of_a_palette_drawing_sends_the_live_osc_stream(palette, tmp_path):
    """The real model and default bank, live with the config's palette, then `replay --fast` of the saved JSON
    in a subprocess (whose own config has no palette: the drawing's wins)."""
    from replay_helpers import OscRecorder, run_bridge

    from bridge.app.config import Config
    from bridge.app.session import build_session

    events = [e for k, color in enumerate(("#808080", "#B22222", "#87CEEB", "#000000"))
              for e in stroke_events(color, y=40.0 + 90 * k, t0=300.0 * k)]
    with OscRecorder() as receiver:
        parts = build_session(Config(osc_targets=(("127.0.0.1", receiver.port),), audio="none", palette=palette,
                                     oscquery=False))
        try:
            for event in events:
                parts.session.post(event)
            assert parts.session.wait_idle(30.0)
            receiver.wait_quiet()
            saved = tmp_path / "take.json"
            saved.write_text(parts.engine.drawing.to_json(), encoding="utf-8")
            assert not parts.engine.errors
        finally:
            parts.close()
    live = [r.messages for r in receiver.received]
    timbres = [m[1][2] for messages in live for m in messages if m[0] == LABELS_ADDRESS]
    assert set(timbres) == {"organ", "brass", "flute", "keyboard"}

    with OscRecorder() as receiver:
        proc = run_bridge("replay", str(saved), "--fast", "--audio", "none", "--osc", f"127.0.0.1:{receiver.port}")
        receiver.wait_quiet()
    assert proc.returncode == 0, proc.stderr
    assert [r.messages for r in receiver.received] == live


def test_the_readme_config_example_holds_a_valid_palette():
    import tomllib

    from conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    example = tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])
    assert Palette.from_dict(example["palette"]).to_dict() == {"flute": ["#1E90FF", "#20B2AA"], "string": ["#D00000"]}


def test_classify_follows_a_drawings_palette(palette, tmp_path):
    """`classify DRAWING.json [--strokes] --json` as a user runs it, with the real model."""
    from replay_helpers import run_bridge

    strokes = tuple(Stroke(tuple(Point(40 + 20 * i, 60 + 100 * k, 10 * i) for i in range(12)), color, 12.0)
                    for k, color in enumerate(("#808080", "#B22222", "#9ACD32")))
    (tmp_path / "with.json").write_text(Drawing(strokes, palette=palette).to_json(), encoding="utf-8")
    (tmp_path / "without.json").write_text(Drawing(strokes).to_json(), encoding="utf-8")
    proc = run_bridge("classify", str(tmp_path / "with.json"), str(tmp_path / "without.json"), "--strokes", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    with_palette = [r["timbre"] for r in rows if r["file"].endswith("with.json")]
    assert with_palette == ["organ", "brass", "reed"]
    assert [r["timbre"] for r in rows if r["file"].endswith("without.json")] != with_palette  # the model's own
    whole = run_bridge("classify", str(tmp_path / "with.json"), "--json")
    assert json.loads(whole.stdout)["timbre"] in {"organ", "brass", "reed"}  # the ink of the whole picture


def test_bench_reports_the_palettes_cost():
    """`bench --only palette` runs and reports its figure (the values are the benchmark's, not checked here)."""
    from replay_helpers import run_bridge

    proc = run_bridge("bench", "--json", "--quick", "--only", "palette")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)
    assert set(figures["palette_ms"]) == {"p50", "p99", "n"}
    for note in ("palette_ms_first_colour", "palette_ms_canvas", "palette_ms_with_model"):
        assert set(figures[note]) == {"p50", "p99"}, note
