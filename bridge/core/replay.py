"""A saved drawing as the sequence of events that made it (pure; used by replay and tests).

Feeding these events to an `Engine` in order reproduces the live session's bundles exactly: the
engine schedules classification by the recorded `t_ms`, never by wall time.
"""

from __future__ import annotations

from bridge.core.drawing import Drawing
from bridge.core.events import ControlEvent, PenDown, PenMove, PenUp, SessionInput


def session_events(drawing: Drawing, extra_controls: tuple[ControlEvent, ...] = ()) -> list[SessionInput]:
    """Strokes (pen down, moves, pen up; those an edit took off the page too) and controls merged in time order,
    every event with its t_ms.

    A control at the same t_ms as a stroke point comes after it (the stroke was already there).
    The pen-up of a stroke happens at its last point's time.
    """
    keyed: list[tuple[float, int, int, SessionInput]] = []
    for stroke in (*drawing.strokes, *drawing.undone):
        first, *rest = stroke.points
        keyed.append((first.t_ms, 0, len(keyed), PenDown(t_ms=first.t_ms, x=first.x, y=first.y, color=stroke.color,
                                                         width_px=stroke.width_px, tool=stroke.tool)))
        for point in rest:
            keyed.append((point.t_ms, 0, len(keyed), PenMove(t_ms=point.t_ms, x=point.x, y=point.y)))
        end = stroke.points[-1].t_ms
        keyed.append((end, 0, len(keyed), PenUp(t_ms=end)))
    for control in (*drawing.controls, *extra_controls):
        assert control.t_ms is not None, "recorded controls carry their time"
        keyed.append((control.t_ms, 1, len(keyed), control))
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]
