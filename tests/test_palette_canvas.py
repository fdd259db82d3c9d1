"""The palette in the live canvas: swatches, keys 1..8, the Ctrl+P editor (saved to the config), the engine
playing it, a saved drawing recording it; and the canvas started from a config file with a palette."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pygame
import pytest
from canvas_harness import Rig, line, post_key, watch_saves
from conftest import REPO

from bridge.app.config import Config
from bridge.app.session import engine_config
from bridge.core.labels import PALETTE_HEX, TIMBRES
from bridge.core.palette import Palette
from bridge.ui.palette_editor import CompactSwatch, PaletteEditor, palette_swatches

LABELS = "/pict2audio/labels"


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path)
    rig.editor = PaletteEditor(rig.app, tmp_path / "config.toml").bind()
    yield rig
    rig.close()


def edit_palette(rig, text: str) -> None:
    """Ctrl+P, type `text` over the prefilled entry, Enter; waits until the palette is saved."""
    rig.open_prompt(pygame.K_p)
    rig.answer_prompt(text)
    rig.settle()


def timbres_of_last_stroke(rig) -> set[str]:
    stroke_id = len(rig.link.engine.drawing.strokes)
    return {args[2] for args in rig.rx.messages(LABELS) if args[-1] == stroke_id}


def test_a_colour_given_a_timbre_in_the_canvas_plays_it_is_shown_saved_and_recorded(rig, tmp_path, monkeypatch):
    rig.draw(line(100.0))  # before: the default eight, the (stand-in) model's timbre
    assert rig.open_prompt(pygame.K_p).text == "#000000 = keyboard"  # the pen's colour and its timbre
    rig.answer_prompt("#20B2AA = organ")
    rig.settle()
    assert rig.app.prompt is None
    assert rig.editor.saved.wait(5.0)
    saved = tomllib.loads((tmp_path / "config.toml").read_text())["palette"]
    assert saved["organ"] == ["#6A0DAD", "#20B2AA"] and saved["flute"] == ["#1E90FF"]  # the eight, plus teal

    colours = [s.color for s in rig.app.swatches if not s.custom]
    assert colours.index("#20B2AA") == 4  # beside the other organ colour: key 5
    assert all(isinstance(s, CompactSwatch) for s in rig.app.swatches)  # 10 rows: they shrink to fit
    post_key(pygame.K_5)
    rig.app.pump(frames=1)
    assert rig.app.color == "#20B2AA"
    rig.draw(line(200.0))
    assert timbres_of_last_stroke(rig) == {"organ"}  # the stand-in model reads teal as flute
    assert rig.link.engine.drawing.palette == rig.app.palette

    swatch = rig.app.swatches[4]
    x, y, w, h = swatch.rect
    assert pygame.display.get_surface().get_at(rig.app.layout().pt(x + w / 2, y + h / 2))[:3] == (0x20, 0xB2, 0xAA)

    saves = watch_saves(monkeypatch)
    rig.app.save_as(tmp_path / "take.json")
    saves.get(timeout=5)
    doc = json.loads((tmp_path / "take.json").read_text())
    assert doc["palette"]["organ"] == ["#6A0DAD", "#20B2AA"] and len(doc["strokes"]) == 2


def test_default_restores_the_eight_and_removes_the_config_table(rig, tmp_path):
    edit_palette(rig, "#20B2AA organ")  # '=' may be left out
    assert rig.editor.saved.wait(5.0)
    edit_palette(rig, "default")
    assert rig.editor.saved.wait(5.0)
    assert rig.app.palette is None and rig.link.engine.drawing.palette is None
    assert "palette" not in tomllib.loads((tmp_path / "config.toml").read_text())
    assert [s.color for s in rig.app.swatches if not s.custom] == [PALETTE_HEX[t] for t in TIMBRES]
    rig.app.set_color("#20B2AA")
    rig.draw(line(200.0))
    assert timbres_of_last_stroke(rig) == {"flute"}  # the model's timbre again


@pytest.mark.parametrize(("text", "error"), [
    ("#20B2AA = oboe", "unknown timbre 'oboe'"),
    ("teal = flute", "expected 'COLOUR = TIMBRE'"),
    ("#123456 = none", "not in the palette"),
])
def test_a_bad_entry_keeps_the_prompt_open_with_the_reason(rig, text, error):
    post_key(pygame.K_p, pygame.KMOD_CTRL)
    rig.app.pump(frames=1)
    rig.app.prompt.text = text
    post_key(pygame.K_RETURN)
    rig.app.pump(frames=1)
    assert rig.app.prompt is not None and error in rig.app.prompt.error
    assert rig.app.palette is None


def test_an_unwritable_config_is_reported_and_the_palette_still_plays(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    rig = Rig(tmp_path)
    try:
        editor = PaletteEditor(rig.app, blocker / "config.toml").bind()
        edit_palette(rig, "#20B2AA = organ")
        assert editor.saved.wait(5.0)
        assert rig.app.hud_state().message.startswith("palette in use, NOT saved: cannot save the palette")
        rig.app.set_color("#20B2AA")
        rig.draw(line(200.0))
        assert timbres_of_last_stroke(rig) == {"organ"}
    finally:
        rig.close()


def test_a_long_palette_fits_beside_the_canvas_and_keys_pick_the_first_eight():
    palette = Palette(tuple((f"#{i * 10:02X}0000", TIMBRES[i % 8]) for i in range(24)))
    swatches = palette_swatches(palette, "#20B2AA")
    assert len(swatches) == 25 and swatches[-1].custom and swatches[-1].label.startswith("custom: ")
    assert [s.key_hint for s in swatches[:9]] == [str(i) for i in range(1, 9)] + [""]
    bottoms = [s.rect[1] + s.rect[3] for s in swatches]
    assert bottoms == sorted(bottoms) and bottoms[-1] <= 76 + 418  # above the status line
    assert [s.color for s in palette_swatches(None, "#20B2AA")[:-1]] == [PALETTE_HEX[t] for t in TIMBRES]


def test_the_config_palette_reaches_the_engine():
    palette = Palette.from_dict({"flute": "#20B2AA"})
    assert engine_config(Config(palette=palette)).palette == palette


def test_the_canvas_starts_from_a_config_with_a_palette(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[palette]\nflute = ["#20B2AA", "#87CEEB"]\nvocal = "#FFD700"\n')
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "run_bridge.py", "--config", str(config), "--audio", "none",
                           "--no-oscquery", "--exit-after-first-frame"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "first frame" in proc.stdout
