"""Drawings: strokes with timestamped points, their JSON form (SPEC §5) and validation.

JSON schema, version 1 (unknown top-level keys are kept in `extra` and written back):

    {"format": "pict2audio-drawing", "version": 1,
     "canvas": {"width": 400, "height": 400},
     "strokes": [{"tool": "pen" | "eraser", "color": "#RRGGBB", "width": 12.0,
                  "points": [[x, y, t_ms], ...]}, ...],
     "controls": [{"t_ms": 812.0, "kind": "override", "head": "pitch", "value": 72},
                  {"t_ms": 900.0, "kind": "release"}, {"t_ms": 950.0, "kind": "trigger"}],
     "mode": {"label_by": "stroke" | "canvas", "onset": "down" | "up"},
     "meta": {...}}

`t_ms` is the time since the drawing started; within a stroke it never decreases. `controls`
(optional) records the live control events (MIDI or OSC overrides, triggers) so a replay repeats them;
`mode` (optional) records how strokes became voices, so a replay plays them the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.core.events import ControlEvent, ReleaseOverrides, SetOverride, Trigger
from bridge.core.labels import (
    CANVAS_SIZE_PX,
    DEFAULT_PEN_HEX,
    PEN_WIDTH_RANGE_PX,
    format_hex_color,
    parse_hex_color,
)
from bridge.errors import DrawingError, LabelError

FORMAT_NAME = "pict2audio-drawing"
SCHEMA_VERSION = 1
TOOLS = ("pen", "eraser")
LABEL_MODES = ("stroke", "canvas")
ONSETS = ("down", "up")
CONTROL_KIND_OF: dict[type, str] = {SetOverride: "override", ReleaseOverrides: "release", Trigger: "trigger"}
CONTROL_KINDS = tuple(CONTROL_KIND_OF.values())


@dataclass(frozen=True)
class Point:
    """A pen position in canvas px and the time since the drawing started.

    Values are quantised to 0.001 when built, so a live drawing and its saved JSON are equal.
    """

    x: float
    y: float
    t_ms: float

    def __post_init__(self) -> None:
        for name in ("x", "y", "t_ms"):
            object.__setattr__(self, name, round(float(getattr(self, name)), 3))


@dataclass(frozen=True)
class Stroke:
    """One pen-down..pen-up gesture. `color` is '#RRGGBB' (ignored by the eraser)."""

    points: tuple[Point, ...]
    color: str = DEFAULT_PEN_HEX
    width_px: float = 5.0
    tool: str = "pen"

    def __post_init__(self) -> None:
        object.__setattr__(self, "color", format_hex_color(parse_hex_color(self.color)))
        if self.tool not in TOOLS:
            raise DrawingError("tool", f"expected one of {', '.join(TOOLS)}, got {self.tool!r}")
        if not math.isfinite(self.width_px) or not 0 < self.width_px <= 2 * PEN_WIDTH_RANGE_PX[1]:
            limit = 2 * PEN_WIDTH_RANGE_PX[1]
            raise DrawingError("width", f"expected a width in px in (0, {limit:g}], got {self.width_px!r}")

    @property
    def rgb(self) -> tuple[int, int, int]:
        return parse_hex_color(self.color)

    def with_point(self, point: Point) -> Stroke:
        return Stroke((*self.points, point), self.color, self.width_px, self.tool)


@dataclass(frozen=True)
class PlayMode:
    """How strokes become voices (SPEC §2): labelled by their own ink ('stroke') or by the whole picture
    ('canvas'), sounding when the pen touches ('down') or lifts ('up')."""

    label_by: str = "stroke"
    onset: str = "down"

    def __post_init__(self) -> None:
        if self.label_by not in LABEL_MODES:
            raise DrawingError("mode.label_by", f"expected one of {', '.join(LABEL_MODES)}, got {self.label_by!r}")
        if self.onset not in ONSETS:
            raise DrawingError("mode.onset", f"expected one of {', '.join(ONSETS)}, got {self.onset!r}")

    def to_json_dict(self) -> dict[str, str]:
        return {"label_by": self.label_by, "onset": self.onset}


def control_to_json(control: ControlEvent) -> dict[str, Any]:
    """A control event in its saved form: {"t_ms", "kind": override|release|trigger, ["head", "value"]}."""
    assert control.t_ms is not None
    doc: dict[str, Any] = {"t_ms": _compact(control.t_ms), "kind": CONTROL_KIND_OF[type(control)]}
    if isinstance(control, SetOverride):
        doc.update(head=control.head, value=control.value)
    return doc


@dataclass(frozen=True)
class Drawing:
    """A whole drawing: canvas size, strokes in drawing order and free-form metadata."""

    strokes: tuple[Stroke, ...] = ()
    width_px: int = CANVAS_SIZE_PX
    height_px: int = CANVAS_SIZE_PX
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    controls: tuple[ControlEvent, ...] = ()
    mode: PlayMode | None = None  # None: recorded before play modes existed; plays with the session's mode

    def with_stroke(self, stroke: Stroke) -> Drawing:
        return replace(self, strokes=(*self.strokes, stroke))

    def with_control(self, control: ControlEvent) -> Drawing:
        return replace(self, controls=(*self.controls, control))

    def duration_ms(self) -> float:
        times = [p.t_ms for s in self.strokes for p in s.points] + [c.t_ms for c in self.controls]
        return max(times, default=0.0)

    def to_json_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.extra)
        doc.update({
            "format": FORMAT_NAME,
            "version": SCHEMA_VERSION,
            "canvas": {"width": self.width_px, "height": self.height_px},
            "strokes": [
                {
                    "tool": s.tool,
                    "color": s.color,
                    "width": s.width_px,
                    "points": [[_compact(p.x), _compact(p.y), _compact(p.t_ms)] for p in s.points],
                }
                for s in self.strokes
            ],
            "meta": self.meta,
        })
        if self.controls:
            doc["controls"] = [control_to_json(c) for c in self.controls]
        if self.mode is not None:
            doc["mode"] = self.mode.to_json_dict()
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), separators=(",", ":"))


def _compact(value: float) -> float | int:
    """Write 12.0 as 12: files stay small and still round-trip exactly."""
    return int(value) if float(value).is_integer() else value


def drawing_from_json(text: str | bytes) -> Drawing:
    """Parse and validate a saved drawing; raises DrawingError naming the field and the problem."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrawingError(f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise DrawingError("", f"not a text file ({exc.reason})") from exc
    return drawing_from_dict(doc)


