"""`replay`: re-feed saved drawings through the live session's engine and outputs; optionally bounce to WAV.

    run_bridge.py replay DRAWING.json|FOLDER... [--speed X | --fast] [--osc HOST:PORT]... [--audio local|none]
                         [--midi-file F] [--show] [--render OUT.wav]
                         [--midi-out PORT|virtual] [--midi OUT.mid]

A folder stands for its *.json files in natural name order (2 before 10). A file that cannot be read
or does not follow the drawing schema gets one line on stderr naming the field and the problem, and
the others go on; the exit code is 1 if any failed. A drawing saved with another model or bank
version is replayed with a warning. A drawing plays with the play mode it recorded (label_by, onset)
unless --label-by or --onset says otherwise, and with the palette it recorded (none: the model's timbre).
Its taught shapes are recognised with the language file it recorded (--language FILE wins); a language file
that is missing or has changed since is a warning, and the drawing replays with what there is.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge.adapters.replay_window import ReplayClosed
from bridge.app.config import add_session_options, load_config
from bridge.app.score_options import add_score_options, loop_count, score_settings
from bridge.core.drawing import Drawing, PlayMode, drawing_from_json
from bridge.core.events import ControlEvent
from bridge.errors import DrawingError

log = logging.getLogger(__name__)

DRAWING_GAP_MS = 1000.0  # between drawings: the pause of a real-time replay and the silence of a bounce
MAX_TAIL_S = 5.0  # how long a real-time replay with local audio lets the last note ring


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay", help="replay saved drawings (same OSC as the live session); --render bounces them to WAV"
    )
    parser.add_argument("drawings", nargs="+", type=Path, metavar="DRAWING",
                        help="drawing .json files or folders of them (replayed in order)")
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument("--speed", type=_positive_float, default=1.0, metavar="X",
                        help="scale the recorded timing: 2 = twice as fast (default 1)")
    timing.add_argument("--fast", action="store_true", help="no waiting: as fast as possible")
    parser.add_argument("--midi-file", type=Path, metavar="F",
                        help="also apply the controls of this MIDI file (t=0 at each drawing's start)")
    parser.add_argument("--show", action="store_true", help="redraw the strokes in a window as they replay")
    parser.add_argument("--render", type=Path, metavar="OUT.wav",
                        help="bounce the played samples at their drawing times to one WAV (offline)")
    parser.add_argument("--render-rate", type=int, default=44100, metavar="HZ", help="WAV sample rate (44100)")
    parser.add_argument("--render-format", choices=("pcm16", "float"), default="pcm16",
                        help="WAV sample format (default pcm16)")
    parser.add_argument("--midi", type=Path, metavar="OUT.mid",
                        help="write the notes (the MIDI out mapping, [midi.out]) to a Standard MIDI File, on the "
                             "--render timeline")
    add_session_options(parser)
    add_score_options(parser, loops=True)
    parser.set_defaults(func=run)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, folders as their *.json in natural order; plus an error line per bad argument."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"), key=_natural_key)
            if not found:
                errors.append(f"{path}: no drawings (*.json) in this folder")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def read_drawing(path: Path) -> Drawing:
    """The drawing in `path`, scaled to the 400 px canvas the engine draws on (as `classify` scales it);
    DrawingError (naming the field) if it cannot be used."""
    from bridge.adapters.drawing_files import read_drawing_bytes
    from bridge.core.raster import scaled_to_canvas

    try:
        data = read_drawing_bytes(path)
    except OSError as exc:
        raise DrawingError("", f"cannot be read ({exc.strerror or exc})") from exc
    return scaled_to_canvas(drawing_from_json(data))


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.language_files import replay_language
    from bridge.app.replayer import describe_lateness, replay_drawing, version_mismatches
    from bridge.app.session import build_engine, build_session, engine_config, session_meta
    from bridge.core.bank import CANVAS_REGISTER

    files, missing = expand_paths(args.drawings)
    for line in missing:
        print(line, file=sys.stderr)
    failures = list(missing)
    # a replay takes no live control input, and advertises no OSC namespace (OSCQuery) to control
    config = replace(load_config(args), control_port=None, oscquery=False)
    flagged_language = config.language if args.language is not None else None  # wins over what drawings recorded
    extra = _midi_controls(args.midi_file, config.midi_mapping) if args.midi_file else ()
    speed = None if args.fast else args.speed
    parts = build_session(replace(config, language=None), start=False)  # each drawing's language: below
    window = _open_window() if args.show else None
    current = session_meta(parts.classifier, parts.bank)
    onsets: list[Any] = []
    timeline_ms = 0.0
    midi_bundles: list[tuple[float, Any]] = []  # (t_ms on the --midi file's timeline, bundle)
    midi_timeline_ms = 0.0
    replayed = 0
    try:
        for path in files:
            try:
                drawing = read_drawing(path)
            except DrawingError as exc:
                print(f"{path}: {exc}", file=sys.stderr)
                failures.append(str(path))
                continue
            for problem in version_mismatches(drawing, current):
                print(f"{path}: warning: {problem}; labels and matches may differ", file=sys.stderr)
            if replayed and speed is not None:
                time.sleep(DRAWING_GAP_MS / speed / 1000.0)
            replayed += 1
            if window is not None:
                window.start(path.name, of=len(files))
            settings = replace(engine_config(config), mode=replay_mode(drawing, config.mode, args),
                               palette=drawing.palette,  # the timbres it was played with
                               register=CANVAS_REGISTER)  # a drawing made in another register records it
            gestures, problems = replay_language(drawing.meta, flagged_language, config.language)
            for problem in problems:
                print(f"{path}: warning: {problem}", file=sys.stderr)
            engine = build_engine(parts.classifier, parts.bank, matcher=parts.matcher, engine_config=settings,
                                  gestures=gestures)
            result = replay_drawing(drawing, engine, parts.session.sinks, speed=speed, extra_controls=extra,
                                    events=_score_events(drawing, args, config, extra), on_event=window)
            print(_summary(path, drawing, result, describe_lateness(result.lateness_ms) if speed else None))
            for error in result.errors:
                print(f"{path}: error during replay: {error}", file=sys.stderr)
            if result.errors:
                failures.append(str(path))
            if args.render:
                onsets.extend(_onsets(result, offset_ms=timeline_ms - result.first_t_ms))
                timeline_ms += result.last_t_ms - result.first_t_ms + DRAWING_GAP_MS
            if args.midi:  # the same timeline as --render: the first event at 0, DRAWING_GAP_MS between drawings
                offset_ms = midi_timeline_ms - result.first_t_ms
                midi_bundles.extend((t_ms + offset_ms, bundle) for t_ms, bundle in result.bundles)
                midi_timeline_ms += result.last_t_ms - result.first_t_ms + DRAWING_GAP_MS
        if speed is not None and parts.audio is not None:
            if parts.audio_feed is not None:
                parts.audio_feed.flush()  # the last notes have started
            _let_ring(parts.audio)
        if speed is not None and parts.midi_out is not None:  # the last notes end with their samples, as in --midi
            parts.midi_out.wait_sample_ends(MAX_TAIL_S)
        if window is not None:  # --show: the last picture and its notes stay up until the window is closed
            window.wait_closed()
    except ReplayClosed:
        print("replay stopped: window closed", file=sys.stderr)
        return 130
    finally:
        if window is not None:
            window.close()
        parts.close()
    if args.midi:
        _write_midi(midi_bundles, args.midi, config, parts.bank)
    if args.render and onsets:
        _render(onsets, args)
    elif args.render:
        print(f"{args.render}: nothing was played, so no WAV was written", file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {len(files) + len(missing)} drawings failed", file=sys.stderr)
    return 1 if failures else 0


def _score_events(drawing: Drawing, args: argparse.Namespace, config: Any,
                  extra: tuple[ControlEvent, ...]) -> list[Any] | None:
    """A drawing that recorded a score performance (its transport) replays it: the strokes, controls and edits
    at their times and the score's notes as the live player posted them (with the session's OSC latency, which
    sets how early notes were posted). One saved in score mode without one replays as its score: the page,
    --loops passes (default 1) at the tempo it recorded (a flag wins). None for any other drawing: it replays as
    it was drawn."""
    from bridge.app.score_player import performance_events
    from bridge.core.score import has_performance

    if has_performance(drawing):
        return performance_events(drawing, latency_ms=config.osc_latency_ms, extra_controls=extra)
    if drawing.score is None:
        return None
    from bridge.core.score import score_events

    return score_events(drawing, score_settings(args, drawing.score, configured=config.score), loop_count(args))


def replay_mode(drawing: Drawing, session_mode: PlayMode, args: argparse.Namespace) -> PlayMode:
    """The play mode the drawing recorded; a --label-by or --onset flag wins, and a drawing that recorded
    none plays with the session's mode."""
    mode = drawing.mode or session_mode
    flags = {key: getattr(args, key, None) for key in ("label_by", "onset")}
    return replace(mode, **{key: value for key, value in flags.items() if value is not None})


