"""Session options: one TOML config file, overridden by command-line flags.

Config file (default `~/.config/pict2audio/config.toml`, or `--config FILE`):

    [osc]
    targets = ["127.0.0.1:9000"]     # several allowed
    latency_ms = 0                   # timetag look-ahead, 0..10000; 0 = immediately
    control_port = 9001              # OSC control input, 1..65535; absent = off
    control_host = "127.0.0.1"
    oscquery = true                  # serve the OSC namespace as OSCQuery (HTTP JSON, mDNS); false = off
    oscquery_port = 0                # its TCP port on control_host; 0 = any free port (logged, in the HUD)

    [audio]
    output = "local"                 # "local" (pygame.mixer) or "none"
    voices = 16                      # voices sounding at once (1..64); a new one beyond cuts the oldest

    [engine]
    label_by = "stroke"              # "stroke": each stroke its own voice; "canvas": the whole picture
    onset = "down"                   # "down": sound when the pen touches; "up": when it lifts
    register = 4                     # the octave matching prefers, 0..8 (4 = the canvas's A4..G#5)
    language = "~/shapes.json"       # taught shapes (`teach`, docs/language.md); absent = none

    [bank]
    folder = "/path/to/samples"      # absent = the built-in default bank
    unpitched = true                 # false: drums, noise and effects never answer (--no-unpitched)

    [midi]
    input = "virtual"                # a port name (or part of one), "virtual", or absent = off
    backend = "mido.backends.rtmidi" # mido.backends.NAME or mido.backends.NAME/API
    output = "virtual"               # MIDI out: a port name (or part of one), "virtual", or absent = off
    [midi.mapping]                   # see the README's MIDI table
    [midi.out]                       # note_off, note, timbre, channel, velocity, channels, programs (README)

    [palette]                        # the composer's colours: timbre = colour or [colours]; absent = the
    flute = ["#1E90FF", "#20B2AA"]   # default eight, timbre by the image model (bridge/core/palette.py)
    string = "#D00000"

    [score]                          # the canvas as a graphic score (flags win: --bpm, --bars, ...)
    bpm = 120                        # tempo of a pass, 1..999 (default 120), with
    bars = 2                         # bars of 4/4 in a pass (default 2); or instead of both:
    seconds = 4                      # one pass lasts this long (0.25..600 s)
    loop = true                      # false: play one pass, then stop
    midi_clock = false               # true: incoming MIDI clock drives the playhead (--midi-clock)
                                     # (the look-ahead of score notes is [osc] latency_ms)

    [canvas]                         # read by the `play` command
    window = "1000x620"
    pen_width = 12
    save_folder = "~/Pict2Audio"

Every value is checked as it is read: a wrong type, a number out of range or a busy control port is a
ConfigError naming the key (or flag), what arrived and what is expected, before anything starts. An
unknown key or table is only a warning naming the nearest known one (a typo must not stop a show, but
must not go unnoticed either).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import math
import os
import socket
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeGuard

from bridge.core.bank import CANVAS_REGISTER, REGISTERS
from bridge.core.drawing import LABEL_MODES, ONSETS, PlayMode
from bridge.core.errors import ConfigError
from bridge.core.labels import TIMBRES
from bridge.core.midi_mapping import TARGETS, MidiMapping
from bridge.core.palette import Palette, PaletteError
from bridge.core.score import SETTINGS_KEYS, ScoreError, ScoreSettings, settings_from_dict

log = logging.getLogger(__name__)

DEFAULT_OSC_TARGET = ("127.0.0.1", 9000)
MAX_LATENCY_MS = 10_000.0  # a look-ahead evens out jitter (ms); seconds of it is a unit mix-up
MAX_VOICES = 64
# Commands that never listen for OSC control (replay drops control_port): a busy port is no reason to stop them.
NO_CONTROL_INPUT = frozenset({"replay", "midi-learn", "score"})

Check = Callable[[object, str], object]  # (value as read, where) -> the checked value


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "pict2audio" / "config.toml"


@dataclass(frozen=True)
class Config:
    osc_targets: tuple[tuple[str, int], ...] = (DEFAULT_OSC_TARGET,)
    osc_latency_ms: float = 0.0
    control_host: str = "127.0.0.1"
    control_port: int | None = None
    oscquery: bool = True  # --no-oscquery / [osc] oscquery: serve the OSC namespace as OSCQuery (HTTP, mDNS)
    oscquery_port: int = 0  # --oscquery-port / [osc] oscquery_port: its TCP port; 0 = any free port
    audio: str = "local"
    voices: int = 16
    mode: PlayMode = field(default_factory=PlayMode)
    bank_folder: Path | None = None
    register: int = CANVAS_REGISTER  # --register / [engine] register: the octave matching starts in
    unpitched: bool = True  # --no-unpitched / [bank] unpitched: unpitched samples may answer
    language: Path | None = None  # --language / [engine] language: a taught-shapes file (bridge.core.language)
    midi_in: str | None = None
    midi_backend: str = "mido.backends.rtmidi"
    midi_mapping: dict[str, Any] = field(default_factory=dict)
    midi_out: str | None = None  # --midi-out / [midi] output: a port name (or part of one), "virtual", or None
    midi_out_options: dict[str, Any] = field(default_factory=dict)  # [midi.out], checked by MidiOutMapping
    palette: Palette | None = None  # [palette]: the composer's colour -> timbre pairs; None = the default eight
    score: ScoreSettings | None = None  # [score] bpm/bars/seconds/loop; None: the defaults (flags win over both)
    midi_clock: bool = False  # --midi-clock / [score] midi_clock: incoming MIDI clock drives the score's playhead
    config_path: Path | None = None


# -- value checks: (value, where) -> the typed value, or ConfigError naming `where` -----------------


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain_text(value: object) -> TypeGuard[str]:
    """A non-empty string without control characters (NUL, newlines) or surrounding spaces."""
    return isinstance(value, str) and value != "" and value == value.strip() and value.isprintable()


def parse_host_port(text: object, where: str = "--osc") -> tuple[str, int]:
    """'HOST:PORT' or 'PORT' -> (host, port); ConfigError naming `where` otherwise."""
    expected = "an OSC target as HOST:PORT with PORT 1..65535 (e.g. 127.0.0.1:9000)"
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected {expected}, got {text!r}")
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    number = int(port) if port.isascii() and port.isdigit() else -1
    if not 0 < number < 65536 or not _plain_text(host) or " " in host:
        raise ConfigError(f"{where}: expected {expected}, got {text!r}")
    return host, number


def _targets(value: object, where: str) -> tuple[tuple[str, int], ...]:
    if isinstance(value, str):
        raise ConfigError(f"{where}: expected a list of \"HOST:PORT\" strings, got the single string {value!r}; "
                          f"write it as a list: targets = [{json.dumps(value)}]")
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{where}: expected a list of \"HOST:PORT\" strings, e.g. [\"127.0.0.1:9000\"], "
                          f"got {value!r}")
    return tuple(parse_host_port(item, f"{where}[{i}]") for i, item in enumerate(value))


def _latency(value: object, where: str) -> float:
    if not _is_number(value) or not 0 <= value <= MAX_LATENCY_MS:  # also false for nan and inf
        raise ConfigError(f"{where}: expected a look-ahead of 0..{MAX_LATENCY_MS:g} ms (0 = send at once), "
                          f"got {value!r}")
    return float(value)


def _port(value: object, where: str) -> int:
    if not _is_whole(value) or not 0 < value < 65536:
        raise ConfigError(f"{where}: expected a UDP port 1..65535, got {value!r}")
    return value


def _host(value: object, where: str) -> str:
    if not _plain_text(value) or " " in value:
        raise ConfigError(f"{where}: expected a host name or address, e.g. \"127.0.0.1\", got {value!r}")
    return value


def _choice(options: Iterable[str]) -> Check:
    options = tuple(options)

    def check(value: object, where: str) -> str:
        if not isinstance(value, str) or value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _voices(value: object, where: str) -> int:
    if not _is_whole(value) or not 1 <= value <= MAX_VOICES:
        raise ConfigError(f"{where}: expected 1..{MAX_VOICES} voices (a whole number), got {value!r}")
    return value


def _folder(value: object, where: str) -> Path:
    return _path(value, where, kind="folder", example="~/samples/my-bank")


def _file(value: object, where: str) -> Path:
    return _path(value, where, kind="file", example="~/shapes.json")


def _path(value: object, where: str, *, kind: str, example: str) -> Path:
    text = str(value) if isinstance(value, Path) else value
    if not isinstance(text, str) or not text.strip() or "\0" in text:
        raise ConfigError(f"{where}: expected a {kind} path, e.g. \"{example}\", got {value!r}")
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:  # "~someone" for a user that does not exist
        raise ConfigError(f"{where}: expected a {kind} path, got {text!r}, whose ~user is unknown here; "
                          "write the full path") from exc


def _midi_input(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ConfigError(f"{where}: expected a MIDI port name (or part of one, see `run_bridge.py midi-ports`) "
                          f"or \"virtual\", got {value!r}; leave it out to run without MIDI")
    return value


def _midi_backend(value: object, where: str) -> str:
    from bridge.adapters.midi_mido import check_backend_name  # reads mido's folder only when asked

    return check_backend_name(value, where)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _number(value: object, where: str) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return value


def _switch(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _register(value: object, where: str) -> int:
    if not _is_whole(value) or value not in REGISTERS:
        raise ConfigError(f"{where}: expected a register {REGISTERS[0]}..{REGISTERS[-1]} (N = the notes "
                          f"A{{N}}..G#{{N+1}}; {CANVAS_REGISTER} = the canvas's own), got {value!r}")
    return value


def _tcp_port(value: object, where: str) -> int:
    if not _is_whole(value) or not 0 <= value < 65536:
        raise ConfigError(f"{where}: expected a TCP port 1..65535, or 0 for any free port, got {value!r}")
    return value


# (table, key) -> (Config field, check). Fields "label_by"/"onset" make the PlayMode; None = checked only
# (the [canvas] table is read by the play command, which checks the ranges).
FILE_KEYS: dict[tuple[str, str], tuple[str | None, Check]] = {
    ("osc", "targets"): ("osc_targets", _targets),
    ("osc", "latency_ms"): ("osc_latency_ms", _latency),
    ("osc", "control_port"): ("control_port", _port),
    ("osc", "control_host"): ("control_host", _host),
    ("osc", "oscquery"): ("oscquery", _switch),
    ("osc", "oscquery_port"): ("oscquery_port", _tcp_port),
    ("audio", "output"): ("audio", _choice(("local", "none"))),
    ("audio", "voices"): ("voices", _voices),
    ("engine", "label_by"): ("label_by", _choice(LABEL_MODES)),
    ("engine", "onset"): ("onset", _choice(ONSETS)),
    ("engine", "register"): ("register", _register),
    ("engine", "language"): ("language", _file),
    ("bank", "folder"): ("bank_folder", _folder),
    ("bank", "unpitched"): ("unpitched", _switch),
    ("midi", "input"): ("midi_in", _midi_input),
    ("midi", "backend"): ("midi_backend", _midi_backend),
    ("midi", "output"): ("midi_out", _midi_input),
    ("canvas", "window"): (None, _text),
    ("canvas", "pen_width"): (None, _number),
    ("canvas", "save_folder"): (None, _folder),
    ("score", "midi_clock"): ("midi_clock", _switch),
}
MAPPING_KEYS: tuple[str, ...] = (*TARGETS, "channel", "latch")
# Every table and its keys, for the unknown-key warnings ([midi] also holds the [midi.mapping] table).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    **{table: tuple(k for t, k in FILE_KEYS if t == table) for table, _ in FILE_KEYS},
    "midi": ("input", "backend", "mapping", "output", "out"),
    "midi.mapping": MAPPING_KEYS,
    "palette": TIMBRES,
    "score": (*SETTINGS_KEYS, "midi_clock"),
}

# argparse dest -> (Config field, the flag as typed, check).
FLAGS: dict[str, tuple[str, str, Check]] = {
    "osc": ("osc_targets", "--osc", _targets),
    "osc_latency_ms": ("osc_latency_ms", "--osc-latency-ms", _latency),
    "control_port": ("control_port", "--control-port", _port),
    "control_host": ("control_host", "--control-host", _host),
    "oscquery": ("oscquery", "--no-oscquery", _switch),
    "oscquery_port": ("oscquery_port", "--oscquery-port", _tcp_port),
    "audio": ("audio", "--audio", _choice(("local", "none"))),
    "voices": ("voices", "--voices", _voices),
    "label_by": ("label_by", "--label-by", _choice(LABEL_MODES)),
    "onset": ("onset", "--onset", _choice(ONSETS)),
    "bank": ("bank_folder", "--bank", _folder),
    "register": ("register", "--register", _register),
    "unpitched": ("unpitched", "--no-unpitched", _switch),
    "language": ("language", "--language", _file),
    "midi_in": ("midi_in", "--midi-in", _midi_input),
    "midi_backend": ("midi_backend", "--midi-backend", _midi_backend),
    "midi_out": ("midi_out", "--midi-out", _midi_input),
    "midi_clock": ("midi_clock", "--midi-clock", _switch),
}


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that runs a session (the canvas and replay)."""
    parser.add_argument("--config", type=Path, help="TOML config file (default: ~/.config/pict2audio/config.toml)")
    parser.add_argument(
        "--osc", action="append", metavar="HOST:PORT", help="send OSC here (repeatable; default 127.0.0.1:9000)"
    )
    parser.add_argument("--osc-latency-ms", type=float,
                        help=f"OSC bundle timetag look-ahead, 0..{MAX_LATENCY_MS:g} ms (default 0: now)")
    parser.add_argument("--audio", choices=("local", "none"), help="play samples locally with pygame (default local)")
    parser.add_argument("--voices", type=int, metavar="N",
                        help="voices sounding at once, 1..64 (default 16; a new one beyond cuts the oldest)")
    parser.add_argument("--label-by", choices=LABEL_MODES,
                        help="stroke: every stroke is its own voice (default); canvas: the whole picture")
    parser.add_argument("--onset", choices=ONSETS, help="down: sound when the pen touches (default); up: at pen up")
    parser.add_argument("--bank", type=Path, metavar="FOLDER", help="sound bank folder (default: built-in bank)")
    parser.add_argument("--register", type=int, metavar="N",
                        help="the octave matching prefers among equally good samples, 0..8: N = notes A{N}..G#{N+1} "
                             "(default 4, the canvas's own)")
    parser.add_argument("--no-unpitched", dest="unpitched", action="store_false", default=None,
                        help="leave unpitched samples (drums, noise, effects) out of matching")
    parser.add_argument("--language", type=Path, metavar="FILE",
                        help="taught shapes (written by `teach`, or taught in the canvas): a shape sets the label "
                             "it was taught (docs/language.md)")
    parser.add_argument("--control-port", type=int, metavar="PORT",
                        help="listen for OSC control on this UDP port, 1..65535 (default: off)")
    parser.add_argument("--control-host", metavar="HOST", help="OSC control bind address (default 127.0.0.1)")
    parser.add_argument("--no-oscquery", dest="oscquery", action="store_false", default=None,
                        help="do not serve the OSC namespace as OSCQuery (HTTP JSON on --control-host, mDNS)")
    parser.add_argument("--oscquery-port", type=int, metavar="PORT",
                        help="OSCQuery HTTP port on --control-host (default 0: any free port, shown in the log)")
    parser.add_argument("--midi-in", metavar="PORT",
                        help="MIDI controller input: a port name or part of one (see midi-ports), or 'virtual'")
    parser.add_argument("--midi-backend", metavar="BACKEND",
                        help="mido backend: mido.backends.NAME[/API] (default mido.backends.rtmidi; "
                             "e.g. mido.backends.rtmidi/UNIX_JACK)")
    parser.add_argument("--midi-out", metavar="PORT",
                        help="send each voice as a MIDI note: an output port name or part of one, or 'virtual' "
                             "(a port named 'Pict2Audio Out'); the mapping is [midi.out] in the config")


