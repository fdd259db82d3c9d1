"""Drawings: strokes with timestamped points, their JSON form (SPEC §5) and validation.

JSON schema, version 1 (unknown top-level keys are kept in `extra` and written back):

    {"format": "pict2audio-drawing", "version": 1,
     "canvas": {"width": 400, "height": 400},
     "strokes": [{"tool": "pen" | "eraser", "color": "#RRGGBB", "width": 12.0,
                  "points": [[x, y, t_ms], ...]}, ...],
     "controls": [{"t_ms": 812.0, "kind": "override", "head": "pitch", "value": 72},
                  {"t_ms": 900.0, "kind": "release"}, {"t_ms": 950.0, "kind": "trigger"},
                  {"t_ms": 990.0, "kind": "transport", "action": "tempo", "value": 96},
                  {"t_ms": 995.0, "kind": "register", "value": 3},
                  {"t_ms": 999.0, "kind": "page", "strokes": [0, 2]}],
     "undone": [{...a stroke, as in strokes...}],
     "mode": {"label_by": "stroke" | "canvas", "onset": "down" | "up"},
     "score": {"bpm": 120, "bars": 2, "loop": true},
     "palette": {"flute": ["#1E90FF", "#20B2AA"], "string": ["#D00000"]},
     "meta": {...}}

`t_ms` is the time since the drawing started; within a stroke it never decreases. `controls`
(optional) records the live control events (MIDI or OSC overrides, triggers, and the score's transport as
the score player applied it: start, stop, continue, tempo, position, loop, and `sync` to a followed MIDI
clock with the playhead's position in passes and the bpm, and the register the matcher prefers: 0..8,
register N = A{N}..G#{N+1}, recorded at t_ms 0 when the session starts in another than the canvas's own 4,
and `page` edits: undo or redo left these strokes on the page, numbered in `strokes` then `undone`) so a
replay repeats them; `undone` (optional) holds the strokes drawn in the take that an edit took off the page;
`mode` (optional) records how strokes became voices, so a replay plays them the same way. `score`
(optional) records the score settings of a drawing saved in score mode (bridge/core/score.py; `{"seconds":
S}` is read as one bar of S seconds): those its first transport control was applied to, when it recorded
any, so a replay repeats the performance from there; else the page is replayed as a score. `palette`
(optional) records the composer's colour -> timbre pairs the drawing was played with (bridge/core/palette.py),
so a replay hears the same timbres; a drawing without one was played with the model's timbre (the default
eight colours).

A drawing saved on another canvas size is scaled to the 400 px canvas where it is drawn (`canvas_scale`:
each axis on its own, a pen width by the mean of the two). The limits below are checked when a drawing
is parsed, so a file that passes can be rasterised, classified and replayed without overflowing or
running for hours; the README ("Saved drawings") lists them.
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass, field
from typing import Any

from bridge.core.errors import DrawingError, LabelError
from bridge.core.events import (
    TRANSPORT_ACTIONS,
    ControlEvent,
    EditPage,
    ReleaseOverrides,
    SetOverride,
    SetRegister,
    TransportControl,
    Trigger,
)
from bridge.core.labels import (
    CANVAS_SIZE_PX,
    DEFAULT_PEN_HEX,
    PEN_WIDTH_RANGE_PX,
    format_hex_color,
    parse_hex_color,
)
from bridge.core.palette import Palette, PaletteError
from bridge.core.score import BPM_RANGE, ScoreError, ScoreSettings, settings_from_dict

FORMAT_NAME = "pict2audio-drawing"
SCHEMA_VERSION = 1
TOOLS = ("pen", "eraser")
LABEL_MODES = ("stroke", "canvas")
ONSETS = ("down", "up")
CONTROL_KIND_OF: dict[type, str] = {SetOverride: "override", ReleaseOverrides: "release", Trigger: "trigger",
                                    TransportControl: "transport", SetRegister: "register", EditPage: "page"}
RECORDED_TRANSPORT = (*TRANSPORT_ACTIONS, "sync")  # the score's transport as the player applied it
CONTROL_KINDS = tuple(CONTROL_KIND_OF.values())

# Limits of a saved drawing (README "Saved drawings"), far above what a session at the canvas records.
MAX_DRAWING_BYTES = 16 * 1024 * 1024  # the largest drawing below, indented, is ~7 MB
CANVAS_SIDE_RANGE_PX = (40, 4000)  # 1/10..10x the 400 px canvas: a 0.001 px file value stays < 0.01 px
COORDINATE_MARGIN = 1.0  # points may lie up to one canvas width/height beyond each edge (they draw nothing)
MAX_PEN_WIDTH_PX = 2 * PEN_WIDTH_RANGE_PX[1]  # 60 px once scaled to the 400 px canvas (the slider's 30, doubled)
MAX_DURATION_MS = 24 * 3600 * 1000.0  # t_ms of any point or control: a day; a real-time replay waits that long
MAX_STROKES = 10_000
MAX_POINTS_PER_STROKE = 20_000  # minutes of one continuous stroke at a point every 8-16 ms
MAX_POINTS = 100_000  # in all strokes: parsed in < 1 s, rasterised whole in a few s
MAX_CONTROLS = 100_000
MAX_META_DEPTH = 32  # nesting of the free-form `meta` and unknown top-level keys
# The widest pen a Stroke may have in its own canvas's px: MAX_PEN_WIDTH_PX on the largest canvas.
MAX_STROKE_WIDTH_PX = MAX_PEN_WIDTH_PX * CANVAS_SIDE_RANGE_PX[1] / CANVAS_SIZE_PX


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
        if not math.isfinite(self.width_px) or not 0 < self.width_px <= MAX_STROKE_WIDTH_PX:
            limit = MAX_STROKE_WIDTH_PX
            raise DrawingError("width", f"expected a width in px in (0, {limit:g}], got {_show(self.width_px)}")

    @property
    def rgb(self) -> tuple[int, int, int]:
        return parse_hex_color(self.color)

    def __hash__(self) -> int:
        """Hashed once: strokes key the engine's tables, and a long stroke holds thousands of points."""
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.points, self.color, self.width_px, self.tool))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the cached hash: string hashes differ from one process to the next."""
        return {key: value for key, value in self.__dict__.items() if key != "_hash"}


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


def control_to_json(control: ControlEvent, numbers: dict[Stroke, int] | None = None) -> dict[str, Any]:
    """A control event in its saved form: {"t_ms", "kind": override|release|trigger|transport|register|page,
    ["head", "value"], ["action", "value", "bpm"], register: ["value"], page: ["strokes": numbers of the strokes
    in `strokes` then `undone`]}."""
    assert control.t_ms is not None
    doc: dict[str, Any] = {"t_ms": _compact(control.t_ms), "kind": CONTROL_KIND_OF[type(control)]}
    if isinstance(control, SetOverride):
        doc.update(head=control.head, value=control.value)
    if isinstance(control, SetRegister):
        doc["value"] = control.register
    if isinstance(control, TransportControl):
        doc["action"] = control.action
        values = {"value": control.value, "bpm": control.bpm}
        doc.update({key: _compact(number) for key, number in values.items() if number is not None})
    if isinstance(control, EditPage):
        assert numbers is not None, "a page edit names its strokes by their place in the drawing"
        doc["strokes"] = [numbers[stroke] for stroke in control.strokes]
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
    score: ScoreSettings | None = None  # saved in score mode: the loop it played (replay plays it as a score)
    palette: Palette | None = None  # the composer's colours it was played with; None: the model's timbre
    undone: tuple[Stroke, ...] = ()  # drawn in this take, taken off the page by an edit (EditPage) since

    def duration_ms(self) -> float:
        times = [p.t_ms for s in (*self.strokes, *self.undone) for p in s.points]
        times += [c.t_ms for c in self.controls if c.t_ms is not None]
        return max(times, default=0.0)

    def to_json_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.extra)
        doc.update({
            "format": FORMAT_NAME,
            "version": SCHEMA_VERSION,
            "canvas": {"width": self.width_px, "height": self.height_px},
            "strokes": [_stroke_to_json(s) for s in self.strokes],
            "meta": self.meta,
        })
        undone = self._undone_to_keep()
        if undone:
            doc["undone"] = [_stroke_to_json(s) for s in undone]
        if self.controls:
            numbers = {stroke: i for i, stroke in reversed(list(enumerate((*self.strokes, *undone))))}
            doc["controls"] = [control_to_json(c, numbers) for c in self.controls]
        if self.mode is not None:
            doc["mode"] = self.mode.to_json_dict()
        if self.score is not None:
            doc["score"] = self.score.to_json_dict()
        if self.palette is not None:
            doc["palette"] = self.palette.to_dict()
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), separators=(",", ":"))

    def _undone_to_keep(self) -> tuple[Stroke, ...]:
        """`undone`, and any stroke a page edit names that neither list holds (its place must be in the file)."""
        held = {*self.strokes, *self.undone}
        named = (s for c in self.controls if isinstance(c, EditPage) for s in c.strokes if s not in held)
        return (*self.undone, *dict.fromkeys(named))


def _stroke_to_json(stroke: Stroke) -> dict[str, Any]:
    return {
        "tool": stroke.tool,
        "color": stroke.color,
        "width": stroke.width_px,
        "points": [[_compact(p.x), _compact(p.y), _compact(p.t_ms)] for p in stroke.points],
    }


def _compact(value: float) -> float | int:
    """Write 12.0 as 12: files stay small and still round-trip exactly."""
    return int(value) if float(value).is_integer() else value


def canvas_scale(width_px: float, height_px: float, size_px: int = CANVAS_SIZE_PX) -> tuple[float, float, float]:
    """(x, y, pen width) factors from a width x height canvas to the size_px square canvas.

    Each axis is stretched on its own and a pen width by the mean of the two, so a square canvas of any
    size scales uniformly. The one definition of scaling: validation checks pen widths with it and
    `bridge.core.raster.scaled_to_canvas` draws with it."""
    sx, sy = size_px / width_px, size_px / height_px
    return sx, sy, (sx + sy) / 2


def drawing_from_json(text: str | bytes) -> Drawing:
    """Parse and validate a saved drawing; raises DrawingError naming the field and the problem.

    Never raises anything else, whatever the text: a file that passes stays within the limits above."""
    if len(text) > MAX_DRAWING_BYTES:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        problem = f"{len(text)} {unit} long; a drawing has at most {MAX_DRAWING_BYTES} (split it into several)"
        raise DrawingError("(file)", problem)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrawingError(f"line {exc.lineno} column {exc.colno}", f"not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise DrawingError("(file)", f"not a text file ({exc.reason}); expected UTF-8 JSON") from exc
    except RecursionError as exc:
        problem = f"lists or objects nested too deeply to read; expected meta nested at most {MAX_META_DEPTH} levels"
        raise DrawingError("(file)", problem) from exc
    except ValueError as exc:  # an integer literal longer than Python converts (4300 digits)
        raise DrawingError("(file)", f"a number too long to read ({exc}); expected numbers a float can hold") from exc
    return drawing_from_dict(doc)


def drawing_from_dict(doc: Any) -> Drawing:
    if not isinstance(doc, dict):
        raise DrawingError("(top level)", f"expected a JSON object, got {_kind(doc)}")
    if doc.get("format", FORMAT_NAME) != FORMAT_NAME:
        raise DrawingError("format", f"expected {FORMAT_NAME!r}, got {_show(doc.get('format'))}")
    version = doc.get("version")
    if isinstance(version, bool) or version != SCHEMA_VERSION:  # True == 1 in Python
        raise DrawingError(
            "version", f"expected schema version {SCHEMA_VERSION}, got {_show(version)} (saved by a newer program?)"
        )
    width, height = _canvas_size(doc.get("canvas"))
    strokes = _strokes_from_list(doc.get("strokes"), width, height)
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise DrawingError("meta", f"expected an object, got {_kind(meta)}")
    _check_free_form(meta, "meta")
    undone = _strokes_from_list(doc.get("undone", []), width, height, where="undone")
    controls = _controls_from_list(doc.get("controls", []), (*strokes, *undone))
    mode = _mode_from_dict(doc["mode"]) if "mode" in doc else None
    score = _score_from_dict(doc["score"]) if "score" in doc else None
    palette = _palette_from_dict(doc["palette"]) if "palette" in doc else None
    known = ("format", "version", "canvas", "strokes", "meta", "controls", "mode", "score", "palette", "undone")
    extra = {k: v for k, v in doc.items() if k not in known}
    for key, value in extra.items():
        _check_free_form(value, _field(key))
    return Drawing(strokes, width, height, meta, extra, controls, mode, score, palette, undone)


def _palette_from_dict(doc: Any) -> Palette:
    try:
        return Palette.from_dict(doc)
    except PaletteError as exc:
        raise DrawingError(exc.where, _short(exc.problem)) from None


def _score_from_dict(doc: Any) -> ScoreSettings:
    try:
        return settings_from_dict(doc)
    except ScoreError as exc:
        raise DrawingError(exc.where, _short(exc.problem)) from None


def _mode_from_dict(doc: Any) -> PlayMode:
    if not isinstance(doc, dict):
        raise DrawingError("mode", f"expected {{\"label_by\": ..., \"onset\": ...}}, got {_kind(doc)}")
    unknown = sorted(set(doc) - {"label_by", "onset"})
    if unknown:
        raise DrawingError(f"mode.{_field(unknown[0])}", "unknown key; expected label_by or onset")
    for key, choices in (("label_by", LABEL_MODES), ("onset", ONSETS)):
        if key in doc and doc[key] not in choices:
            raise DrawingError(f"mode.{key}", f"expected one of {', '.join(choices)}, got {_show(doc[key])}")
    return PlayMode(**doc)


def _controls_from_list(doc: Any, drawn: tuple[Stroke, ...]) -> tuple[ControlEvent, ...]:
    """The controls; a page edit names strokes by their place in `drawn` (strokes, then undone)."""
    if not isinstance(doc, list):
        raise DrawingError("controls", f"expected a list of control events, got {_kind(doc)}")
    if len(doc) > MAX_CONTROLS:
        raise DrawingError("controls", f"{len(doc)} control events; a drawing has at most {MAX_CONTROLS} (split it)")
    return tuple(_control_from_dict(c, f"controls[{i}]", drawn) for i, c in enumerate(doc))


def _page_from_dict(doc: dict[str, Any], where: str, t_ms: float, drawn: tuple[Stroke, ...]) -> EditPage:
    numbers = doc.get("strokes")
    if not isinstance(numbers, list) or not all(_is_whole(n) and 0 <= n < len(drawn) for n in numbers):
        problem = f"expected a list of stroke numbers 0..{len(drawn) - 1} (strokes, then undone), got {_show(numbers)}"
        raise DrawingError(f"{where}.strokes", problem)
    return EditPage(t_ms=t_ms, strokes=tuple(drawn[n] for n in numbers))


def _control_from_dict(doc: Any, where: str, drawn: tuple[Stroke, ...] = ()) -> ControlEvent:
    if not isinstance(doc, dict):
        raise DrawingError(where, f"expected a control object, got {_kind(doc)}")
    t_ms = _as_float(doc.get("t_ms"))
    if t_ms is None or not 0 <= t_ms <= MAX_DURATION_MS:
        problem = f"expected a time in ms >= 0 and <= {MAX_DURATION_MS:.0f} (24 h), got {_show(doc.get('t_ms'))}"
        raise DrawingError(f"{where}.t_ms", problem)
    kind = doc.get("kind")
    if kind == "override":
        head, value = doc.get("head"), doc.get("value")
        if not isinstance(head, str) or not (value is None or isinstance(value, int | str)):
            problem = f"expected a head name and an int, a string or null, got {_show(head)} = {_show(value)}"
            raise DrawingError(f"{where}.override", problem)
        try:
            return SetOverride(t_ms=t_ms, head=head, value=value)
        except LabelError as exc:
            raise DrawingError(f"{where}.override", _short(str(exc))) from exc
    if kind == "release":
        return ReleaseOverrides(t_ms=t_ms)
    if kind == "trigger":
        return Trigger(t_ms=t_ms)
    if kind == "transport":
        return _transport_from_dict(doc, where, t_ms)
    if kind == "page":
        return _page_from_dict(doc, where, t_ms, drawn)
    if kind == "register":
        try:
            register: Any = doc.get("value")  # any JSON value: SetRegister checks it
            return SetRegister(t_ms=t_ms, register=register)
        except LabelError as exc:
            raise DrawingError(f"{where}.value", _short(str(exc))) from exc
    raise DrawingError(f"{where}.kind", f"expected one of {', '.join(CONTROL_KINDS)}, got {_show(kind)}")


def _transport_from_dict(doc: dict[str, Any], where: str, t_ms: float) -> TransportControl:
    """{"action": start|stop|continue} or with "value" (tempo: bpm, position: 0..1, loop: 0|1, sync: the playhead
    in passes, with "bpm")."""
    action = doc.get("action")
    if action not in RECORDED_TRANSPORT:
        raise DrawingError(f"{where}.action", f"expected one of {', '.join(RECORDED_TRANSPORT)}, got {_show(action)}")
    ranges = {"tempo": BPM_RANGE, "position": (0.0, 1.0), "loop": (0.0, 1.0), "sync": (-1e9, 1e9)}
    values: dict[str, float | None] = {}
    for key, wanted in (("value", action in ranges), ("bpm", action == "sync")):
        low, high = BPM_RANGE if key == "bpm" else ranges.get(action, (0.0, 0.0))
        number = _as_float(doc.get(key))
        if wanted and (number is None or not low <= number <= high):
            raise DrawingError(f"{where}.{key}", f"transport {action}: expected a number {low:g}..{high:g}, "
                                                 f"got {_show(doc.get(key))}")
        if not wanted and key in doc:
            raise DrawingError(f"{where}.{key}", f"transport {action} takes no {key}")
        values[key] = number if wanted else None
    return TransportControl(t_ms=t_ms, action=action, **values)


def _canvas_size(canvas: Any) -> tuple[int, int]:
    if not isinstance(canvas, dict):
        raise DrawingError("canvas", f"expected {{\"width\": 400, \"height\": 400}}, got {_kind(canvas)}")
    low, high = CANVAS_SIDE_RANGE_PX
    size = []
    for key in ("width", "height"):
        value = canvas.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise DrawingError(f"canvas.{key}", f"expected a whole number of px ({low}..{high}), got {_show(value)}")
        size.append(value)
    return size[0], size[1]


def _strokes_from_list(doc: Any, width: int, height: int, *, where: str = "strokes") -> tuple[Stroke, ...]:
    if not isinstance(doc, list):
        raise DrawingError(where, f"expected a list of strokes, got {_kind(doc)}")
    if len(doc) > MAX_STROKES:
        raise DrawingError(where, f"{len(doc)} strokes; a drawing has at most {MAX_STROKES} (split it)")
    strokes = []
    total = 0
    for i, stroke_doc in enumerate(doc):
        stroke = _stroke_from_dict(stroke_doc, f"{where}[{i}]", width, height)
        total += len(stroke.points)
        if total > MAX_POINTS:
            problem = f"more than {MAX_POINTS} points in all strokes up to this one; split the drawing"
            raise DrawingError(f"{where}[{i}].points", problem)
        strokes.append(stroke)
    return tuple(strokes)


def _stroke_from_dict(doc: Any, where: str, canvas_width: int, canvas_height: int) -> Stroke:
    if not isinstance(doc, dict):
        raise DrawingError(where, f"expected a stroke object, got {_kind(doc)}")
    tool = doc.get("tool", "pen")
    if tool not in TOOLS:
        raise DrawingError(f"{where}.tool", f"expected one of {', '.join(TOOLS)}, got {_show(tool)}")
    color = doc.get("color", DEFAULT_PEN_HEX)
    try:
        color = format_hex_color(parse_hex_color(color)) if isinstance(color, str) else None
    except LabelError:
        color = None
    if color is None:
        raise DrawingError(f"{where}.color", f"expected a colour as '#RRGGBB', got {_show(doc.get('color'))}")
    width = _pen_width(doc.get("width"), f"{where}.width", canvas_width, canvas_height)
    points_doc = doc.get("points")
    if not isinstance(points_doc, list) or not points_doc:
        raise DrawingError(f"{where}.points", f"expected a non-empty list of [x, y, t_ms], got {_kind(points_doc)}")
    if len(points_doc) > MAX_POINTS_PER_STROKE:
        problem = f"{len(points_doc)} points; a stroke has at most {MAX_POINTS_PER_STROKE} (split it)"
        raise DrawingError(f"{where}.points", problem)
    points = []
    last_t = 0.0
    for j, p in enumerate(points_doc):
        point = _point_from_list(p, f"{where}.points[{j}]", canvas_width, canvas_height)
        if point.t_ms < last_t:
            problem = f"t_ms = {point.t_ms:g} is earlier than the point before ({last_t:g}); times never decrease"
            raise DrawingError(f"{where}.points[{j}]", problem)
        last_t = point.t_ms
        points.append(point)
    return Stroke(tuple(points), color, width, tool)


def _pen_width(value: Any, where: str, canvas_width: int, canvas_height: int) -> float:
    """The pen width in the drawing's own px, at most MAX_PEN_WIDTH_PX once scaled to the 400 px canvas."""
    limit = MAX_PEN_WIDTH_PX / canvas_scale(canvas_width, canvas_height)[2]
    width = _as_float(value)
    if width is None or not 0 < width <= limit:
        scaled = "" if limit == MAX_PEN_WIDTH_PX else (
            f" on this {canvas_width} x {canvas_height} canvas: {MAX_PEN_WIDTH_PX:g} px once scaled to "
            f"the {CANVAS_SIZE_PX} px canvas")
        raise DrawingError(where, f"expected a pen width in px (0 < width <= {limit:.4g}{scaled}), got {_show(value)}")
    return width