def _summary(path: Path, drawing: Drawing, result: Any, late: dict[str, float] | None) -> str:
    line = (f"{path}: {len(drawing.strokes)} strokes, {result.play_count} notes, "
            f"{len(result.bundles)} OSC bundles in {result.wall_s:.2f} s")
    if late is not None:
        line += f" (late by p50 {late['p50']:.2f} ms, p99 {late['p99']:.2f} ms, max {late['max']:.2f} ms)"
    return line


def _midi_controls(path: Path, mapping: dict[str, Any]) -> tuple[ControlEvent, ...]:
    from bridge.adapters.midi_file import midi_file_controls
    from bridge.core.midi_mapping import MidiMapping

    return midi_file_controls(path, MidiMapping.from_dict(mapping))


def _onsets(result: Any, *, offset_ms: float) -> list[Any]:
    from bridge.adapters.render_wav import play_onsets

    return play_onsets(result.bundles, offset_ms=offset_ms)


def _render(onsets: list[Any], args: argparse.Namespace) -> None:
    from bridge.adapters.render_wav import render_wav

    report = render_wav(onsets, args.render, sample_rate_hz=args.render_rate, subtype=args.render_format)
    for path in report.missing:
        print(f"{path}: warning: sample cannot be read; left out of the bounce", file=sys.stderr)
    print(report.summary())