# -- loading ------------------------------------------------------------------------------------------


def load_config(args: argparse.Namespace) -> Config:
    """The config file (if any), then each flag the user gave on top of it; every value checked.

    A control port (unless the command takes no control input) is bound and released at once, so a
    port in use is a ConfigError at start rather than a session that comes up without its control input.
    """
    path: Path | None = getattr(args, "config", None)
    explicit = path is not None
    path = path or default_config_path()
    config = _from_toml(path, required=explicit) if (explicit or path.exists()) else Config()
    config = _with_flags(config, args)
    if config.control_port is not None and getattr(args, "command", None) not in NO_CONTROL_INPUT:
        flagged = getattr(args, "control_port", None) is not None
        where = "--control-port" if flagged else f"config file {config.config_path}: [osc] control_port"
        check_port_free(config.control_host, config.control_port, where)
    return config


def _with_flags(config: Config, args: argparse.Namespace) -> Config:
    values: dict[str, Any] = {}
    for dest, (name, flag, check) in FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            values[name] = check(value, flag)
    mode = {key: values.pop(key) for key in ("label_by", "onset") if key in values}
    return replace(config, **values, mode=replace(config.mode, **mode))


def _from_toml(path: Path, *, required: bool) -> Config:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if required:
            raise ConfigError(f"config file {path} does not exist; check the --config path") from exc
        return Config()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    tables = {table: _table(doc, table, path) for table in KNOWN_KEYS if "." not in table}
    _warn_unknown(doc, tables, path)
    values: dict[str, Any] = {}
    for (table, key), (name, check) in FILE_KEYS.items():
        if key in tables[table]:
            value = check(tables[table][key], f"config file {path}: [{table}] {key}")
            if name is not None:
                values[name] = value
    mode = PlayMode(**{key: values.pop(key) for key in ("label_by", "onset") if key in values})
    mapping = _mapping(tables["midi"].get("mapping", {}), path)
    values["midi_out_options"] = _midi_out_options(tables["midi"].get("out", {}), path)
    values["palette"] = _palette(tables["palette"], path)
    values["score"] = _score(tables["score"], path)
    return Config(**values, mode=mode, midi_mapping=mapping, config_path=path)


