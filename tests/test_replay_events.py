"""A saved drawing as engine events: strokes and controls merged in recorded time order."""

from __future__ import annotations

from bridge.core.drawing import Drawing, Point, Stroke
from bridge.core.events import PenDown, PenMove, PenUp, ReleaseOverrides, SetOverride, Trigger
from bridge.core.replay import session_events


def test_strokes_and_controls_interleave_by_time():
    stroke_a = Stroke((Point(1, 2, 0), Point(3, 4, 10), Point(5, 6, 20)))
    stroke_b = Stroke((Point(1, 2, 40),), "#228B22", 25.0)
    drawing = Drawing((stroke_a, stroke_b),
                      controls=(SetOverride(t_ms=10, head="pitch", value=72), Trigger(t_ms=30)))
    events = session_events(drawing, extra_controls=(ReleaseOverrides(t_ms=50),))
    assert [(e.t_ms, type(e)) for e in events] == [
        (0, PenDown), (10, PenMove), (10, SetOverride), (20, PenMove), (20, PenUp),
        (30, Trigger), (40, PenDown), (40, PenUp), (50, ReleaseOverrides),
    ]
    assert events[6] == PenDown(t_ms=40.0, x=1.0, y=2.0, color="#228B22", width_px=25.0, tool="pen")


def test_an_empty_drawing_has_no_events():
    assert session_events(Drawing()) == []
