"""Command line: argparse subcommands. The only place that prints (besides the commands' `run`)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from bridge import __version__
from bridge.adapters.native_stderr import log_stream
from bridge.core.errors import BridgeError, ConfigError

# Subcommand modules under bridge.commands, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "play",
    "classify",
    "teach",
    "train_image",
    "bench",
    "replay",
    "score",
    "midi_ports",
    "midi_learn",
    "index",
    "label",
    "train_sound",
)
# Set before any command imports these libraries (a value the user set wins): pygame's import banner
# ("pygame 2.6.1 (SDL ...) Hello from the pygame community") and TensorFlow's C++ INFO/WARNING lines
# (train-image, bench). LiteRT's "Created TensorFlow Lite XNNPACK delegate" line obeys no variable in
# ai-edge-litert 2.3.0; the model runner silences it while the interpreter is made.
QUIET_LIBRARIES = {"PYGAME_HIDE_SUPPORT_PROMPT": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
DEFAULT_COMMAND: str | None = "play"  # the subcommand run when none is given: the live canvas


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(  # prog: how it was started, `run_bridge.py` or `pict2audio`
        description="Pict2Audio Bridge: drawing-to-sound instrument (draw, classify, match, send OSC).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"bridge.commands.{name}").register(subparsers)
    return parser


GLOBAL_FLAGS = ("-v", "-vv", "--verbose")


def _wants_default_command(argv: list[str]) -> bool:
    """No subcommand given: `run_bridge.py` alone, or with only options of the default command."""
    if {"-h", "--help", "--version"} & set(argv):
        return False
    return not any(arg.replace("-", "_") in COMMANDS for arg in argv)  # "midi-ports" is module midi_ports


def _quiet_libraries() -> None:
    for name, value in QUIET_LIBRARIES.items():
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    _quiet_libraries()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if DEFAULT_COMMAND and _wants_default_command(argv):
        verbosity = [a for a in argv if a in GLOBAL_FLAGS]  # top-level flags go before the subcommand
        argv = [*verbosity, DEFAULT_COMMAND, *(a for a in argv if a not in GLOBAL_FLAGS)]
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=log_stream())
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # a bad flag or config entry: one line and argparse's usage-error code
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BridgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
