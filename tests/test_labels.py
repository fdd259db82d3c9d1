"""The label rules of SPEC §1-2: pitch bands, thickness classes, nearest palette colour."""

from __future__ import annotations

import re

import pytest
from conftest import REPO
from readme_tables import table_after

from bridge.core.errors import LabelError
from bridge.core.labels import (
    CLASSES,
    PALETTE_HEX,
    PALETTE_RGB,
    PITCHES,
    TIMBRES,
    VOLUMES,
    Labels,
    Prediction,
    band_center_y,
    band_for_y,
    class_index,
    note_name,
    parse_hex_color,
    pitch_for_band,
    pitch_for_y,
    timbre_for_color,
    timbre_for_rgb,
    volume_for_width,
)


def test_label_space_is_the_spec_table():
    classes = {row[0].strip("`"): row[1] for row in table_after("## 1. The label space", REPO / "docs" / "spec.md")}
    lowest, highest = map(int, re.match(r"MIDI notes (\d+)\.\.(\d+)", classes["pitch"]).groups())
    assert list(PITCHES) == list(range(lowest, highest + 1))
    assert tuple(re.findall(r"`(\w+)`", classes["volume"])) == VOLUMES
    assert tuple(re.findall(r"`(\w+)`", classes["timbre"])) == TIMBRES  # in the contract's order
    assert class_index("pitch", 69) == 0 and class_index("pitch", 80) == 11


@pytest.mark.parametrize(("y", "note"), [
    (-5.0, 80), (0.0, 80), (32.999, 80), (33.0, 79), (65.999, 79), (66.0, 78),
    (197.999, 75), (198.0, 74), (362.999, 70), (363.0, 69), (395.999, 69), (396.0, 69), (399.9, 69), (450.0, 69),
])
def test_pitch_band_boundaries(y, note):
    assert pitch_for_y(y) == note


def test_band_numbering_and_centres():
    assert [pitch_for_band(b) for b in range(12)] == list(range(80, 68, -1))
    for note in PITCHES:
        assert pitch_for_y(band_center_y(note)) == note
        assert band_for_y(band_center_y(note)) == 80 - note
    with pytest.raises(LabelError):
        pitch_for_band(12)


@pytest.mark.parametrize(("width", "volume"), [
    (1.0, "low"), (5.0, "low"), (9.0, "low"), (9.999, "low"),
    (10.0, "med"), (15.0, "med"), (20.0, "med"),
    (20.001, "high"), (21.0, "high"), (25.0, "high"), (30.0, "high"),
])
def test_thickness_boundaries(width, volume):
    assert volume_for_width(width) == volume


def test_palette_colours_are_their_own_timbre():
    for timbre, hex_colour in PALETTE_HEX.items():
        assert timbre_for_color(hex_colour) == timbre
        assert timbre_for_color(hex_colour.lower().lstrip("#")) == timbre


@pytest.mark.parametrize(("rgb", "timbre"), [
    ((20, 20, 20), "keyboard"),      # near-black
    ((100, 100, 100), "guitar"),     # mid grey is nearer brown (139,69,19) than black
    ((240, 170, 30), "brass"),
    ((255, 120, 190), "vocal"),
    ((30, 140, 255), "flute"),
    ((200, 0, 20), "string"),
    ((100, 10, 160), "organ"),
    ((40, 130, 40), "reed"),
    ((255, 255, 255), "vocal"),      # white: pink is the nearest palette colour
])
def test_off_palette_colours_take_the_nearest_palette_colour(rgb, timbre):
    assert timbre_for_rgb(rgb) == timbre
    dist = {t: sum((a - b) ** 2 for a, b in zip(rgb, PALETTE_RGB[t])) for t in TIMBRES}
    assert dist[timbre] == min(dist.values())


def test_nearest_colour_ties_go_to_timbre_order():
    palette = {"guitar": (0, 0, 0), "brass": (2, 0, 0)}
    assert timbre_for_rgb((1, 0, 0), palette) == "brass"


@pytest.mark.parametrize("text", ["red", "#12345", "#1234567", "#GG0000", ""])
def test_bad_colours_are_rejected(text):
    with pytest.raises(LabelError, match="#RRGGBB"):
        parse_hex_color(text)


def test_labels_validate_their_values():
    assert Labels(72, "med", "flute").as_dict() == {"pitch": 72, "volume": "med", "timbre": "flute"}
    for bad in [(68, "med", "flute"), (81, "med", "flute"), (72.0, "med", "flute"), (True, "med", "flute"),
                (72, "loud", "flute"), (72, "med", "piano")]:
        with pytest.raises(LabelError):
            Labels(*bad)


def test_prediction_takes_the_argmax_and_reports_confidence():
    p_pitch = [0.0] * 12
    p_pitch[3] = 0.7
    p_pitch[4] = 0.3
    prediction = Prediction.from_probabilities(p_pitch, [0.1, 0.8, 0.1], [0.05] * 7 + [0.65])
    assert prediction.labels == Labels(72, "med", "reed")
    assert prediction.confidences() == pytest.approx({"pitch": 0.7, "volume": 0.8, "timbre": 0.65})
    with pytest.raises(LabelError, match="p_volume"):
        Prediction(prediction.labels, prediction.p_pitch, (0.5, 0.5), prediction.p_timbre)
    assert all(len(getattr(prediction, f"p_{h}")) == len(CLASSES[h]) for h in CLASSES)


def test_note_names():
    assert note_name(69) == "A4" and note_name(72) == "C5" and note_name(80) == "G#5"
