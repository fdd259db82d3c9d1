"""Fuzz: random TOML configs and flags give a valid Config or a ConfigError naming the key, nothing else.

Documents are built from the known tables and keys (plus near-miss and random names) with values of
every TOML type, good ones among them; flags get random text. A ConfigError must name what it is about:
a "[table] key" of the document, a [table], a midi.mapping key, or a flag that was given.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.adapters.midi_mido import mido_backend_names
from bridge.app.config import KNOWN_KEYS, MAX_LATENCY_MS, Config, add_session_options, load_config
from bridge.core.drawing import LABEL_MODES, ONSETS
from bridge.core.errors import ConfigError
from bridge.core.midi_mapping import MidiMapping

SETTINGS = settings(derandomize=True, max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Hosts that are never looked up in DNS: the control port check binds to them (a random name would be resolved).
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "0.0.0.0", "", " 127.0.0.1", "127.0.0.1\x00", "999.1.1.1"]
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "targets": st.lists(st.sampled_from(["127.0.0.1:9000", "localhost:57120", "9001", "h:0", ":9", "x:y",
                                         "10.0.0.2:70000", "::1:9000"]), max_size=3),
    "latency_ms": st.one_of(st.floats(allow_nan=True), st.integers(-10, 20_000)),
    "control_port": st.one_of(st.integers(-2, 70_000), st.sampled_from([0, 65535, 65536])),
    "control_host": st.sampled_from(LOCAL_HOSTS),
    "output": st.sampled_from(["local", "none", "loud", "LOCAL"]),
    "voices": st.integers(-1, 70),
    "label_by": st.sampled_from([*LABEL_MODES, "strokes"]),
    "onset": st.sampled_from([*ONSETS, "sideways"]),
    "folder": st.sampled_from(["~/samples", "/tmp/bank", "", "~nosuchuser__/bank", "a\x00b", " "]),
    "input": st.sampled_from(["virtual", "nano", "", "\n"]),
    "backend": st.sampled_from(["mido.backends.rtmidi", "mido.backends.rtmidi/UNIX_JACK", "mido.backends.pygame",
                                "os", "antigravity", "mido.backends.backend", "mido.backends.rtmidi/", "x/UNIX_JACK"]),
    "pitch": st.sampled_from(["note 69", "note 120", "cc 1", "off", "program 3", "note", "cc 128", "cc ²"]),
    "volume": st.sampled_from(["cc 7", "cc 1", "note 69", "program 0", "off", "knob 3"]),
    "timbre": st.sampled_from(["program 0", "program 121", "cc 7", "off"]),
    "release": st.sampled_from(["cc 123", "note 60", "off"]),
    "trigger": st.sampled_from(["cc 64", "cc 123", "off"]),
    "channel": st.one_of(st.sampled_from(["omni", "all"]), st.integers(-1, 17), st.floats(0, 17)),
    "latch": st.one_of(st.booleans(), st.sampled_from(["yes", 1])),
    "window": st.sampled_from(["1000x620", "huge"]),
    "pen_width": st.one_of(st.floats(allow_nan=True), st.integers(-5, 50)),
    "save_folder": st.sampled_from(["~/Pict2Audio", ""]),
}
SCALARS = st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True),
                    st.text(max_size=12), st.datetimes(), st.dates(), st.times())
ANY_VALUE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                         max_leaves=6)
NAMES = st.one_of(st.sampled_from(["target", "voice", "osc", "midi", "mappings", "oscc"]), st.text(max_size=8))


@st.composite
def tables(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A table with some of its known keys (a good-ish or any value) and maybe an unknown key."""
    table: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KNOWN_KEYS[name]), max_size=len(KNOWN_KEYS[name]), unique=True)):
        good = GOOD.get(key)
        table[key] = draw(good if good is not None and draw(st.booleans()) else ANY_VALUE)
    if draw(st.integers(0, 4)) == 0:
        table[draw(NAMES)] = draw(ANY_VALUE)
    return table


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(["osc", "audio", "engine", "bank", "midi", "canvas"]), unique=True)):
        doc[name] = draw(tables(name)) if draw(st.integers(0, 9)) else draw(SCALARS)
    midi = doc.get("midi")
    if isinstance(midi, dict) and draw(st.booleans()):
        midi["mapping"] = draw(tables("midi.mapping")) if draw(st.integers(0, 9)) else draw(SCALARS)
    if draw(st.integers(0, 5)) == 0:
        doc[draw(NAMES)] = draw(ANY_VALUE)
    return doc


