"""Options: TOML config file first, command-line flags on top; bad entries named clearly."""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from bridge.adapters.midi_mido import load_backend, mido_backend_names
from bridge.adapters.osc_out import OscSender
from bridge.app.config import Config, add_session_options, load_config, parse_host_port
from bridge.core.drawing import PlayMode
from bridge.core.errors import ConfigError


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


# -- unknown keys and tables: a warning naming the nearest known one, and the session goes on ----------


def test_unknown_keys_and_tables_warn_with_the_nearest_known_one(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = tmp_path / "c.toml"
    path.write_text('voices = 8\n[osc]\ntarget = ["127.0.0.1:9100"]\n[oscc]\nx = 1\n[audio]\nvoice = 4\n'
                    '[midi.mapping]\nvolum = "cc 1"\ntimbre = "program 8"\n[canvas]\nzzz = 1\n')
    with caplog.at_level(logging.WARNING, logger="bridge.app.config"):
        config = load_config(parse("--config", str(path)))
    warnings = [record.getMessage() for record in caplog.records]
    assert f"config file {path}: [osc] unknown key 'target'; did you mean 'targets'? (ignored)" in warnings
    expected = ["unknown table [oscc]; did you mean [osc]?", "[audio] unknown key 'voice'; did you mean 'voices'?",
                "[midi.mapping] unknown key 'volum'; did you mean 'volume'?",
                "unknown top-level key 'voices'; it belongs in [audio]", "[canvas] unknown key 'zzz'; ignored; known:"]
    for fragment in expected:
        assert any(fragment in w for w in warnings), (fragment, warnings)
    assert len(warnings) == len(expected) + 1
    # The session goes on with the defaults for what was misspelt and the rest of the file as written.
    assert config.osc_targets == (("127.0.0.1", 9000),) and config.voices == 16
    assert config.midi_mapping == {"timbre": "program 8"}


# -- wrong types and values: a ConfigError naming the key or flag, what arrived and what is expected ---


BAD_CONFIG_FILES = [  # (a config file's text, what its error says)
    ("[audio]\noutput = 'loud'\n", "[audio] output: expected one of local, none, got 'loud'"),
    ("[engine]\nonset = 'sideways'\n", "[engine] onset: expected one of down, up"),
    ("[engine]\nlabel_by = 3\n", "[engine] label_by: expected one of stroke, canvas"),
    ("[audio]\nvoices = 100\n", "[audio] voices: expected 1..64"),
    ("[audio]\nvoices = '8'\n", "[audio] voices: expected 1..64 voices (a whole number), got '8'"),
    ("[osc]\ntargets = ['nohost:']\n", "HOST:PORT"),
    ("osc = 3\n", "[osc] must be a table"),
    ("[osc\n", "config file"),
    # A string where a list is expected is refused: read one character at a time, "9" would be port 9 on localhost.
    ('[osc]\ntargets = "127.0.0.1:9000"\n',
     '[osc] targets: expected a list of "HOST:PORT" strings, got the single string \'127.0.0.1:9000\'; '
     'write it as a list: targets = ["127.0.0.1:9000"]'),
    ('[osc]\ntargets = "9"\n', "[osc] targets: expected a list"),
    ("[osc]\ntargets = [9000]\n", "[osc] targets[0]: expected an OSC target as HOST:PORT"),
    ("[osc]\nlatency_ms = inf\n", "[osc] latency_ms: expected a look-ahead of 0..10000 ms (0 = send at once), got inf"),
    ("[osc]\nlatency_ms = nan\n", "[osc] latency_ms: expected a look-ahead of 0..10000 ms"),
    ("[osc]\nlatency_ms = -5\n", "[osc] latency_ms: expected a look-ahead of 0..10000 ms (0 = send at once), got -5"),
    ("[osc]\nlatency_ms = '20'\n", "[osc] latency_ms: expected a look-ahead"),
    ("[osc]\ncontrol_port = 70000\n", "[osc] control_port: expected a UDP port 1..65535, got 70000"),
    ("[osc]\ncontrol_port = 0\n", "[osc] control_port: expected a UDP port 1..65535, got 0"),
    ("[osc]\ncontrol_port = '9001'\n", "[osc] control_port: expected a UDP port 1..65535, got '9001'"),
    ("[osc]\ncontrol_port = true\n", "[osc] control_port: expected a UDP port 1..65535, got True"),
    ("[osc]\ncontrol_host = ''\n", "[osc] control_host: expected a host name or address"),
    ("[bank]\nfolder = 3\n", "[bank] folder: expected a folder path"),
    ("[midi]\ninput = ''\n", "[midi] input: expected a MIDI port name"),
    ("[midi]\nbackend = 'os'\n", "[midi] backend: expected a mido backend, one of "),
    ("[midi]\nmapping = 'cc 7'\n", "[midi] mapping must be a table"),
    ("[midi.mapping]\nvolume = 'cc 300'\n", "midi.mapping.volume: expected 'note N'"),
    ("[canvas]\nwindow = 1000\n", "[canvas] window: expected a string, got 1000"),
    ("[canvas]\npen_width = inf\n", "[canvas] pen_width: expected a number, got inf"),
]


@pytest.mark.parametrize("text, fragment", BAD_CONFIG_FILES)
def test_wrong_types_and_values_in_the_file_name_the_key(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(parse("--config", str(path)))
    assert str(caught.value).startswith(f"config file {path}: ") and fragment in str(caught.value), caught.value


@pytest.mark.parametrize("argv, fragment", [
    (("--osc-latency-ms", "inf"), "--osc-latency-ms: expected a look-ahead of 0..10000 ms (0 = send at once), got inf"),
    (("--osc-latency-ms", "nan"), "--osc-latency-ms: expected a look-ahead of 0..10000 ms"),
    (("--osc-latency-ms", "-1"), "--osc-latency-ms: expected a look-ahead of 0..10000 ms (0 = send at once), got -1.0"),
    (("--control-port", "70000"), "--control-port: expected a UDP port 1..65535, got 70000"),
    (("--control-port", "0"), "--control-port: expected a UDP port 1..65535, got 0"),
    (("--control-port", "9001", "--control-host", " "), "--control-host: expected a host name or address"),
    (("--osc", "127.0.0.1:0"), "--osc[0]: expected an OSC target as HOST:PORT with PORT 1..65535"),
    (("--osc", "127.0.0.1:9000", "--osc", "host:"), "--osc[1]: expected an OSC target as HOST:PORT"),
    (("--midi-in", ""), "--midi-in: expected a MIDI port name"),
])
def test_wrong_flag_values_name_the_flag(argv: tuple[str, ...], fragment: str):
    with pytest.raises(ConfigError) as caught:
        load_config(parse(*argv))
    assert str(caught.value).startswith(fragment), caught.value


def test_good_values_still_load(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[osc]\ntargets = []\nlatency_ms = 12.5\ncontrol_host = "127.0.0.1"\n'
                    '[midi]\ninput = "virtual"\nbackend = "mido.backends.rtmidi/UNIX_JACK"\n'
                    '[canvas]\nwindow = "1200x744"\npen_width = 25\nsave_folder = "~/drawings"\n')
    config = load_config(parse("--config", str(path)))
    assert (config.osc_targets, config.osc_latency_ms, config.midi_in) == ((), 12.5, "virtual")
    assert config.midi_backend == "mido.backends.rtmidi/UNIX_JACK"
    assert load_config(parse("--osc-latency-ms", "10000")).osc_latency_ms == 10000.0


# -- the OSC control port: bound (and released) at start, so a busy port is an error at start -----------


@pytest.fixture
def busy_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_control_port_in_use_is_a_config_error_at_start(tmp_path: Path, busy_port: int):
    with pytest.raises(ConfigError) as caught:
        load_config(parse("--control-port", str(busy_port)))
    message = str(caught.value)
    assert message.startswith(f"--control-port: cannot listen for OSC control on 127.0.0.1:{busy_port} (")
    assert "choose another port" in message and "stop the program using it" in message
    path = tmp_path / "c.toml"
    path.write_text(f"[osc]\ncontrol_port = {busy_port}\n")
    with pytest.raises(ConfigError, match=re.escape(f"config file {path}: [osc] control_port: cannot listen")):
        load_config(parse("--config", str(path)))


def test_a_free_control_port_loads_and_stays_free(busy_port: int):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert load_config(parse("--control-port", str(free))).control_port == free
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", free))  # the check released it again


def test_commands_without_control_input_ignore_a_busy_control_port(busy_port: int):
    args = parse("--control-port", str(busy_port))
    args.command = "replay"  # replay drops the control port, so a live canvas on it is no conflict
    assert load_config(args).control_port == busy_port


# -- MIDI backends: only mido's own, checked before anything is imported --------------------------------


def test_midi_backends_are_the_modules_mido_ships():
    names = mido_backend_names()
    assert "rtmidi" in names and "portmidi" in names
    assert not {"backend", "rtmidi_utils", "portmidi_init", "_parser_queue"} & set(names)


@pytest.mark.parametrize("name", ["os", "antigravity", "mido.backends.nope", "mido.backends.rtmidi_utils",
                                  "mido.backends.backend", "mido.backends.rtmidi.x", "mido.rtmidi", "rtmidi",
                                  "mido.backends.rtmidi/", "mido.backends.rtmidi/UNIX JACK", "x/UNIX_JACK", ""])
def test_a_midi_backend_that_is_not_a_mido_backend_is_refused(name: str):
    with pytest.raises(ConfigError) as caught:
        load_config(parse("--midi-backend", name))
    message = str(caught.value)
    assert message.startswith("--midi-backend: expected a mido backend, one of mido.backends.amidi, ")
    assert "mido.backends.rtmidi, " in message and message.endswith(f"got {name!r}")


@pytest.mark.parametrize("name", ["mido.backends.rtmidi", "mido.backends.rtmidi/UNIX_JACK", "mido.backends.portmidi"])
def test_mido_backends_are_accepted(name: str):
    assert load_config(parse("--midi-backend", name)).midi_backend == name


def test_load_backend_never_imports_a_module_that_is_not_a_mido_backend(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    marker = tmp_path / "imported"
    (tmp_path / "p2a_not_a_backend.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="MIDI backend: expected a mido backend"):
        load_backend("p2a_not_a_backend")
    assert not marker.exists() and "p2a_not_a_backend" not in sys.modules


def test_midi_ports_refuses_a_module_that_is_not_a_mido_backend():
    done = run_bridge("midi-ports", "--midi-backend", "this")  # `import this` would print the Zen of Python
    assert done.returncode == 2 and "Zen of Python" not in done.stdout, done
    assert done.stderr.startswith("error: --midi-backend: expected a mido backend") and done.stderr.count("\n") == 1


# -- run_bridge.py: one error line and exit 2, never a traceback ------------------------------------------


def run_bridge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_bridge.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"})


THROUGH_THE_CLI = ('[osc]\ntargets = "127.0.0.1:9000"\n', "[osc]\nlatency_ms = inf\n", "[osc]\ncontrol_port = 70000\n",
                   "[midi]\nbackend = 'os'\n")  # a few of BAD_CONFIG_FILES, each a whole process


@pytest.mark.parametrize("text, fragment", [case for case in BAD_CONFIG_FILES if case[0] in THROUGH_THE_CLI])
def test_a_bad_config_is_one_error_line_and_exit_2(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = run_bridge("--config", str(path), "--audio", "none", "--exit-after-first-frame")
    assert done.returncode == 2, done
    assert done.stderr.startswith(f"error: config file {path}: {fragment}") and done.stderr.count("\n") == 1, done
    assert "Traceback" not in done.stderr


def test_a_busy_control_port_is_one_error_line_and_exit_2(busy_port: int):
    done = run_bridge("--control-port", str(busy_port), "--audio", "none", "--exit-after-first-frame")
    assert done.returncode == 2 and done.stderr.startswith("error: --control-port: cannot listen"), done
    assert done.stderr.count("\n") == 1 and "pict2audio: first frame" not in done.stdout


# -- OSC sender: targets checked when it is made, not at every bundle ------------------------------------


@pytest.mark.parametrize("targets, fragment", [
    ("127.0.0.1:9000", "OSC targets: expected a list of (host, port) pairs"),
    ([("127.0.0.1", 70000)], "OSC target ('127.0.0.1', 70000): expected a (host, port) pair"),
    ([("127.0.0.1", "9000")], "OSC target ('127.0.0.1', '9000'): expected"),
    ([("", 9000)], "OSC target ('', 9000): expected"),
    ([("127.0.0.1\0", 9000)], "expected a (host, port) pair"),
    ([("127.0.0.1", 9000, 1)], "expected a (host, port) pair"),
])
def test_the_osc_sender_refuses_bad_targets_at_start(targets: object, fragment: str):
    with pytest.raises(ConfigError) as caught:
        OscSender(targets)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
