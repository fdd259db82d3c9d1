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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.adapters.drawing_files import read_drawing
from bridge.app.config import Config, add_session_options, load_config
from bridge.app.score_options import add_score_options, loop_count, score_settings
from bridge.core.drawing import Drawing, PlayMode
from bridge.core.errors import DrawingError
from bridge.core.events import ControlEvent
from bridge.ui.replay_window import ReplayClosed

if TYPE_CHECKING:
    from bridge.adapters.audio_pygame import LocalAudio
    from bridge.adapters.render_wav import Onset
    from bridge.app.replayer import ReplayResult
    from bridge.app.session import SessionParts
    from bridge.core.bank import SoundBank
    from bridge.core.events import Event
    from bridge.core.protocol import Bundle
    from bridge.ui.replay_window import ReplayWindow

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


def _natural_key(path: Path) -> list[int | str]:
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


@dataclass(frozen=True)
class _Inputs:
    """What the command line asks for, checked: the drawing files (and the arguments that named none),
    the session's configuration, and what holds for every drawing."""

    files: list[Path]
    missing: list[str]
    config: Config
    flagged_language: Path | None  # --language: wins over the language file each drawing recorded
    extra: tuple[ControlEvent, ...]  # the --midi-file controls
    speed: float | None  # None: --fast


@dataclass
class _Played:
    """What the replayed drawings leave for after the session closes: the drawings that failed, and the
    bounce's onsets and the --midi file's bundles on one timeline (the first event at 0, DRAWING_GAP_MS
    between drawings)."""

    failures: list[str]
    onsets: list[Onset] = field(default_factory=list)
    midi_bundles: list[tuple[float, Bundle]] = field(default_factory=list)  # (t_ms on the timeline, bundle)
    timeline_ms: float = 0.0

    def add(self, result: ReplayResult, *, render: bool, midi: bool) -> None:
        offset_ms = self.timeline_ms - result.first_t_ms
        if render:
            self.onsets.extend(_onsets(result, offset_ms=offset_ms))
        if midi:
            self.midi_bundles.extend((t_ms + offset_ms, bundle) for t_ms, bundle in result.bundles)
        if render or midi:
            self.timeline_ms += result.last_t_ms - result.first_t_ms + DRAWING_GAP_MS


def run(args: argparse.Namespace) -> int:
    from bridge.app.session import build_session

    inputs = _inputs(args)
    parts = build_session(replace(inputs.config, language=None), start=False)  # each drawing's language: _play
    window = _open_window() if args.show else None
    played = _Played(failures=list(inputs.missing))
    try:
        _play_all(inputs, parts, window, played, args)
        _let_finish(parts, inputs.speed, window)
    except ReplayClosed:
        print("replay stopped: window closed", file=sys.stderr)
        return 130
    finally:
        if window is not None:
            window.close()
        parts.close()
    return _report(played, inputs, parts.bank, args)


def _inputs(args: argparse.Namespace) -> _Inputs:
    """The drawing files and the configuration; a line on stderr for each argument that names no drawing."""
    files, missing = expand_paths(args.drawings)
    for line in missing:
        print(line, file=sys.stderr)
    # a replay takes no live control input, and advertises no OSC namespace (OSCQuery) to control
    config = replace(load_config(args), control_port=None, oscquery=False)
    return _Inputs(files=files, missing=missing, config=config,
                   flagged_language=config.language if args.language is not None else None,
                   extra=_midi_controls(args.midi_file, config.midi_mapping) if args.midi_file else (),
                   speed=None if args.fast else args.speed)


def _play_all(inputs: _Inputs, parts: SessionParts, window: ReplayWindow | None, played: _Played,
              args: argparse.Namespace) -> None:
    """Replay the drawings in order, DRAWING_GAP_MS apart in real time; a drawing that cannot be read or
    that fails while replaying is a failure, and the others go on."""
    from bridge.app.session import session_meta

    current = session_meta(parts.classifier, parts.bank)
    replayed = 0
    for path in inputs.files:
        drawing = _checked_drawing(path, current)
        if drawing is None:
            played.failures.append(str(path))
            continue
        if replayed and inputs.speed is not None:
            time.sleep(DRAWING_GAP_MS / inputs.speed / 1000.0)
        replayed += 1
        if window is not None:
            window.start(path.name, of=len(inputs.files))
        result = _play(path, drawing, inputs, parts, window, args)
        if not _told(path, drawing, result, inputs.speed):
            played.failures.append(str(path))
        played.add(result, render=bool(args.render), midi=bool(args.midi))


def _checked_drawing(path: Path, current: dict[str, str]) -> Drawing | None:
    """The drawing in `path`, with a warning for each version it was saved with that differs from the
    session's; None (said on stderr) when it cannot be used."""
    from bridge.app.replayer import version_mismatches

    try:
        drawing = read_drawing(path)
    except DrawingError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return None
    for problem in version_mismatches(drawing, current):
        print(f"{path}: warning: {problem}; labels and matches may differ", file=sys.stderr)
    return drawing