def _write_midi(bundles: list[tuple[float, Any]], path: Path, config: Any, bank: Any) -> None:
    """The replayed notes as a MIDI file, through the live MIDI out's mapping ([midi.out])."""
    from bridge.adapters.midi_out_mido import write_midi_file
    from bridge.adapters.sample_info import SampleLengths
    from bridge.core.midi_out import MidiOutMapping, sample_notes

    if not any(bundle.find("play") is not None for _, bundle in bundles):
        print(f"{path}: nothing was played, so no MIDI file was written", file=sys.stderr)
        return
    mapping = MidiOutMapping.from_dict(config.midi_out_options)
    report = write_midi_file(path, bundles, mapping=mapping, sample_length_ms=SampleLengths(),
                             sample_note=sample_notes(bank) if mapping.note == "sample" else None)
    print(report.summary())


def _open_window() -> Any:
    from bridge.adapters.replay_window import ReplayWindow

    return ReplayWindow()


def _let_ring(audio: Any) -> None:
    """Give the last locally played note time to sound before the mixer closes (at most MAX_TAIL_S)."""
    if not getattr(audio, "enabled", False) or not audio.played:
        return
    try:
        import soundfile

        tail_s = min(soundfile.info(audio.played[-1]).duration, MAX_TAIL_S)
    except Exception:  # unknown length: a short grace period
        tail_s = 1.0
    time.sleep(tail_s)
