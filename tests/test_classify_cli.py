"""`run_bridge.py classify`: images and drawings in, one JSON line each; a bad file does not stop the rest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import REPO
from PIL import Image

from bridge.core.drawing import Drawing, Point, Stroke
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