FLAG_VALUES: dict[str, st.SearchStrategy[str]] = {
    "--osc": st.sampled_from(["127.0.0.1:9000", "9001", "h:", "x:70000", "", "a b:9"]),
    "--osc-latency-ms": st.sampled_from(["0", "20", "-1", "inf", "nan", "1e309", "10001", "x"]),
    "--control-port": st.sampled_from(["0", "-3", "70000", "65535", "x"]),
    "--control-host": st.sampled_from(LOCAL_HOSTS),
    "--voices": st.sampled_from(["0", "1", "64", "65", "x"]),
    "--audio": st.sampled_from(["local", "none", "loud"]),
    "--label-by": st.sampled_from([*LABEL_MODES, "x"]),
    "--onset": st.sampled_from([*ONSETS, "x"]),
    "--bank": st.sampled_from(["~/b", "", "~nosuchuser__/b"]),
    "--midi-in": st.sampled_from(["virtual", "", "nano"]),
    "--midi-backend": GOOD["backend"],
}
FLAGS = st.lists(st.sampled_from(sorted(FLAG_VALUES)), max_size=4).flatmap(
    lambda names: st.tuples(*(st.tuples(st.just(n), FLAG_VALUES[n] | st.text(max_size=6)) for n in names)))


def parse(argv: list[str]) -> argparse.Namespace | None:
    """The flags as argparse reads them; None when argparse refuses them itself (its usage error, exit 2)."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_session_options(parser)
    try:
        return parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None


def assert_valid(config: Config) -> None:
    for host, port in config.osc_targets:
        assert isinstance(host, str) and host and 0 < port < 65536
    assert math.isfinite(config.osc_latency_ms) and 0 <= config.osc_latency_ms <= MAX_LATENCY_MS
    assert config.control_port is None or 0 < config.control_port < 65536
    assert config.audio in ("local", "none") and 1 <= config.voices <= 64
    assert config.mode.label_by in LABEL_MODES and config.mode.onset in ONSETS
    assert config.bank_folder is None or isinstance(config.bank_folder, Path)
    assert config.midi_in is None or (isinstance(config.midi_in, str) and config.midi_in.strip())
    module = config.midi_backend.partition("/")[0]
    assert module.removeprefix("mido.backends.") in mido_backend_names() and module.startswith("mido.backends.")
    MidiMapping.from_dict(config.midi_mapping)


def named_in(message: str, doc: dict[str, Any], flags: list[str]) -> bool:
    """The error names a key, table or mapping key of the document, or one of the flags given."""
    names = [flag.partition("=")[0] for flag in flags if flag.startswith("--")]
    for table, content in doc.items():
        names.append(f"[{table}]")
        if isinstance(content, dict):
            names += [f"[{table}] {key}" for key in content]
            mapping = content.get("mapping") if table == "midi" else None
            if isinstance(mapping, dict):
                names += [f"midi.mapping.{key}" for key in mapping] + ["[midi.mapping]"]
    return any(name in message for name in names)


@SETTINGS
@given(doc=documents(), flags=FLAGS)
def test_random_configs_and_flags_load_or_name_the_key(tmp_path: Path, doc: dict[str, Any],
                                                       flags: tuple[tuple[str, str], ...]):
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    argv = ["--config", str(path), *(f"{flag}={value}" for flag, value in flags)]
    args = parse(argv)
    if args is None:
        return
    try:
        config = load_config(args)
    except ConfigError as exc:
        message = str(exc)
        assert named_in(message, doc, argv), message
        assert "expected" in message or "cannot" in message or "must be" in message, message
        return
    assert_valid(config)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_text_as_a_config_file_loads_or_is_a_config_error(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    try:
        assert_valid(load_config(parse(["--config", str(path)])))
    except ConfigError as exc:
        assert str(exc).startswith(f"config file {path}"), exc
