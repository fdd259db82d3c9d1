"""The engine's one vocabulary: every input (canvas, MIDI, OSC control, replay, tests) is one of these events.

Events are immutable values. `t_ms` is the time on the session clock (ms since the drawing started);
an input that has no clock of its own (a MIDI or OSC control) leaves it `None` and the live session
stamps it when the event is posted. `Engine.handle(event)` runs any of them.

The control events (`SetOverride`, `ReleaseOverrides`, `Trigger`) are also what a saved drawing
records in its `controls` list, so a replay feeds the engine exactly what the live session got.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bridge.core.labels import HEADS, check_class
from bridge.errors import LabelError

if TYPE_CHECKING:
    from bridge.core.drawing import Drawing, Stroke


def _time(t_ms: float | None) -> float | None:
    """Times are kept to 0.001 ms, as the saved drawing keeps them, so live and replay agree exactly."""
    return None if t_ms is None else round(float(t_ms), 3)


@dataclass(frozen=True, kw_only=True)
class _Event:
    t_ms: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_ms", _time(self.t_ms))

    def at(self, t_ms: float) -> Any:
        """This event stamped with a time (a copy)."""
        return replace(self, t_ms=t_ms)


@dataclass(frozen=True, kw_only=True)
class PenDown(_Event):
    """The pen touches the canvas: a new stroke (and, with the pen tool, a new voice) begins."""

    x: float
    y: float
    color: str
    width_px: float
    tool: str = "pen"


@dataclass(frozen=True, kw_only=True)
class PenMove(_Event):
    x: float
    y: float


@dataclass(frozen=True, kw_only=True)
class PenUp(_Event):
    pass


@dataclass(frozen=True, kw_only=True)
class SetOverride(_Event):
    """Force one label for the voice being drawn and for triggers; value None releases that head."""

    head: str
    value: int | str | None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.head not in HEADS:
            raise LabelError(f"override head: expected one of {', '.join(HEADS)}, got {self.head!r}")
        if self.value is not None:
            check_class(self.head, self.value)


@dataclass(frozen=True, kw_only=True)
class ReleaseOverrides(_Event):
    pass


@dataclass(frozen=True, kw_only=True)
class Trigger(_Event):
    """Play the current match now, as voice 0."""


@dataclass(frozen=True, kw_only=True)
class Clear(_Event):
    """Clear the canvas: every sounding voice is cut."""


@dataclass(frozen=True, kw_only=True)
class LoadDrawing(_Event):
    """Replace the whole drawing (undo, redo, open a file); voices of strokes no longer in it are cut."""

    drawing: Drawing


@dataclass(frozen=True, kw_only=True)
class ScoreNoteOn(_Event):
    """The score's playhead reached a stroke's leftmost ink: it sounds as a new voice (a fresh id).

    note: the score's key for this note; its ScoreNoteOff names the same key. due_unix_s: when the note is
    due in Unix time, when it was scheduled ahead (the OSC timetag); not part of the event's value."""

    stroke: Stroke
    note: int
    due_unix_s: float | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class ScoreNoteOff(_Event):
    """The playhead passed the stroke's rightmost ink: the note's voice stops (if it still sounds)."""

    note: int
    due_unix_s: float | None = field(default=None, compare=False)


SCORE_STATES = ("playing", "stopped")


@dataclass(frozen=True, kw_only=True)
class ScoreState(_Event):
    """The score's transport started, stopped or changed tempo; stopping cuts every sounding score note."""

    state: str
    bpm: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.state not in SCORE_STATES:
            raise ValueError(f"score state: expected one of {', '.join(SCORE_STATES)}, got {self.state!r}")
        if not (isinstance(self.bpm, int | float) and math.isfinite(self.bpm) and self.bpm > 0):
            raise ValueError(f"score tempo: expected bpm > 0, got {self.bpm!r}")


@dataclass(frozen=True, kw_only=True)
class ScorePlayhead(_Event):
    """Where the playhead is, 0..1 across the canvas (sent at a limited rate while the score plays)."""

    position: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.position, int | float) and 0.0 <= self.position <= 1.0):
            raise ValueError(f"playhead position: expected 0..1, got {self.position!r}")


TRANSPORT_ACTIONS = ("start", "stop", "continue", "tempo", "position", "loop")


@dataclass(frozen=True, kw_only=True)
class TransportControl(_Event):
    """A transport command for the score player (keys, OSC, MIDI start/stop/continue): start, stop, continue,
    tempo (value = bpm), position (value = 0..1) or loop (value 1 = on, 0 = off). The live session hands
    it to the score player; the engine never sees it. Ranges are checked where the value is applied."""

    action: str
    value: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.action not in TRANSPORT_ACTIONS:
            raise ValueError(f"transport: expected one of {', '.join(TRANSPORT_ACTIONS)}, got {self.action!r}")
        if (self.value is None) != (self.action in ("start", "stop", "continue")):
            raise ValueError(f"transport {self.action}: " + (
                "takes no value" if self.value is not None else "needs a value"))


ControlEvent = SetOverride | ReleaseOverrides | Trigger
ScoreEvent = ScoreNoteOn | ScoreNoteOff | ScoreState | ScorePlayhead
Event = (PenDown | PenMove | PenUp | SetOverride | ReleaseOverrides | Trigger | Clear | LoadDrawing | ScoreNoteOn
         | ScoreNoteOff | ScoreState | ScorePlayhead)
CONTROL_EVENTS: tuple[type, ...] = (SetOverride, ReleaseOverrides, Trigger)
