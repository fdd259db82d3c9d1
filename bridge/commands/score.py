"""`score`: a saved drawing played as a graphic score, offline: a WAV bounce and/or a Standard MIDI File.

    run_bridge.py score DRAWING.json [--render OUT.wav] [--midi OUT.mid] [--loops N]
                        [--seconds S | --bpm B --bars N] [--bank FOLDER] [--config FILE]

The page is played as the live score plays it (bridge.core.score): a playhead sweeps the canvas once per
pass, each pen stroke sounds from its leftmost to its rightmost ink as its own voice, through the same
engine, classifier and matcher as a live session (each stroke classified alone). The tempo is the one the
drawing recorded (its "score" object), else the config's [score], unless a flag says otherwise (default 120 bpm,
2 bars). The WAV starts
at the first pass's left edge; notes overlap and are mixed without clipping. The MIDI file has one note per
stroke per pass, through the MIDI out mapping ([midi.out]).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.app.score_options import add_score_options, loop_count, score_settings
from bridge.core.errors import DrawingError

if TYPE_CHECKING:
    from bridge.app.config import Config
    from bridge.core.bank import SoundBank
    from bridge.core.drawing import Drawing
    from bridge.core.protocol import Bundle
    from bridge.core.score import ScoreSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("score", help="play a saved drawing as a graphic score, offline: --render WAV, "
                                                 "--midi MID")
    parser.add_argument("drawing", type=Path, metavar="DRAWING", help="a drawing .json file")
    parser.add_argument("--render", type=Path, metavar="OUT.wav", help="bounce the score to a WAV")
    parser.add_argument("--render-rate", type=int, default=44100, metavar="HZ", help="WAV sample rate (44100)")
    parser.add_argument("--render-format", choices=("pcm16", "float"), default="pcm16",
                        help="WAV sample format (default pcm16)")
    parser.add_argument("--midi", type=Path, metavar="OUT.mid", help="write the notes to a Standard MIDI File")
    parser.add_argument("--config", type=Path, help="TOML config file (default: ~/.config/pict2audio/config.toml)")
    parser.add_argument("--bank", type=Path, metavar="FOLDER", help="sound bank folder (default: built-in bank)")
    parser.add_argument("--voices", type=int, metavar="N", help="voices sounding at once, 1..64 (default 16)")
    parser.add_argument("--language", type=Path, metavar="FILE",
                        help="taught shapes to play with (default: the one the drawing recorded; docs/language.md)")
    add_score_options(parser, loops=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.drawing_files import read_drawing
    from bridge.app.config import load_config

    config = replace(load_config(args), control_port=None, oscquery=False)
    try:
        drawing = read_drawing(args.drawing)
    except DrawingError as exc:
        print(f"{args.drawing}: {exc}", file=sys.stderr)
        return 1
    settings = score_settings(args, drawing.score, configured=config.score)
    loops = loop_count(args)
    bundles, errors, bank = _play(drawing, settings, loops, config, language=args.language)
    notes = sum(len(bundle.find_all("play")) for _, bundle in bundles)
    print(f"{args.drawing}: {notes} notes in {loops} pass{'es' if loops > 1 else ''} of "
          f"{settings.loop_ms / 1000:g} s ({settings.bars} bars at {settings.bpm:g} bpm)")
    for error in errors:
        print(f"{args.drawing}: error: {error}", file=sys.stderr)
    if args.render:
        _render(bundles, args)
    if args.midi:
        _write_midi(bundles, args.midi, config, bank)
    return 1 if errors else 0


def _play(drawing: Drawing, settings: ScoreSettings, loops: int, config: Config, *,
          language: Path | None) -> tuple[list[tuple[float, Bundle]], list[str], SoundBank]:
    """(t_ms, bundle) of every non-empty bundle of the score's events, the engine's errors, and the bank.
    The taught shapes are `language`, else the ones the drawing was played with (as `replay` does)."""
    from bridge.adapters.image_classifier import load_image_classifier
    from bridge.adapters.language_files import replay_language
    from bridge.app.session import build_engine, engine_config, load_bank
    from bridge.core.score import score_events

    bank = load_bank(config)
    gestures, problems = replay_language(drawing.meta, language, config.language)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    engine = build_engine(load_image_classifier(), bank, engine_config=engine_config(config), gestures=gestures)
    bundles: list[tuple[float, Bundle]] = []
    for event in score_events(drawing, settings, loops):
        bundle = engine.handle(event)
        if bundle is not None and bundle.messages:
            bundles.append((bundle.t_ms, bundle))
    return bundles, list(engine.errors), bank


def _render(bundles: list[tuple[float, Bundle]], args: argparse.Namespace) -> None:
    from bridge.adapters.render_wav import play_onsets, render_wav

    onsets = play_onsets(bundles)
    if not onsets:
        print(f"{args.render}: nothing was played, so no WAV was written", file=sys.stderr)
        return
    report = render_wav(onsets, args.render, sample_rate_hz=args.render_rate, subtype=args.render_format)
    for path in report.missing:
        print(f"{path}: warning: sample cannot be read; left out of the bounce", file=sys.stderr)
    print(report.summary())


def _write_midi(bundles: list[tuple[float, Bundle]], path: Path, config: Config, bank: SoundBank) -> None:
    """The score's notes through the MIDI out mapping ([midi.out]): one note per stroke per pass."""
    from bridge.commands.replay import _write_midi as write

    write(bundles, path, config, bank)
