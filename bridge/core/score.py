"""The canvas as a graphic score (pure): loop settings, each stroke's span and the notes of one pass.

A playhead sweeps the 400 px canvas from left to right once per loop. A pen stroke sounds, as a voice of
its own, when the playhead reaches its leftmost ink (x_min - width/2) and stops when it passes its
rightmost ink (x_max + width/2), both clamped to the canvas: a stroke's length is its note's length.
Eraser strokes are silent.

Positions are in loops: pass k spans positions k..k+1, and a canvas x is the fraction x / 400 of a pass.
The live player (bridge/app/score_player.py) turns positions into instants of one clock; the offline
score (`score_events`) turns them into t_ms. Both use `stroke_spans` and `pass_notes`, so a bounce and
a live performance of the same page and settings play the same notes at the same positions.

Loop length: `bars` bars of 4/4 at `bpm` (loop_ms = bars * 4 * 60000 / bpm). `--seconds S` is stored as
one bar at 240 / S bpm, so every loop has a tempo and a tempo change keeps its bars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bridge.core.errors import BridgeError
from bridge.core.events import Event, LoadDrawing, ScoreNoteOff, ScoreNoteOn, ScoreState, TransportControl
from bridge.core.labels import CANVAS_SIZE_PX

if TYPE_CHECKING:
    from bridge.core.drawing import Drawing, Stroke

BEATS_PER_BAR = 4  # 4/4
BPM_RANGE = (1.0, 999.0)
BARS_RANGE = (1, 256)
LOOP_MS_RANGE = (250.0, 600_000.0)  # a quarter of a second to ten minutes a pass
SECONDS_RANGE = (LOOP_MS_RANGE[0] / 1000.0, LOOP_MS_RANGE[1] / 1000.0)
SETTINGS_KEYS = ("bpm", "bars", "seconds", "loop")


class ScoreError(BridgeError, ValueError):
    """Score settings out of range; `where` names the setting (a flag, a JSON field)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class ScoreSettings:
    """How long one pass of the playhead lasts (bars of 4/4 at bpm) and whether it loops."""

    bpm: float = 120.0
    bars: int = 2
    loop: bool = True

    def __post_init__(self) -> None:
        if not _number(self.bpm) or not BPM_RANGE[0] <= self.bpm <= BPM_RANGE[1]:
            raise ScoreError("bpm", f"expected a tempo of {BPM_RANGE[0]:g}..{BPM_RANGE[1]:g} bpm, got {self.bpm!r}")
        low_bars, high_bars = BARS_RANGE
        if isinstance(self.bars, bool) or not isinstance(self.bars, int) or not low_bars <= self.bars <= high_bars:
            raise ScoreError("bars", f"expected a whole number of bars {low_bars}..{high_bars}, got {self.bars!r}")
        if not isinstance(self.loop, bool):
            raise ScoreError("loop", f"expected true or false, got {self.loop!r}")
        object.__setattr__(self, "bpm", float(self.bpm))
        low, high = LOOP_MS_RANGE
        if not low <= self.loop_ms <= high:
            raise ScoreError("bpm", f"{self.bars} bars at {self.bpm:g} bpm last {self.loop_ms / 1000:g} s; a pass "
                             f"lasts {low / 1000:g}..{high / 1000:g} s")

    @classmethod
    def from_seconds(cls, seconds: float, *, loop: bool = True) -> ScoreSettings:
        """A pass of `seconds`, stored as one bar at 240 / seconds bpm."""
        if not _number(seconds) or not SECONDS_RANGE[0] <= seconds <= SECONDS_RANGE[1]:
            raise ScoreError("seconds", f"expected a pass of {SECONDS_RANGE[0]:g}..{SECONDS_RANGE[1]:g} s, "
                             f"got {seconds!r}")
        return cls(bpm=BEATS_PER_BAR * 60.0 / seconds, bars=1, loop=loop)

    @property
    def loop_ms(self) -> float:
        return self.bars * BEATS_PER_BAR * 60_000.0 / self.bpm

    def with_tempo(self, bpm: float) -> ScoreSettings:
        """The same bars at another tempo (ScoreError when out of range)."""
        return replace(self, bpm=bpm)

    def to_json_dict(self) -> dict[str, Any]:
        return {"bpm": _compact(self.bpm), "bars": self.bars, "loop": self.loop}