def _point_from_list(p: Any, where: str, canvas_width: int, canvas_height: int) -> Point:
    """[x, y, t_ms] with finite numbers, x and y within the margin around the canvas, 0 <= t_ms <= a day."""
    if not isinstance(p, list) or len(p) != 3 or not all(_is_numeric(v) for v in p):
        raise DrawingError(where, f"expected [x, y, t_ms], got {_show(p)}")
    values = []
    for name, value in zip(("x", "y", "t_ms"), p, strict=True):
        number = _as_float(value)
        if number is None:
            what = "too large for a number" if isinstance(value, int) else "not a finite number"
            raise DrawingError(where, f"{name} = {_show(value)} is {what}; expected [x, y, t_ms] in px and ms")
        values.append(number)
    x, y, t_ms = values
    for name, number, raw, side in (("x", x, p[0], canvas_width), ("y", y, p[1], canvas_height)):
        low, high = -COORDINATE_MARGIN * side, (1 + COORDINATE_MARGIN) * side
        if not low <= number <= high:
            problem = (f"{name} = {_show(raw)} is outside the canvas (expected {low:g}..{high:g} on this "
                       f"{canvas_width} x {canvas_height} canvas: at most one canvas beyond its edges)")
            raise DrawingError(where, problem)
    if t_ms < 0:
        raise DrawingError(where, f"t_ms = {_show(p[2])} is negative; expected a time in ms >= 0")
    if t_ms > MAX_DURATION_MS:
        problem = f"t_ms = {_show(p[2])} is more than a day; expected a time in ms <= {MAX_DURATION_MS:.0f}"
        raise DrawingError(where, problem)
    return Point(x, y, t_ms)


