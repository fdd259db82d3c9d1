"""Ctrl+L in the live canvas: correct the matched sample's labels; the live session plays the corrected bank at
once. A real bank folder of rendered tones, indexed by the real sound model; the canvas's image model is the
stand-in (tests/stand_ins.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pygame
import pytest
from audio_files import write_tone
from canvas_harness import Rig, line, post_key

from bridge.adapters.label_corrections import SIDECAR_NAME
from bridge.adapters.soundbank_index import load_bank
from bridge.core.labels import band_center_y
from bridge.ui.label_editor import SampleLabelEditor, parse_labels

MATCH = "/pict2audio/match"
BRASS = "#E6A700"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PICT2AUDIO_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "bank"
    for note in (69, 72, 76):
        write_tone(folder / f"tone{note}.wav", note)
    return folder


@pytest.fixture
def rig(tmp_path, folder):
    rig = Rig(tmp_path, bank=load_bank(folder))
    rig.editor = SampleLabelEditor(rig.app, folder).bind()
    yield rig
    rig.close()


def correct(rig, text: str) -> None:
    """Ctrl+L, type `text` over the prefilled labels, Enter; waits until the correction is in use."""
    rig.open_prompt(pygame.K_l)
    rig.answer_prompt(text)
    rig.app.pump(frames=1)
    assert rig.app.prompt is None
    assert rig.editor.applied.wait(10.0)


def draw_brass(rig) -> None:
    rig.app.set_color(BRASS)
    rig.draw(line(band_center_y(72)))


def last_match(rig) -> tuple:
    stroke_id = len(rig.link.engine.drawing.strokes)
    return [args for args in rig.rx.messages(MATCH) if args[-1] == stroke_id][-1]


def test_a_correction_in_the_canvas_is_saved_and_played_at_once(rig, folder):
    draw_brass(rig)
    matched = rig.link.engine.current_match.sample
    assert matched.labels.timbre != "brass"  # no brass sample in the bank yet

    post_key(pygame.K_l, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    labels = matched.labels
    assert rig.app.prompt.text == f"timbre={labels.timbre} volume={labels.volume} pitch=" + \
        {69: "A4", 72: "C5", 76: "E5"}[labels.pitch]
    post_key(pygame.K_ESCAPE)
    rig.app.pump(frames=1)

    correct(rig, "timbre=brass")
    assert "the bank now plays them" in rig.app.hud_state().message
    rel = Path(matched.path).relative_to(folder).as_posix()
    assert tomllib.loads((folder / SIDECAR_NAME).read_text()) == {rel: {"timbre": "brass"}}
    assert rig.link.parts.bank is rig.link.parts.matcher.bank

    draw_brass(rig)  # the same stroke again: the corrected sample is now an exact match
    path, pitch, _, timbre = last_match(rig)[:4]
    assert (path, timbre) == (matched.path, "brass") and pitch == labels.pitch

    correct(rig, "clear")
    assert not (folder / SIDECAR_NAME).exists()
    draw_brass(rig)
    assert last_match(rig)[3] == labels.timbre  # the model's label again


def test_a_bad_entry_keeps_the_prompt_open(rig):
    draw_brass(rig)
    post_key(pygame.K_l, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    rig.app.prompt.text = "timbre=oboe"
    post_key(pygame.K_RETURN)
    rig.app.pump(frames=1)
    assert rig.app.prompt is not None and "timbre: expected one of brass" in rig.app.prompt.error


def test_nothing_matched_or_the_built_in_bank_says_why(tmp_path):
    rig = Rig(tmp_path)
    try:
        editor = SampleLabelEditor(rig.app, None).bind()
        editor.ask()
        assert "no sample matched yet" in rig.app.hud_state().message
        rig.draw(line(200.0))
        editor.ask()
        assert rig.app.prompt is None and "built-in bank" in rig.app.hud_state().message
    finally:
        rig.close()


def test_the_prompts_words():
    correction = parse_labels("timbre=Brass, pitch=Bb4 volume=LOW")
    assert correction.heads() == {"pitch": 70, "volume": "low", "timbre": "brass"}
    assert parse_labels(" Clear ") is None
    for bad in ("brass", "colour=red", "pitch=H4"):
        with pytest.raises(ValueError):
            parse_labels(bad)