def settings_from_dict(doc: Any, where: str = "score") -> ScoreSettings:
    """{"bpm": 120, "bars": 2, "loop": true} or {"seconds": 4, "loop": false}; missing keys keep their
    defaults. ScoreError names the field (`score.bpm`)."""
    if not isinstance(doc, Mapping):
        raise ScoreError(where, f"expected an object such as {{\"bpm\": 120, \"bars\": 2, \"loop\": true}}, "
                         f"got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(SETTINGS_KEYS), key=str)
    if unknown:
        raise ScoreError(f"{where}.{unknown[0]}", f"unknown key; expected {', '.join(SETTINGS_KEYS)}")
    if "seconds" in doc and ("bpm" in doc or "bars" in doc):
        raise ScoreError(f"{where}.seconds", "give either seconds or bpm and bars, not both")
    try:
        if "seconds" in doc:
            return ScoreSettings.from_seconds(doc["seconds"], loop=doc.get("loop", True))
        return ScoreSettings(**{key: doc[key] for key in ("bpm", "bars", "loop") if key in doc})
    except ScoreError as exc:
        raise ScoreError(f"{where}.{exc.where}", exc.problem) from None


def has_performance(drawing: Drawing) -> bool:
    """Whether the drawing recorded the score's transport as it was played (a performance to replay)."""
    return any(isinstance(control, TransportControl) for control in drawing.controls)


# -- spans and passes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Where a stroke sounds within a pass: from `start` to `end`, fractions 0..1 of the canvas width."""

    stroke: Stroke
    start: float
    end: float


@dataclass(frozen=True)
class ScoreNote:
    """One note of the score: its stroke and its on and off positions in loops (pass k: k..k+1)."""

    stroke: Stroke
    on: float
    off: float


def stroke_span(stroke: Stroke, width_px: float = CANVAS_SIZE_PX) -> Span | None:
    """The stroke's ink from left to right as fractions of the canvas; None for an eraser or ink off the canvas."""
    if stroke.tool != "pen":
        return None
    half = stroke.width_px / 2.0
    left = min(p.x for p in stroke.points) - half
    right = max(p.x for p in stroke.points) + half
    start, end = (min(max(x, 0.0), width_px) / width_px for x in (left, right))
    return Span(stroke, start, end) if end > start else None


def stroke_spans(strokes: Iterable[Stroke]) -> list[Span]:
    """The spans of the strokes that sound, in drawing order."""
    return [span for span in map(stroke_span, strokes) if span is not None]


def pass_notes(spans: Sequence[Span], k: int, *, from_fraction: float = 0.0) -> list[ScoreNote]:
    """The notes of pass k (positions k..k+1) whose start is at or after `from_fraction` of the pass,
    in order of their start (drawing order among equal starts)."""
    notes = [ScoreNote(span.stroke, k + span.start, k + span.end) for span in spans if span.start >= from_fraction]
    return sorted(notes, key=lambda note: note.on)


# -- the offline score ---------------------------------------------------------------------------------


def score_events(drawing: Drawing, settings: ScoreSettings, loops: int, *, first_note: int = 1) -> list[Event]:
    """The events of `loops` passes of the drawing as a score, from t_ms 0: the page loaded, the transport
    playing, each note's on and off (an off before an on at the same time, as one pass ends where the
    next begins), and the transport stopped at the end. Note keys count from `first_note`."""
    if isinstance(loops, bool) or not isinstance(loops, int) or loops < 1:
        raise ScoreError("loops", f"expected a whole number of passes >= 1, got {loops!r}")
    loop_ms = settings.loop_ms
    spans = stroke_spans(drawing.strokes)
    timed: list[tuple[float, int, int, Event]] = []
    note = first_note
    for k in range(loops):
        for score_note in pass_notes(spans, k):
            on_ms, off_ms = score_note.on * loop_ms, score_note.off * loop_ms
            timed.append((on_ms, 1, note, ScoreNoteOn(t_ms=on_ms, stroke=score_note.stroke, note=note)))
            timed.append((off_ms, 0, note, ScoreNoteOff(t_ms=off_ms, note=note)))
            note += 1
    end_ms = loops * loop_ms
    timed.sort(key=lambda item: item[:3])
    return [LoadDrawing(t_ms=0.0, drawing=drawing), ScoreState(t_ms=0.0, state="playing", bpm=settings.bpm),
            *(item[3] for item in timed), ScoreState(t_ms=end_ms, state="stopped", bpm=settings.bpm)]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _compact(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