def _check_free_form(value: Any, where: str) -> None:
    """Free-form values (meta, unknown keys) nest at most MAX_META_DEPTH levels and hold no NaN or Infinity,
    so they are written back as valid JSON. Iterative: no recursion on hostile input."""
    pending: list[tuple[Any, str, int]] = [(value, where, 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise DrawingError(path, f"{_show(item)} is not a JSON number; expected a finite number")
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_META_DEPTH:
            raise DrawingError(path, f"nested more than {MAX_META_DEPTH} levels deep; expected flatter data")
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            child_path = f"{path}[{key}]" if isinstance(item, list) else f"{path}.{_field(key)}"
            pending.append((child, child_path, depth + 1))


def _as_float(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else (text, booleans, NaN, Infinity, whole numbers
    beyond a float's range)."""
    if not _is_numeric(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = 3, 6, 4, 40, 30, 40


def _show(value: Any) -> str:
    """A value from the file, close to how it reads there (null, true, NaN as in JSON; text quoted), cut short
    so an error stays one short line."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN, Infinity, -Infinity
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    try:
        text = _REPR.repr(value)
    except ValueError:  # an integer longer than Python prints
        text = "a very long number"
    return _short(text)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field(key: Any) -> str:
    """A key of the file as part of a field path: plain names as they are, anything else quoted and cut short."""
    if isinstance(key, str) and key.isidentifier() and len(key) <= 40:
        return key
    return _short(repr(key), 40)
