"""`run_bridge.py classify`: images and drawings in, one JSON line each; a bad file does not stop the rest."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO
from PIL import Image
from replay_helpers import EXAMPLES

from bridge.core.drawing import Drawing, Point, Stroke, drawing_from_dict
from bridge.core.labels import TIMBRES, VOLUMES, band_center_y
from bridge.core.raster import rasterise


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_bridge.py", "classify", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def make_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    xs = np.linspace(20, 380, 40)
    y = band_center_y(76)
    stroke = Stroke(tuple(Point(x, y + 3 * np.sin(x / 25), 10 * i) for i, x in enumerate(xs)), "#228B22", 24.0)
    drawing = Drawing((stroke,))
    json_path = tmp_path / "note.json"
    json_path.write_text(drawing.to_json())
    png_path = tmp_path / "note big.png"  # another size (scaled to 400x400) and RGBA
    Image.fromarray(rasterise(drawing)).convert("RGBA").resize((800, 800)).save(png_path)
    bad = tmp_path / "broken.png"
    bad.write_text("this is not an image")
    return png_path, bad, json_path


def test_json_lines_for_images_and_drawings_and_one_error_line(tmp_path):
    png, bad, drawing = make_files(tmp_path)
    result = run_cli(str(png), str(bad), str(drawing), "--json")
    assert result.returncode == 1, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "broken.png" in errors[0], result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(png), str(drawing)]  # as given, in order
    for row in rows:
        assert (row["pitch"], row["volume"], row["timbre"]) == (76, "high", "reed")
        assert isinstance(row["pitch"], int) and row["volume"] in VOLUMES and row["timbre"] in TIMBRES
        assert set(row["confidence"]) == {"pitch", "volume", "timbre"}
        assert all(0.0 <= p <= 1.0 for p in row["confidence"].values())


def test_composer_drawing_and_table_output(tmp_path, shared_data):
    composer = shared_data / "drawings_dev" / "draw72_15.png"
    result = run_cli(str(composer), str(tmp_path / "missing.png"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "missing.png" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["file", "pitch", "volume"]
    assert "draw72_15.png" in lines[2] and " 72 C5 " in lines[2]


def test_all_good_files_exit_0_and_a_bad_drawing_names_its_field(tmp_path):
    png, _, drawing = make_files(tmp_path)
    assert run_cli(str(png), "--json").returncode == 0
    doc = json.loads(drawing.read_text())
    doc["strokes"][0]["width"] = -1
    bad_drawing = tmp_path / "bad.json"
    bad_drawing.write_text(json.dumps(doc))
    result = run_cli(str(bad_drawing), "--json")
    assert result.returncode == 1 and result.stdout == ""
    assert "bad.json" in result.stderr and "strokes[0].width" in result.stderr


def test_a_missing_model_says_how_to_train_it(tmp_path):
    png, _, _ = make_files(tmp_path)
    result = run_cli(str(png), "--model-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "python run_bridge.py train-image" in result.stderr


def test_strokes_gives_one_line_per_pen_stroke_of_a_drawing_and_an_image_stays_whole(tmp_path):
    big = Stroke(tuple(Point(20 + 12 * i, band_center_y(78), 10 * i) for i in range(30)), "#D00000", 28.0)
    eraser = Stroke((Point(50, 50, 400), Point(60, 50, 410)), "#FFFFFF", 10.0, "eraser")
    small = Stroke(tuple(Point(150 + 10 * i, band_center_y(70), 500 + 10 * i) for i in range(6)), "#1E90FF", 5.0)
    drawing_path = tmp_path / "two.json"
    drawing_path.write_text(Drawing((big, eraser, small)).to_json())
    png, _, _ = make_files(tmp_path)
    result = run_cli(str(drawing_path), str(png), "--strokes", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r.get("stroke"), r["pitch"], r["volume"], r["timbre"]) for r in rows[:2]] == [
        (0, 78, "high", "string"), (2, 70, "low", "flute")]  # the eraser is no voice
    assert "stroke" not in rows[2] and rows[2]["file"] == str(png)


# -- a batch of hostile files: one stderr line each, the good files still classified -------------------


def note_doc() -> dict:
    """The drawing of make_files (a thick reed note in band 76) as a JSON document."""
    xs = np.linspace(20, 380, 40)
    y = band_center_y(76)
    stroke = Stroke(tuple(Point(x, y + 3 * np.sin(x / 25), 10 * i) for i, x in enumerate(xs)), "#228B22", 24.0)
    return json.loads(Drawing((stroke,)).to_json())


Edit = Callable[[dict], None]


def edited(edit: Edit) -> str:
    doc = note_doc()
    edit(doc)
    return json.dumps(doc)


def set_point(stroke: int, point: int, value: list) -> Edit:
    return lambda doc: doc["strokes"][stroke]["points"].__setitem__(point, value)


def on_canvas(side: int, pen: float) -> Edit:
    """The note redrawn on a side x side canvas (so only the pen width can be wrong)."""
    def edit(doc: dict) -> None:
        doc["canvas"] = {"width": side, "height": side}
        stroke = doc["strokes"][0]
        stroke["points"] = [[x * side / 400, y * side / 400, t] for x, y, t in stroke["points"]]
        stroke["width"] = pen
    return edit


def scaled(doc: dict, factor: int) -> dict:
    """The same drawing on a canvas `factor` times as large: exactly the same strokes once scaled back."""
    doc = json.loads(json.dumps(doc))
    doc["canvas"] = {"width": 400 * factor, "height": 400 * factor}
    for stroke in doc["strokes"]:
        stroke["width"] *= factor
        stroke["points"] = [[x * factor, y * factor, t] for x, y, t in stroke["points"]]
    return doc


BAD_DRAWINGS = {  # file name -> (text, the field its one error line must name)
    "deep.json": ("[" * 100_000 + "]" * 100_000, "(file)"),
    "deep-meta.json": (edited(lambda d: d.update(meta="@")).replace('"@"', "[" * 100_000 + "]" * 100_000), "(file)"),
    "version-true.json": (edited(lambda d: d.update(version=True)), "version"),
    "int-1e400.json": (edited(set_point(0, 3, [10**400, 100, 30])), "strokes[0].points[3]"),
    "x-1e308.json": (edited(set_point(0, 12, [1e308, 100, 120])), "strokes[0].points[12]"),
    "nan.json": (edited(set_point(0, 5, [float("nan"), 100, 50])), "strokes[0].points[5]"),
    "infinity.json": (edited(set_point(0, 5, [100, float("-inf"), 50])), "strokes[0].points[5]"),
    "canvas-40-pen-8.json": (edited(on_canvas(40, 8)), "strokes[0].width"),
    "canvas-4000-pen-700.json": (edited(on_canvas(4000, 700)), "strokes[0].width"),
    "t-1e9.json": (edited(set_point(0, 39, [380, 100, 1e9])), "strokes[0].points[39]"),
    "t-1e15.json": (edited(set_point(0, 39, [380, 100, 1e15])), "strokes[0].points[39]"),
    "million-points.json": (edited(lambda d: d["strokes"][0].update(points=[[1, 2, 0]] * 1_000_000)),
                            "strokes[0].points"),
}


def huge_png(path: Path) -> Path:
    """A real PNG whose header claims 100000 x 100000 px."""
    Image.new("RGB", (4, 4), "white").save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def test_a_batch_of_hostile_files_gives_one_line_each_and_classifies_the_rest(tmp_path):
    png, _, good = make_files(tmp_path)
    bad = {}
    for name, (text, where) in BAD_DRAWINGS.items():
        (tmp_path / name).write_text(text)
        bad[str(tmp_path / name)] = where
    bad[str(huge_png(tmp_path / "huge.png"))] = "image too large"
    sideways = tmp_path / "phone photo.jpg"  # stored rotated; its EXIF orientation (6) turns it upright
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = Image.fromarray(rasterise(drawing_from_dict(note_doc())))
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif, quality=95)
    big_canvas = tmp_path / "note on 800 px.json"
    big_canvas.write_text(json.dumps(scaled(note_doc(), 2)))
    goods = [str(png), str(good), str(sideways), str(big_canvas)]

    result = run_cli(goods[0], *bad, *goods[1:], "--json")

    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert len(errors) == len(bad), result.stderr[-3000:]
    for line, (path, where) in zip(errors, bad.items(), strict=True):  # in order, one line each
        assert line.startswith(f"error: {path}: ") and where in line, line[:300]
        assert "Traceback" not in line and len(line) < 300
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in rows] == goods
    for row in rows:
        assert (row["pitch"], row["volume"], row["timbre"]) == (76, "high", "reed"), row["file"]


# -- a drawing on another canvas size: classify and replay scale it alike ------------------------------


@pytest.fixture(scope="module")
def real_parts():
    """The real classifier and default bank, without threads or sockets."""
    from bridge.app.config import Config
    from bridge.app.session import build_session

    parts = build_session(Config(audio="none", osc_targets=()), start=False)
    yield parts
    parts.close()


def replay_labels(path: Path, parts: Any) -> tuple[list[tuple], dict[int, tuple]]:
    """Every OSC message of a --fast replay of `path`, and each voice's last labels (pitch, volume, timbre)."""
    from bridge.app.replayer import replay_drawing
    from bridge.app.session import build_engine
    from bridge.commands.replay import read_drawing

    result = replay_drawing(read_drawing(path), build_engine(parts.classifier, parts.bank), speed=None)
    messages = [(m.address, m.args) for _, bundle in result.bundles for m in bundle.messages]
    last = {args[6]: args[:3] for address, args in messages if address == "/pict2audio/labels"}
    return messages, last


@pytest.mark.parametrize("factor", [2, 5])
def test_a_drawing_on_a_bigger_canvas_gets_the_same_labels_in_classify_and_replay(tmp_path, real_parts, factor):
    melody = json.loads((EXAMPLES / "melody.json").read_text())
    original, bigger = tmp_path / "melody.json", tmp_path / f"melody x{factor}.json"
    original.write_text(json.dumps(melody))
    bigger.write_text(json.dumps(scaled(melody, factor)))

    result = run_cli(str(original), str(bigger), "--strokes", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_file = {path: [(r["stroke"], r["pitch"], r["volume"], r["timbre"]) for r in rows if r["file"] == path]
               for path in (str(original), str(bigger))}
    assert by_file[str(original)] == by_file[str(bigger)] and len(by_file[str(original)]) == 8

    messages, _ = replay_labels(original, real_parts)
    bigger_messages, voices = replay_labels(bigger, real_parts)
    assert bigger_messages == messages  # the same OSC stream, message for message
    classified = [labels for _, *labels in by_file[str(bigger)]]
    assert [list(voices[voice]) for voice in sorted(voices)] == classified  # each voice as classify --strokes
