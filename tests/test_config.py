"""Options: TOML config file first, command-line flags on top; bad entries named clearly."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bridge.config import Config, add_session_options, load_config, parse_host_port
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


@pytest.mark.parametrize("text, fragment", [
    ("[audio]\noutput = 'loud'\n", "output must be"),
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
