"""Drawings: strokes with timestamped points, their JSON form (SPEC §5) and validation.

JSON schema, version 1 (unknown top-level keys are kept in `extra` and written back):

    {"format": "pict2audio-drawing", "version": 1,
     "canvas": {"width": 400, "height": 400},
     "strokes": [{"tool": "pen" | "eraser", "color": "#RRGGBB", "width": 12.0,
                  "points": [[x, y, t_ms], ...]}, ...],
     "controls": [{"t_ms": 812.0, "kind": "override", "head": "pitch", "value": 72},
                  {"t_ms": 900.0, "kind": "release"}, {"t_ms": 950.0, "kind": "trigger"}],
     "meta": {...}}

`t_ms` is the time since the drawing started; within a stroke it never decreases. `controls`
(optional) records the live control events (MIDI or OSC overrides, triggers) so a replay repeats them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.core.labels import (
    CANVAS_SIZE_PX,
    DEFAULT_PEN_HEX,
    HEADS,
    PEN_WIDTH_RANGE_PX,
    check_class,
    format_hex_color,
    parse_hex_color,
)
from bridge.errors import DrawingError, LabelError

FORMAT_NAME = "pict2audio-drawing"
SCHEMA_VERSION = 1
TOOLS = ("pen", "eraser")
CONTROL_KINDS = ("override", "release", "trigger")


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
class Control:
    """A control event of the session: set one override (value None releases it), release all, trigger."""

    t_ms: float
    kind: str
    head: str | None = None
    value: int | str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "t_ms", round(float(self.t_ms), 3))
        if self.kind not in CONTROL_KINDS:
            raise DrawingError("kind", f"expected one of {', '.join(CONTROL_KINDS)}, got {self.kind!r}")
        if self.kind == "override":
            try:
                if self.head not in HEADS:
                    raise LabelError(f"expected one of {', '.join(HEADS)}, got {self.head!r}")
                if self.value is not None:
                    check_class(self.head, self.value)
            except LabelError as exc:
                raise DrawingError("override", str(exc)) from exc

    def to_json_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"t_ms": _compact(self.t_ms), "kind": self.kind}
        if self.kind == "override":
            doc.update(head=self.head, value=self.value)
        return doc


@dataclass(frozen=True)
class Drawing:
    """A whole drawing: canvas size, strokes in drawing order and free-form metadata."""

    strokes: tuple[Stroke, ...] = ()
    width_px: int = CANVAS_SIZE_PX
    height_px: int = CANVAS_SIZE_PX
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    controls: tuple[Control, ...] = ()

    def with_stroke(self, stroke: Stroke) -> Drawing:
        return replace(self, strokes=(*self.strokes, stroke))

    def with_control(self, control: Control) -> Drawing:
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
            doc["controls"] = [c.to_json_dict() for c in self.controls]
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
    known = ("format", "version", "canvas", "strokes", "meta", "controls")
    extra = {k: v for k, v in doc.items() if k not in known}
    return Drawing(strokes, width, height, meta, extra, controls)


def _control_from_dict(doc: Any, where: str) -> Control:
    if not isinstance(doc, dict):
        raise DrawingError(where, f"expected a control object, got {_kind(doc)}")
    t_ms = doc.get("t_ms")
    if not _is_number(t_ms) or t_ms < 0:
        raise DrawingError(f"{where}.t_ms", f"expected a time in ms >= 0, got {t_ms!r}")
    try:
        return Control(float(t_ms), doc.get("kind"), doc.get("head"), doc.get("value"))  # type: ignore[arg-type]
    except DrawingError as exc:
        raise DrawingError(f"{where}.{exc.where}", exc.problem) from exc


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
