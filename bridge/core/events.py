"""The engine's one vocabulary: every input (canvas, MIDI, OSC control, replay, tests) is one of these events.

Events are immutable values. `t_ms` is the time on the session clock (ms since the drawing started);
an input that has no clock of its own (a MIDI or OSC control) leaves it `None` and the live session
stamps it when the event is posted. `Engine.handle(event)` runs any of them.

The control events (`SetOverride`, `ReleaseOverrides`, `Trigger`) are also what a saved drawing
records in its `controls` list, so a replay feeds the engine exactly what the live session got.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bridge.core.labels import HEADS, check_class
from bridge.errors import LabelError

if TYPE_CHECKING:
    from bridge.core.drawing import Drawing


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


ControlEvent = SetOverride | ReleaseOverrides | Trigger
Event = PenDown | PenMove | PenUp | SetOverride | ReleaseOverrides | Trigger | Clear | LoadDrawing
CONTROL_EVENTS: tuple[type, ...] = (SetOverride, ReleaseOverrides, Trigger)
