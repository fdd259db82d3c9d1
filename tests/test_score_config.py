"""The score's settings in layers: the defaults, the config file's [score] table, a drawing's recorded settings, then
the flags; `midi_clock` from [score] or --midi-clock; bad entries named clearly."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest
from replay_helpers import EXAMPLES, run_bridge

from bridge.app.config import add_session_options, load_config
from bridge.app.score_options import add_score_options, score_settings
from bridge.core.errors import ConfigError
from bridge.core.score import ScoreSettings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_session_options(parser)
    add_score_options(parser, switch=True)
    return parser.parse_args(list(argv))


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_score_table_then_a_drawings_settings_then_the_flags(tmp_path: Path):
    path = config_file(tmp_path, "[score]\nbpm = 96\nbars = 3\nloop = false\nmidi_clock = true\n")
    args = parse("--config", str(path))
    config = load_config(args)
    assert config.score == ScoreSettings(bpm=96, bars=3, loop=False) and config.midi_clock is True
    assert score_settings(args, configured=config.score) == config.score
    recorded = ScoreSettings(bpm=150, bars=1)
    assert score_settings(args, recorded, configured=config.score) == recorded  # what the drawing played wins
    flagged = parse("--config", str(path), "--bpm", "100")
    assert score_settings(flagged, recorded, configured=config.score) == ScoreSettings(bpm=100, bars=1)
    assert load_config(parse()).score is None and load_config(parse()).midi_clock is False  # no file: defaults
    assert score_settings(parse(), configured=None) == ScoreSettings()


def test_seconds_in_the_table_and_the_clock_flag(tmp_path: Path):
    path = config_file(tmp_path, "[score]\nseconds = 3\n")
    config = load_config(parse("--config", str(path), "--midi-clock"))
    assert config.score == ScoreSettings.from_seconds(3.0) and config.midi_clock is True


@pytest.mark.parametrize("text, fragment", [
    ("[score]\nbpm = 0\n", "[score] bpm: expected a tempo of 1..999 bpm, got 0"),
    ("[score]\nseconds = 4\nbpm = 120\n", "[score] seconds: give either seconds or bpm and bars, not both"),
    ("[score]\nbars = 2.5\n", "[score] bars: expected a whole number of bars 1..256, got 2.5"),
    ("[score]\nloop = 'yes'\n", "[score] loop: expected true or false, got 'yes'"),
    ("[score]\nmidi_clock = 1\n", "[score] midi_clock: expected true or false, got 1"),
    ("score = 120\n", "[score] must be a table of settings"),
])
def test_a_bad_score_entry_is_one_error_naming_it(tmp_path: Path, text: str, fragment: str):
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(parse("--config", str(path)))
    assert fragment in str(caught.value) and str(path) in str(caught.value)


def test_an_unknown_score_key_is_a_warning_naming_the_nearest(tmp_path: Path, caplog):
    path = config_file(tmp_path, "[score]\ntempo = 100\nbpm = 90\n")
    with caplog.at_level(logging.WARNING):
        config = load_config(parse("--config", str(path)))
    assert config.score == ScoreSettings(bpm=90)
    assert "[score] unknown key 'tempo'" in caplog.text


def test_the_score_command_reads_the_table_and_a_flag_wins(tmp_path: Path):
    path = config_file(tmp_path, "[score]\nbpm = 60\nbars = 1\n")
    melody = str(EXAMPLES / "melody.json")
    done = run_bridge("score", melody, "--config", str(path))
    assert done.returncode == 0 and "8 notes in 1 pass of 4 s (1 bars at 60 bpm)" in done.stdout, done
    flagged = run_bridge("score", melody, "--config", str(path), "--bpm", "120")
    assert flagged.returncode == 0 and "(1 bars at 120 bpm)" in flagged.stdout, flagged
    doc = json.loads((EXAMPLES / "melody.json").read_text())
    doc["score"] = {"bpm": 240, "bars": 2}
    (tmp_path / "recorded.json").write_text(json.dumps(doc))
    recorded = run_bridge("score", str(tmp_path / "recorded.json"), "--config", str(path))
    assert recorded.returncode == 0 and "(2 bars at 240 bpm)" in recorded.stdout, recorded
    bad = config_file(tmp_path, "[score]\nbpm = 5000\n")
    refused = run_bridge("score", melody, "--config", str(bad))
    assert refused.returncode == 2 and "[score] bpm: expected a tempo of 1..999 bpm, got 5000" in refused.stderr
