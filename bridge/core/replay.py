"""A saved drawing as the sequence of engine calls that made it (pure; used by replay and tests).

Feeding these calls to an `Engine` in order reproduces the live session's bundles exactly: the
engine schedules classification by the recorded `t_ms`, never by wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.core.drawing import Control, Drawing


@dataclass(frozen=True)
class EngineCall:
    """One engine method call: `getattr(engine, event)(**kwargs)`; kwargs include t_ms."""

    t_ms: float
    event: str
    kwargs: dict[str, Any]


def session_events(drawing: Drawing, extra_controls: tuple[Control, ...] = ()) -> list[EngineCall]:
    """Strokes (pen down, moves, pen up) and controls merged in time order.

    A control at the same t_ms as a stroke point comes after it (the stroke was already there).
    The pen-up of a stroke happens at its last point's time.
    """
    calls: list[tuple[float, int, int, EngineCall]] = []
    seq = 0
    for stroke in drawing.strokes:
        first, *rest = stroke.points
        kwargs = {"x": first.x, "y": first.y, "t_ms": first.t_ms, "color": stroke.color,
                  "width_px": stroke.width_px, "tool": stroke.tool}
        calls.append((first.t_ms, 0, seq, EngineCall(first.t_ms, "pen_down", kwargs)))
        seq += 1
        for point in rest:
            calls.append((point.t_ms, 0, seq, EngineCall(point.t_ms, "pen_move", {"x": point.x, "y": point.y,
                                                                                    "t_ms": point.t_ms})))
            seq += 1
        end = stroke.points[-1].t_ms
        calls.append((end, 0, seq, EngineCall(end, "pen_up", {"t_ms": end})))
        seq += 1
    for control in (*drawing.controls, *extra_controls):
        calls.append((control.t_ms, 1, seq, control_call(control)))
        seq += 1
    calls.sort(key=lambda c: c[:3])
    return [c[3] for c in calls]


def control_call(control: Control) -> EngineCall:
    if control.kind == "override":
        return EngineCall(control.t_ms, "set_override", {"head": control.head, "value": control.value,
                                                        "t_ms": control.t_ms})
    if control.kind == "release":
        return EngineCall(control.t_ms, "release_overrides", {"t_ms": control.t_ms})
    return EngineCall(control.t_ms, "trigger", {"t_ms": control.t_ms})
