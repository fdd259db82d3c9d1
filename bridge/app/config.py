"""Session options: one TOML config file, overridden by command-line flags.

Config file (default `~/.config/pict2audio/config.toml`, or `--config FILE`):

    [osc]
    targets = ["127.0.0.1:9000"]     # several allowed
    latency_ms = 0                   # timetag look-ahead; 0 = immediately
    control_port = 9001              # OSC control input; absent = off
    control_host = "127.0.0.1"

    [audio]
    output = "local"                 # "local" (pygame.mixer) or "none"
    voices = 16                      # voices sounding at once (1..64); a new one beyond cuts the oldest

    [engine]
    label_by = "stroke"              # "stroke": each stroke its own voice; "canvas": the whole picture
    onset = "down"                   # "down": sound when the pen touches; "up": when it lifts

    [bank]
    folder = "/path/to/samples"      # absent = the built-in default bank

    [midi]
    input = "virtual"                # a port name (or part of one), "virtual", or absent = off
    backend = "mido.backends.rtmidi"
    [midi.mapping]                   # see the README's MIDI table
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bridge.core.drawing import LABEL_MODES, ONSETS, PlayMode
from bridge.errors import ConfigError, DrawingError

DEFAULT_OSC_TARGET = ("127.0.0.1", 9000)


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "pict2audio" / "config.toml"


@dataclass(frozen=True)
class Config:
    osc_targets: tuple[tuple[str, int], ...] = (DEFAULT_OSC_TARGET,)
    osc_latency_ms: float = 0.0
    control_host: str = "127.0.0.1"
    control_port: int | None = None
    audio: str = "local"
    voices: int = 16
    mode: PlayMode = field(default_factory=PlayMode)
    bank_folder: Path | None = None
    midi_in: str | None = None
    midi_backend: str = "mido.backends.rtmidi"
    midi_mapping: dict[str, Any] = field(default_factory=dict)
    config_path: Path | None = None


def parse_host_port(text: str) -> tuple[str, int]:
    """'HOST:PORT' or 'PORT' -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536 or (sep and not host):
        raise ConfigError(f"expected an OSC target as HOST:PORT (e.g. 127.0.0.1:9000), got {text!r}")
    return host, number


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every command that runs a session (the canvas and replay)."""
    parser.add_argument("--config", type=Path, help="TOML config file (default: ~/.config/pict2audio/config.toml)")
    parser.add_argument(
        "--osc", action="append", metavar="HOST:PORT", help="send OSC here (repeatable; default 127.0.0.1:9000)"
    )
    parser.add_argument("--osc-latency-ms", type=float, help="OSC bundle timetag look-ahead in ms (default 0: now)")
    parser.add_argument("--audio", choices=("local", "none"), help="play samples locally with pygame (default local)")
    parser.add_argument("--voices", type=int, metavar="N",
                        help="voices sounding at once, 1..64 (default 16; a new one beyond cuts the oldest)")
    parser.add_argument("--label-by", choices=LABEL_MODES,
                        help="stroke: every stroke is its own voice (default); canvas: the whole picture")
    parser.add_argument("--onset", choices=ONSETS, help="down: sound when the pen touches (default); up: at pen up")
    parser.add_argument("--bank", type=Path, metavar="FOLDER", help="sound bank folder (default: built-in bank)")
    parser.add_argument("--control-port", type=int, metavar="PORT", help="listen for OSC control here (default: off)")
    parser.add_argument("--control-host", metavar="HOST", help="OSC control bind address (default 127.0.0.1)")
    parser.add_argument("--midi-in", metavar="PORT",
                        help="MIDI controller input: a port name or part of one (see midi-ports), or 'virtual'")
    parser.add_argument("--midi-backend", metavar="BACKEND",
                        help="mido backend (default mido.backends.rtmidi; e.g. mido.backends.rtmidi/UNIX_JACK)")


def load_config(args: argparse.Namespace) -> Config:
    """The config file (if any), then each flag the user gave on top of it."""
    path: Path | None = getattr(args, "config", None)
    explicit = path is not None
    path = path or default_config_path()
    config = _from_toml(path, required=explicit) if (explicit or path.exists()) else Config()
    changes: dict[str, Any] = {}
    if getattr(args, "osc", None):
        changes["osc_targets"] = tuple(parse_host_port(t) for t in args.osc)
    for flag, name in (("osc_latency_ms", "osc_latency_ms"), ("audio", "audio"), ("bank", "bank_folder"),
                       ("control_port", "control_port"), ("control_host", "control_host"),
                       ("midi_in", "midi_in"), ("midi_backend", "midi_backend"), ("voices", "voices")):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    mode_flags = {key: getattr(args, key, None) for key in ("label_by", "onset")}
    changes["mode"] = replace(config.mode, **{k: v for k, v in mode_flags.items() if v is not None})
    return _checked(replace(config, **changes), "--voices")


def _from_toml(path: Path, *, required: bool) -> Config:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        if required:
            raise ConfigError(f"config file {path} does not exist") from exc
        return Config()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    osc, audio, bank, midi, engine = (_table(doc, key, path) for key in ("osc", "audio", "bank", "midi", "engine"))
    try:
        targets = tuple(parse_host_port(str(t)) for t in osc.get("targets", ["127.0.0.1:9000"]))
        control_port = osc.get("control_port")
        config = Config(
            osc_targets=targets,
            osc_latency_ms=float(osc.get("latency_ms", 0.0)),
            control_host=str(osc.get("control_host", "127.0.0.1")),
            control_port=None if control_port is None else int(control_port),
            audio=str(audio.get("output", "local")),
            voices=_whole(audio.get("voices", 16), "[audio] voices"),
            mode=PlayMode(**{k: engine[k] for k in ("label_by", "onset") if k in engine}),
            bank_folder=Path(bank["folder"]).expanduser() if "folder" in bank else None,
            midi_in=midi.get("input"),
            midi_backend=str(midi.get("backend", "mido.backends.rtmidi")),
            midi_mapping=dict(midi.get("mapping", {})),
            config_path=path,
        )
    except DrawingError as exc:  # a play mode the engine does not know
        raise ConfigError(f"config file {path}: [engine] {exc.where.removeprefix('mode.')}: {exc.problem}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    if config.audio not in ("local", "none"):
        raise ConfigError(f"config file {path}: [audio] output must be 'local' or 'none', got {config.audio!r}")
    return _checked(config, f"config file {path}: [audio] voices")


def _whole(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} must be a whole number, got {value!r}")
    return value


def _checked(config: Config, voices_where: str) -> Config:
    if not 1 <= config.voices <= 64:
        raise ConfigError(f"{voices_where}: expected 1..64 voices, got {config.voices}")
    return config


def _table(doc: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: [{key}] must be a table")
    return value
