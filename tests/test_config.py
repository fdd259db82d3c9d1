"""Options: TOML config file first, command-line flags on top; bad entries named clearly."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bridge.app.config import Config, add_session_options, load_config, parse_host_port
from bridge.core.drawing import PlayMode
from bridge.errors import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_session_options(parser)
    return parser.parse_args(list(argv))


def test_defaults_without_a_config_file():
    config = load_config(parse())
    assert config.osc_targets == (("127.0.0.1", 9000),) and config.audio == "local"


def test_toml_then_flags(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[osc]\ntargets = ["127.0.0.1:9100", "localhost:9200"]\nlatency_ms = 20\n'
                    '[audio]\noutput = "none"\n[bank]\nfolder = "/tmp/bank"\n')
    config = load_config(parse("--config", str(path)))
    assert config.osc_targets == (("127.0.0.1", 9100), ("localhost", 9200))
    assert (config.osc_latency_ms, config.audio, config.bank_folder) == (20.0, "none", Path("/tmp/bank"))
    flagged = load_config(parse("--config", str(path), "--osc", "127.0.0.1:7000", "--audio", "local"))
    assert flagged.osc_targets == (("127.0.0.1", 7000),) and flagged.audio == "local"


def test_play_mode_and_voices_from_the_file_and_the_flags(tmp_path: Path):
    assert load_config(parse()).mode == PlayMode("stroke", "down") and load_config(parse()).voices == 16
    path = tmp_path / "c.toml"
    path.write_text('[engine]\nlabel_by = "canvas"\nonset = "up"\n[audio]\nvoices = 4\n')
    config = load_config(parse("--config", str(path)))
    assert (config.mode, config.voices) == (PlayMode("canvas", "up"), 4)
    flagged = load_config(parse("--config", str(path), "--onset", "down", "--voices", "32"))
    assert (flagged.mode, flagged.voices) == (PlayMode("canvas", "down"), 32)
    with pytest.raises(ConfigError, match=r"--voices: expected 1\.\.64"):
        load_config(parse("--voices", "0"))


@pytest.mark.parametrize("text, fragment", [
    ("[audio]\noutput = 'loud'\n", "output must be"),
    ("[engine]\nonset = 'sideways'\n", "[engine] onset: expected one of down, up"),
    ("[engine]\nlabel_by = 3\n", "[engine] label_by: expected one of stroke, canvas"),
    ("[audio]\nvoices = 100\n", "[audio] voices: expected 1..64"),
    ("[audio]\nvoices = '8'\n", "voices must be a whole number"),
    ("[osc]\ntargets = ['nohost:']\n", "HOST:PORT"),
    ("osc = 3\n", "[osc] must be a table"),
    ("[osc\n", "config file"),
])
def test_bad_config_files_say_what_is_wrong(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[")):
        load_config(parse("--config", str(path)))


def test_a_missing_explicit_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(parse("--config", str(tmp_path / "nope.toml")))


def test_host_port_parsing():
    assert parse_host_port("9001") == ("127.0.0.1", 9001)
    assert parse_host_port("10.0.0.2:57120") == ("10.0.0.2", 57120)
    for bad in ("x:y", ":9000", "host:0", "host:70000"):
        with pytest.raises(ConfigError):
            parse_host_port(bad)
    assert Config().osc_latency_ms == 0.0
