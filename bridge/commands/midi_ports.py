"""`midi-ports`: list the MIDI ports the backend sees (names to give to `--midi-in`)."""

from __future__ import annotations

import argparse
import sys

from bridge.adapters.midi_mido import DEFAULT_BACKEND, VIRTUAL, VIRTUAL_PORT_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("midi-ports", help="list MIDI input and output ports (for --midi-in)")
    parser.add_argument("--midi-backend", metavar="BACKEND",
                        help=f"only this mido backend, mido.backends.NAME[/API], e.g. '{DEFAULT_BACKEND}/UNIX_JACK' "
                             f"(default: every API compiled into python-rtmidi)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.midi_mido import MidiError, check_backend_name, list_ports

    if args.midi_backend is not None:  # checked before mido imports it: any module name would be run
        check_backend_name(args.midi_backend, "--midi-backend")
    backends = [args.midi_backend] if args.midi_backend is not None else _rtmidi_backends()
    usable = 0
    for backend in backends:
        print(f"{backend}:")
        try:
            ports = list_ports(backend)
        except MidiError as exc:
            print(f"  unavailable: {exc}")
            continue
        usable += 1
        for kind in ("inputs", "outputs"):
            print(f"  {kind}: {', '.join(repr(n) for n in ports[kind]) or '(none)'}")
    if not usable:
        print("no MIDI backend is usable here", file=sys.stderr)
        return 1
    print(f"use --midi-in NAME (or part of it), or --midi-in {VIRTUAL} for a virtual input '{VIRTUAL_PORT_NAME}'; "
          "with a backend other than the default, add --midi-backend")
    print("send the voices as notes with --midi-out NAME (one of the outputs above, or part of it), or --midi-out "
          "virtual for a virtual output 'Pict2Audio Out'")
    return 0


def _rtmidi_backends() -> list[str]:
    """The default backend with each API python-rtmidi was built with (ALSA, JACK, CoreMIDI, WinMM)."""
    try:
        from mido.backends.rtmidi import get_api_names
    except ImportError:
        return [DEFAULT_BACKEND]
    return [f"{DEFAULT_BACKEND}/{api}" for api in get_api_names()] or [DEFAULT_BACKEND]