def drawing_from_dict(doc: Any) -> Drawing:
    if not isinstance(doc, dict):
        raise DrawingError("(top level)", f"expected a JSON object, got {_kind(doc)}")
    if doc.get("format", FORMAT_NAME) != FORMAT_NAME:
        raise DrawingError("format", f"expected {FORMAT_NAME!r}, got {doc.get('format')!r}")
    version = doc.get("version")
    if version != SCHEMA_VERSION:
        raise DrawingError(
            "version", f"expected schema version {SCHEMA_VERSION}, got {version!r} (saved by a newer program?)"
        )
    width, height = _canvas_size(doc.get("canvas"))
    strokes_doc = doc.get("strokes")
    if not isinstance(strokes_doc, list):
        raise DrawingError("strokes", f"expected a list of strokes, got {_kind(strokes_doc)}")
    strokes = tuple(_stroke_from_dict(s, f"strokes[{i}]") for i, s in enumerate(strokes_doc))
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise DrawingError("meta", f"expected an object, got {_kind(meta)}")
    controls_doc = doc.get("controls", [])
    if not isinstance(controls_doc, list):
        raise DrawingError("controls", f"expected a list of control events, got {_kind(controls_doc)}")
    controls = tuple(_control_from_dict(c, f"controls[{i}]") for i, c in enumerate(controls_doc))
    mode = _mode_from_dict(doc["mode"]) if "mode" in doc else None
    known = ("format", "version", "canvas", "strokes", "meta", "controls", "mode")
    extra = {k: v for k, v in doc.items() if k not in known}
    return Drawing(strokes, width, height, meta, extra, controls, mode)


