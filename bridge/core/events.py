"""The engine's one vocabulary: every input (canvas, MIDI, OSC control, replay, tests) is one of these events.

Events are immutable values. `t_ms` is the time on the session clock (ms since the drawing started);
an input that has no clock of its own (a MIDI or OSC control) leaves it `None` and the live session
stamps it when the event is posted. `Engine.handle(event)` runs any of them.

The control events (`SetOverride`, `ReleaseOverrides`, `Trigger`, `EditPage`, and the score's `TransportControl`
as the player applied it) are also what a saved drawing records in its `controls` list, so a replay feeds the
engine and the score player exactly what the live session got.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Self

from bridge.core.bank import check_register
from bridge.core.errors import LabelError
from bridge.core.labels import HEADS, check_class

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

    def at(self, t_ms: float) -> Self:
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
class SetRegister(_Event):
    """Prefer samples in this register (octave; bridge.core.bank: N holds A{N}..G#{N+1}, the canvas's is 4)
    among equally good matches, for the voice being drawn and from then on."""

    register: int

    def __post_init__(self) -> None:
        super().__post_init__()
        check_register(self.register)


@dataclass(frozen=True, kw_only=True)
class Clear(_Event):
    """Clear the canvas: every sounding voice is cut."""


@dataclass(frozen=True, kw_only=True)
class LoadDrawing(_Event):
    """Replace the whole drawing (undo, redo, open a file); voices of strokes no longer in it are cut."""

    drawing: Drawing


@dataclass(frozen=True, kw_only=True)
class EditPage(_Event):
    """Undo or redo: the page holds these finished strokes now. The engine cuts the voices of strokes that left it
    and records the edit (a saved drawing keeps the strokes that left in `undone`), so a replay repeats it."""

    strokes: tuple[Stroke, ...]


@dataclass(frozen=True, kw_only=True)
class SetLanguage(_Event):
    """Recognise taught shapes with `recognise` (bridge.core.language.Recogniser; None: no language) from the
    next pen up on; `record` is what the drawing keeps of it (meta "language": its path and hash). The canvas
    sends it when a shape is taught; a replay uses the language the drawing names."""

    recognise: Any = field(default=None, compare=False)
    record: dict[str, str] | None = None


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
# Following MIDI clock (bridge.core.midi_clock): a timing clock tick and a song position pointer (value = MIDI
# beats, sixteenth notes) from MIDI, and the player's alignment to that clock (value = the playhead's position
# in passes, bpm = the clock's tempo), which a drawing records.
CLOCK_ACTIONS = ("clock", "songpos", "sync")


@dataclass(frozen=True, kw_only=True)
class TransportControl(_Event):
    """A transport command for the score player (keys, OSC, MIDI start/stop/continue): start, stop, continue,
    tempo (value = bpm), position (value = 0..1) or loop (value 1 = on, 0 = off); or one of CLOCK_ACTIONS. The
    live session hands it to the score player; the engine only records the ones the player applied
    (ScoreTransport). Ranges are checked where the value is applied."""

    action: str
    value: float | None = None
    bpm: float | None = None  # sync only

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.action not in (*TRANSPORT_ACTIONS, *CLOCK_ACTIONS):
            raise ValueError(f"transport: expected one of {', '.join(TRANSPORT_ACTIONS)}, got {self.action!r}")
        if (self.value is None) != (self.action in ("start", "stop", "continue", "clock")):
            raise ValueError(f"transport {self.action}: " + (
                "takes no value" if self.value is not None else "needs a value"))
        if (self.bpm is not None) != (self.action == "sync"):
            raise ValueError(f"transport {self.action}: " + ("takes no bpm" if self.bpm is not None else "needs a bpm"))


@dataclass(frozen=True, kw_only=True)
class ScoreTransport(_Event):
    """A transport control as the score player applied it, at t_ms: the engine records `control` in the drawing's
    controls, so a replay repeats it, and sends nothing. `settings` (bridge.core.score.ScoreSettings) are the
    score's settings it was applied to: the first of a take is where the performance started from."""

    control: TransportControl
    settings: Any


ControlEvent = SetOverride | ReleaseOverrides | Trigger | TransportControl | SetRegister | EditPage
ScoreEvent = ScoreNoteOn | ScoreNoteOff | ScoreState | ScorePlayhead
Event = (PenDown | PenMove | PenUp | SetOverride | ReleaseOverrides | Trigger | Clear | LoadDrawing | ScoreNoteOn
         | ScoreNoteOff | ScoreState | ScorePlayhead | ScoreTransport | SetRegister | EditPage | SetLanguage)
# What a live session takes: the engine's events, and the transport controls it hands to the score player.
SessionInput = Event | TransportControl
CONTROL_EVENTS: tuple[type, ...] = (SetOverride, ReleaseOverrides, Trigger, SetRegister)
