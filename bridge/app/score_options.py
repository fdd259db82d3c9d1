"""The score's command-line options, shared by `play`, `replay` and `score`: loop length, tempo and loop.

    --seconds S              one pass of the playhead lasts S seconds, or
    --bpm B [--bars N]       N bars of 4/4 at B bpm (default 120 bpm, 2 bars: 4 s)
    --no-loop                play one pass, then stop
    --score                  (play) start the canvas in score mode
    --midi-clock             (play) incoming MIDI clock drives the playhead (the config's [score] midi_clock;
                             read by bridge.app.config like the other session flags)

Settings come in layers, each over the one before: the defaults, the config file's [score] table, what a
drawing recorded, the flags. A bad value is one ConfigError line naming the flag.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from bridge.core.errors import ConfigError
from bridge.core.score import ScoreError, ScoreSettings


def add_score_options(parser: argparse.ArgumentParser, *, switch: bool = False, loops: bool = False) -> None:
    """The tempo options; `switch` adds --score (the canvas), `loops` adds --loops N (offline and replay)."""
    group = parser.add_argument_group("score (the canvas as a graphic score: a playhead sweeps it left to right)")
    if switch:
        group.add_argument("--score", action="store_true",
                           help="start in score mode: every stroke sounds when the playhead reaches it (key S)")
        group.add_argument("--midi-clock", action="store_true", default=None,
                           help="follow incoming MIDI clock (--midi-in): its tempo and song position drive the "
                                "playhead, its start/stop/continue the transport")
    group.add_argument("--seconds", type=float, metavar="S", help="one pass of the playhead lasts S seconds")
    group.add_argument("--bpm", type=float, metavar="B", help="tempo of the pass in bpm (default 120)")
    group.add_argument("--bars", type=int, metavar="N", help="bars of 4/4 in one pass (default 2)")
    group.add_argument("--no-loop", dest="loop", action="store_false", default=None,
                       help="play one pass and stop (default: loop)")
    if loops:
        group.add_argument("--loops", type=int, metavar="N", help="passes to play (default 1)")


def score_settings(args: argparse.Namespace, recorded: ScoreSettings | None = None, *,
                   configured: ScoreSettings | None = None) -> ScoreSettings:
    """The settings the flags give, on top of `recorded` (a drawing's), else `configured` (the config file's
    [score] table), else the defaults."""
    seconds, bpm, bars, loop = (getattr(args, key, None) for key in ("seconds", "bpm", "bars", "loop"))
    base = recorded or configured or ScoreSettings()
    if seconds is not None and (bpm is not None or bars is not None):
        raise ConfigError("--seconds: give either --seconds or --bpm/--bars, not both")
    try:
        if seconds is not None:
            return ScoreSettings.from_seconds(seconds, loop=base.loop if loop is None else loop)
        changes = {key: value for key, value in (("bpm", bpm), ("bars", bars), ("loop", loop)) if value is not None}
        return replace(base, **changes)
    except ScoreError as exc:
        raise ConfigError(f"--{exc.where}: {exc.problem}") from None


def loop_count(args: argparse.Namespace, default: int = 1) -> int:
    """--loops N (1..10000); ConfigError otherwise."""
    loops = getattr(args, "loops", None)
    if loops is None:
        return default
    if not 1 <= loops <= 10_000:
        raise ConfigError(f"--loops: expected 1..10000 passes, got {loops}")
    return loops