def _play(path: Path, drawing: Drawing, inputs: _Inputs, parts: SessionParts, window: ReplayWindow | None,
          args: argparse.Namespace) -> ReplayResult:
    """Replay one drawing through an engine set up as it was played (mode, palette, language) into the
    session's sinks; its ReplayResult."""
    from bridge.adapters.language_files import replay_language
    from bridge.app.replayer import replay_drawing
    from bridge.app.session import build_engine, engine_config
    from bridge.core.bank import CANVAS_REGISTER

    config = inputs.config
    settings = replace(engine_config(config), mode=replay_mode(drawing, config.mode, args),
                       palette=drawing.palette,  # the timbres it was played with
                       register=CANVAS_REGISTER)  # a drawing made in another register records it
    gestures, problems = replay_language(drawing.meta, inputs.flagged_language, config.language)
    for problem in problems:
        print(f"{path}: warning: {problem}", file=sys.stderr)
    engine = build_engine(parts.classifier, parts.bank, matcher=parts.matcher, engine_config=settings,
                          gestures=gestures)
    return replay_drawing(drawing, engine, parts.session.sinks, speed=inputs.speed, extra_controls=inputs.extra,
                          events=_score_events(drawing, args, config, inputs.extra), on_event=window)


def _told(path: Path, drawing: Drawing, result: ReplayResult, speed: float | None) -> bool:
    """Print the drawing's summary line and its errors (on stderr); whether it replayed without error."""
    from bridge.app.replayer import describe_lateness

    print(_summary(path, drawing, result, describe_lateness(result.lateness_ms) if speed else None))
    for error in result.errors:
        print(f"{path}: error during replay: {error}", file=sys.stderr)
    return not result.errors


def _let_finish(parts: SessionParts, speed: float | None, window: ReplayWindow | None) -> None:
    """In real time, let the last notes sound (local audio) and end (MIDI out); with --show, keep the last
    picture and its notes up until the window is closed."""
    if speed is not None and parts.audio is not None:
        if parts.audio_feed is not None:
            parts.audio_feed.flush()  # the last notes have started
        _let_ring(parts.audio)
    if speed is not None and parts.midi_out is not None:  # the last notes end with their samples, as in --midi
        parts.midi_out.wait_sample_ends(MAX_TAIL_S)
    if window is not None:
        window.wait_closed()


def _report(played: _Played, inputs: _Inputs, bank: SoundBank, args: argparse.Namespace) -> int:
    """Write the --midi file and the --render bounce, say how many drawings failed; the exit code."""
    if args.midi:
        _write_midi(played.midi_bundles, args.midi, inputs.config, bank)
    if args.render and played.onsets:
        _render(played.onsets, args)
    elif args.render:
        print(f"{args.render}: nothing was played, so no WAV was written", file=sys.stderr)
    if played.failures:
        print(f"{len(played.failures)} of {len(inputs.files) + len(inputs.missing)} drawings failed", file=sys.stderr)
    return 1 if played.failures else 0


def _score_events(drawing: Drawing, args: argparse.Namespace, config: Config,
                  extra: tuple[ControlEvent, ...]) -> list[Event] | None:
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


def _summary(path: Path, drawing: Drawing, result: ReplayResult, late: dict[str, float] | None) -> str:
    line = (f"{path}: {len(drawing.strokes)} strokes, {result.play_count} notes, "
            f"{len(result.bundles)} OSC bundles in {result.wall_s:.2f} s")
    if late is not None:
        line += f" (late by p50 {late['p50']:.2f} ms, p99 {late['p99']:.2f} ms, max {late['max']:.2f} ms)"
    return line


def _midi_controls(path: Path, mapping: dict[str, Any]) -> tuple[ControlEvent, ...]:
    from bridge.adapters.midi_file import midi_file_controls
    from bridge.core.midi_mapping import MidiMapping

    return midi_file_controls(path, MidiMapping.from_dict(mapping))


def _onsets(result: ReplayResult, *, offset_ms: float) -> list[Onset]:
    from bridge.adapters.render_wav import play_onsets

    return play_onsets(result.bundles, offset_ms=offset_ms)


def _render(onsets: list[Onset], args: argparse.Namespace) -> None:
    from bridge.adapters.render_wav import render_wav

    report = render_wav(onsets, args.render, sample_rate_hz=args.render_rate, subtype=args.render_format)
    for path in report.missing:
        print(f"{path}: warning: sample cannot be read; left out of the bounce", file=sys.stderr)
    print(report.summary())


def _write_midi(bundles: list[tuple[float, Bundle]], path: Path, config: Config, bank: SoundBank) -> None:
    """The replayed notes as a MIDI file, through the live MIDI out's mapping ([midi.out])."""
    from bridge.adapters.midi_file import write_midi_file
    from bridge.adapters.sample_info import SampleLengths
    from bridge.core.midi_out import MidiOutMapping, sample_notes

    if not any(bundle.find("play") is not None for _, bundle in bundles):
        print(f"{path}: nothing was played, so no MIDI file was written", file=sys.stderr)
        return
    mapping = MidiOutMapping.from_dict(config.midi_out_options)
    report = write_midi_file(path, bundles, mapping=mapping, sample_length_ms=SampleLengths(),
                             sample_note=sample_notes(bank) if mapping.note == "sample" else None)
    print(report.summary())


def _open_window() -> ReplayWindow:
    from bridge.ui.replay_window import ReplayWindow

    return ReplayWindow()


def _let_ring(audio: LocalAudio) -> None:
    """Give the last locally played note time to sound before the mixer closes (at most MAX_TAIL_S)."""
    if not getattr(audio, "enabled", False) or not audio.played:
        return
    try:
        import soundfile

        tail_s = min(soundfile.info(audio.played[-1]).duration, MAX_TAIL_S)
    except Exception:  # unknown length: a short grace period
        tail_s = 1.0
    time.sleep(tail_s)