def _table(doc: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: [{key}] must be a table of settings, got {key} = {value!r}; "
                          f"write it as [{key}] followed by its keys")
    return value


def _mapping(value: object, path: Path) -> dict[str, Any]:
    """The known keys of [midi.mapping], checked by MidiMapping (whose errors name the key)."""
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: [midi] mapping must be a table ([midi.mapping]), got {value!r}")
    known = {key: item for key, item in value.items() if key in MAPPING_KEYS}
    try:
        MidiMapping.from_dict(known)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    except (TypeError, ValueError) as exc:  # a value the mapping parser did not foresee
        raise ConfigError(f"config file {path}: [midi.mapping] {exc}") from exc
    return known


def _midi_out_options(value: object, path: Path) -> dict[str, Any]:
    """The known keys of [midi.out] (an unknown one is a warning), checked by MidiOutMapping."""
    from bridge.core.midi_out import OPTION_KEYS, MidiOutMapping

    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: [midi] out must be a table ([midi.out]), got {value!r}")
    for key in value:
        if key not in OPTION_KEYS:
            log.warning("config file %s: [midi.out] unknown key %r; %s", path, key, _nearest(key, OPTION_KEYS, "'{}'"))
    known = {key: item for key, item in value.items() if key in OPTION_KEYS}
    try:
        MidiOutMapping.from_dict(known)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    return known