def _mode_from_dict(doc: Any) -> PlayMode:
    if not isinstance(doc, dict):
        raise DrawingError("mode", f"expected {{\"label_by\": ..., \"onset\": ...}}, got {_kind(doc)}")
    unknown = sorted(set(doc) - {"label_by", "onset"})
    if unknown:
        raise DrawingError(f"mode.{unknown[0]}", "unknown key; expected label_by or onset")
    return PlayMode(**doc)


def _control_from_dict(doc: Any, where: str) -> ControlEvent:
    if not isinstance(doc, dict):
        raise DrawingError(where, f"expected a control object, got {_kind(doc)}")
    t_ms = doc.get("t_ms")
    if not _is_number(t_ms) or t_ms < 0:
        raise DrawingError(f"{where}.t_ms", f"expected a time in ms >= 0, got {t_ms!r}")
    kind = doc.get("kind")
    if kind == "override":
        try:
            return SetOverride(t_ms=float(t_ms), head=doc.get("head"), value=doc.get("value"))  # type: ignore[arg-type]
        except LabelError as exc:
            raise DrawingError(f"{where}.override", str(exc)) from exc
    if kind == "release":
        return ReleaseOverrides(t_ms=float(t_ms))
    if kind == "trigger":
        return Trigger(t_ms=float(t_ms))
    raise DrawingError(f"{where}.kind", f"expected one of {', '.join(CONTROL_KINDS)}, got {kind!r}")


def _canvas_size(canvas: Any) -> tuple[int, int]:
    if not isinstance(canvas, dict):
        raise DrawingError("canvas", f"expected {{\"width\": 400, \"height\": 400}}, got {_kind(canvas)}")
    size = []
    for key in ("width", "height"):
        value = canvas.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
            raise DrawingError(f"canvas.{key}", f"expected a whole number of px (1..10000), got {value!r}")
        size.append(value)
    return size[0], size[1]


def _stroke_from_dict(doc: Any, where: str) -> Stroke:
    if not isinstance(doc, dict):
        raise DrawingError(where, f"expected a stroke object, got {_kind(doc)}")
    tool = doc.get("tool", "pen")
    if tool not in TOOLS:
        raise DrawingError(f"{where}.tool", f"expected one of {', '.join(TOOLS)}, got {tool!r}")
    color = doc.get("color", DEFAULT_PEN_HEX)
    try:
        color = format_hex_color(parse_hex_color(color)) if isinstance(color, str) else None
    except LabelError:
        color = None
    if color is None:
        raise DrawingError(f"{where}.color", f"expected a colour as '#RRGGBB', got {doc.get('color')!r}")
    width = doc.get("width")
    if not _is_number(width) or not 0 < width <= 2 * PEN_WIDTH_RANGE_PX[1]:
        raise DrawingError(f"{where}.width", f"expected a pen width in px (0 < width <= 60), got {width!r}")
    points_doc = doc.get("points")
    if not isinstance(points_doc, list) or not points_doc:
        raise DrawingError(f"{where}.points", f"expected a non-empty list of [x, y, t_ms], got {_kind(points_doc)}")
    points = []
    last_t = -math.inf
    for j, p in enumerate(points_doc):
        if not isinstance(p, list) or len(p) != 3 or not all(_is_number(v) for v in p):
            raise DrawingError(f"{where}.points[{j}]", f"expected [x, y, t_ms], got {json.dumps(p)[:60]}")
        if p[2] < 0 or p[2] < last_t:
            problem = f"t_ms must be >= 0 and never decrease, got {p[2]} after {last_t}"
            raise DrawingError(f"{where}.points[{j}]", problem)
        last_t = p[2]
        points.append(Point(float(p[0]), float(p[1]), float(p[2])))
    return Stroke(tuple(points), color, float(width), tool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
