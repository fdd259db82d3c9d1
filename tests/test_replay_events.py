"""A saved drawing as engine calls: strokes and controls merged in recorded time order."""

from __future__ import annotations

from bridge.core.drawing import Control, Drawing, Point, Stroke
from bridge.core.replay import session_events


def test_strokes_and_controls_interleave_by_time():
    stroke_a = Stroke((Point(1, 2, 0), Point(3, 4, 10), Point(5, 6, 20)))
    stroke_b = Stroke((Point(1, 2, 40),), "#228B22", 25.0)
    drawing = Drawing((stroke_a, stroke_b), controls=(Control(10, "override", "pitch", 72), Control(30, "trigger")))
    events = session_events(drawing, extra_controls=(Control(50, "release"),))
    assert [(e.t_ms, e.event) for e in events] == [
        (0, "pen_down"), (10, "pen_move"), (10, "set_override"), (20, "pen_move"), (20, "pen_up"),
        (30, "trigger"), (40, "pen_down"), (40, "pen_up"), (50, "release_overrides"),
    ]
    assert events[6].kwargs == {"x": 1.0, "y": 2.0, "t_ms": 40.0, "color": "#228B22", "width_px": 25.0,
                                "tool": "pen"}


def test_an_empty_drawing_has_no_events():
    assert session_events(Drawing()) == []