def _palette(table: dict[str, Any], path: Path) -> Palette | None:
    """The [palette] table's timbres (an unknown key is a warning) as a Palette; None when it names none."""
    known = {key: item for key, item in table.items() if key in TIMBRES}
    if not known:
        return None
    try:
        return Palette.from_dict(known)
    except PaletteError as exc:
        where = "[palette]" + exc.where.removeprefix("palette").replace(".", " ", 1)
        raise ConfigError(f"config file {path}: {where}: {exc.problem}") from exc


def _score(table: dict[str, Any], path: Path) -> ScoreSettings | None:
    """The [score] table's loop settings (checked together: seconds or bpm and bars); None when it has none."""
    known = {key: item for key, item in table.items() if key in SETTINGS_KEYS}
    if not known:
        return None
    try:
        return settings_from_dict(known)
    except ScoreError as exc:
        raise ConfigError(f"config file {path}: [score] {exc.where.removeprefix('score.')}: {exc.problem}") from exc


# -- unknown keys: a warning naming the nearest known one ---------------------------------------------


def _warn_unknown(doc: dict[str, Any], tables: dict[str, dict[str, Any]], path: Path) -> None:
    for name, value in doc.items():
        if name not in tables:
            log.warning("config file %s: %s", path, _unknown_top_level(name, value))
    for table, content in tables.items():
        for key in content:
            if key not in KNOWN_KEYS[table]:
                log.warning("config file %s: [%s] unknown key %r; %s", path, table, key,
                            _nearest(key, KNOWN_KEYS[table], "'{}'"))
    mapping = tables["midi"].get("mapping")
    for key in mapping if isinstance(mapping, dict) else ():
        if key not in MAPPING_KEYS:
            log.warning("config file %s: [midi.mapping] unknown key %r; %s", path, key,
                        _nearest(key, MAPPING_KEYS, "'{}'"))


def _unknown_top_level(name: str, value: object) -> str:
    if isinstance(value, dict):
        return f"unknown table [{name}]; {_nearest(name, [t for t in KNOWN_KEYS if '.' not in t], '[{}]')}"
    owners = [table for table, keys in KNOWN_KEYS.items() if name in keys]
    if owners:
        return f"unknown top-level key {name!r}; it belongs in [{owners[0]}] (ignored here)"
    return f"unknown top-level key {name!r}; {_nearest(name, list(KNOWN_KEYS), '[{}]')}"


def _nearest(name: str, known: Iterable[str], form: str) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {form.format(close[0])}? (ignored)"
    return f"ignored; known: {', '.join(form.format(k) for k in known)}"


# -- the control port ---------------------------------------------------------------------------------


def check_port_free(host: str, port: int, where: str) -> None:
    """Bind the UDP `host:port` the OSC control server will listen on and release it at once;
    ConfigError naming `where` when it is in use, not local, or not allowed."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.bind(sockaddr)
    except (OSError, UnicodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"{where}: cannot listen for OSC control on {host}:{port} ({reason}); expected a free UDP port on "
            "a local address: choose another port (--control-port or [osc] control_port), check --control-host, "
            "or stop the program using it"
        ) from exc
