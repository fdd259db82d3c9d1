"""`midi-learn TARGET`: headless MIDI learn; move a control and the mapping is saved to the config."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from bridge.core.midi_mapping import TARGETS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("midi-learn", help="bind a MIDI control to a label or action (saved to the config)")
    parser.add_argument("target", choices=TARGETS, help="what the next control you move will drive")
    parser.add_argument("--midi-in", metavar="PORT", help="MIDI input: name or part of one, or 'virtual'")
    parser.add_argument("--midi-backend", metavar="BACKEND",
                        help="mido backend: mido.backends.NAME[/API] (default mido.backends.rtmidi)")
    parser.add_argument("--config", type=Path,
                        help="TOML config file to update (default ~/.config/pict2audio/config.toml)")
    parser.add_argument("--timeout-s", type=float, default=60.0, help="give up after this long (default 60)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.midi_mido import MidiInput
    from bridge.app.config import default_config_path, load_config
    from bridge.app.midi_wiring import save_mapping
    from bridge.core.errors import BridgeError, ConfigError
    from bridge.core.midi_mapping import MidiMapper, MidiMapping

    config = load_config(args)
    if not config.midi_in:
        raise ConfigError("midi-learn needs a MIDI input: --midi-in PORT (see midi-ports), "
                          "or [midi] input in the config")
    path = args.config or config.config_path or default_config_path()
    midi = MidiInput(config.midi_in, post=lambda event, **kwargs: None,
                     mapper=MidiMapper(MidiMapping.from_dict(config.midi_mapping)), backend=config.midi_backend)
    if not midi.open():
        return 1
    done = threading.Event()
    saved: list[str] = []
    failed: list[Exception] = []

    def learned(target: str, binding: object, mapping: MidiMapping) -> None:
        """On the MIDI thread: save, and hand any failure to the main thread to report."""
        try:
            save_mapping(path, mapping)
            saved.append(f"{target} = {binding}, saved to {path}")
        except Exception as exc:  # reported below as one error line, not lost on the MIDI thread
            failed.append(exc)
        finally:
            done.set()

    midi.mapper.on_learned = learned
    try:
        midi.arm(args.target)
        print(f"move a control on {midi.port_name} for {args.target} ...", flush=True)
        if not done.wait(args.timeout_s):
            print(f"no control moved within {args.timeout_s:g} s; mapping unchanged", file=sys.stderr)
            return 1
    finally:
        midi.close()
    if failed:
        exc = failed[0]
        raise exc if isinstance(exc, BridgeError) else BridgeError(f"MIDI learn: the mapping was not saved: {exc}")
    if not saved:
        return 1
    print(f"MIDI learn: {saved[0]}")
    return 0
