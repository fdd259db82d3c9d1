"""A composer's own language: shapes taught from a few examples, each meaning one label (pure).

A class is named `HEAD=VALUE` (`timbre=brass`, `volume=high`, `pitch=72`) and holds the outlines of its
examples (bridge.core.shapes). A mark is recognised as the nearest class (its distance to a class: the mean
of its distances to the class's two nearest examples) when that distance is at most the language's
`threshold`; else it is no gesture and the fixed rules label it. A recognised
gesture replaces only its own head: a circle taught as `timbre=brass` still gets its pitch from its height
and its volume from its pen width.

Which strokes make one shape (`Recogniser.__call__`): the last pen stroke and the pen strokes just before
it, each begun at most `GROUP_GAP_MS` after the one before it ended and within reach of the strokes after it
(their boxes at most `max(GROUP_REACH_PX, GROUP_REACH_SHARE x the larger side)` apart), at most as many as
the language's largest example has strokes (and `MAX_GROUP_STROKES`). The longest such run that matches a
class wins: a cross is recognised when its second bar is drawn. Only stroke times and places decide, so a
replay groups exactly as the live session did.

The language file (JSON, written atomically by the adapters):

    {"format": "pict2audio-language", "version": 4, "threshold": 3.0,
     "classes": [{"name": "timbre=brass",
                  "examples": [{"source": "timbre=brass/1.json", "strokes": [[[x, y], ...], ...]}, ...]}],
     "hash": "sha256:..."}

`strokes` are outlines: unit box, resampled, rounded to 1e-4. `hash` is the sha256 of the canonical JSON of
everything else; a drawing records it so a replay can tell whether it plays with the same language.
A file of an older version (the same outlines, distances on another scale) is read with its threshold
scaled by today's default over that version's (`OLD_DEFAULT_THRESHOLDS`: its default becomes today's) and is
then a language of today's version: its hash changes, so a replay of a drawing played with it says the
language differs, as its gestures may.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from bridge.core import shapes
from bridge.core.errors import BridgeError, LabelError
from bridge.core.labels import CLASSES, HEADS, NO_OVERRIDES, Prediction, check_class

FORMAT_NAME = "pict2audio-language"
SCHEMA_VERSION = 4
DEFAULT_THRESHOLD = 3.0  # measured: benchmarks/language_accuracy.py, docs/language.md
OLD_DEFAULT_THRESHOLDS = {1: 0.26, 2: 0.3, 3: 0.34}  # per older schema version, its default: its scale
THRESHOLD_RANGE = (0.01, 10.0)
GROUP_GAP_MS = 1000.0
GROUP_REACH_PX = 8.0
GROUP_REACH_SHARE = 0.2
MAX_GROUP_STROKES = 4
MAX_CLASSES = 64
MAX_EXAMPLES = 64  # per class
MAX_EXAMPLE_STROKES = 8
MAX_EXAMPLE_POINTS = 8192  # outline points of one example (a long scribble at 64 points per unit)
MAX_LANGUAGE_BYTES = 16 * 1024 * 1024


class LanguageError(BridgeError, ValueError):
    """A language file or class name that cannot be used; `where` names the field (or the class)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


def parse_class_name(name: str) -> tuple[str, int | str]:
    """'timbre=brass' -> ('timbre', 'brass'); 'pitch=72' -> ('pitch', 72). LanguageError otherwise."""
    head, sep, value = (part.strip() for part in str(name).partition("="))
    expected = f"HEAD=VALUE with HEAD one of {', '.join(HEADS)} (e.g. timbre=brass, volume=high, pitch=72)"
    if not sep or head not in HEADS:
        raise LanguageError(repr(name), f"expected {expected}")
    try:
        typed: int | str = int(value) if head == "pitch" and value.lstrip("-").isdigit() else value
        check_class(head, typed)
    except LabelError as exc:
        raise LanguageError(repr(name), str(exc)) from None
    return head, typed


@dataclass(frozen=True)
class Example:
    """One taught example: its outline and where it came from (a file, or "canvas")."""

    outline: shapes.Outline
    source: str = "canvas"


@dataclass(frozen=True)
class ShapeClass:
    name: str  # canonical HEAD=VALUE
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Gesture:
    """A recognised shape: its class, how sure (1 at distance 0, 0.5 at the threshold), and how many of the
    last strokes it is made of."""

    name: str
    head: str
    value: int | str
    confidence: float
    distance: float
    strokes: int = 1

    def apply(self, prediction: Prediction) -> Prediction:
        """The prediction with this gesture's head set to its value, at its confidence (the other classes of
        that head share the rest); the other heads unchanged."""
        classes = CLASSES[self.head]
        rest = (1.0 - self.confidence) / (len(classes) - 1)
        vector = tuple(self.confidence if c == self.value else rest for c in classes)
        labels = NO_OVERRIDES.set(self.head, self.value).apply(prediction.labels)
        return replace(prediction, labels=labels, **{f"p_{self.head}": vector})


@dataclass(frozen=True)
class Language:
    """Classes in the order they were taught, and the rejection threshold."""

    classes: tuple[ShapeClass, ...] = ()
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        low, high = THRESHOLD_RANGE
        if not (isinstance(self.threshold, int | float) and math.isfinite(self.threshold)
                and low <= self.threshold <= high):
            raise LanguageError("threshold", f"expected a distance of {low:g}..{high:g}, got {self.threshold!r}")
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise LanguageError("classes", "a class name appears twice")

    @cached_property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the content: what a drawing records of the language it used."""
        return content_hash(self._content())

    @property
    def example_count(self) -> int:
        return sum(len(c.examples) for c in self.classes)

    def find(self, name: str) -> ShapeClass | None:
        head, value = parse_class_name(name)
        return next((c for c in self.classes if c.name == f"{head}={value}"), None)

    def with_example(self, name: str, example: Example) -> Language:
        """A copy with `example` added to class `name` (HEAD=VALUE), which is created if new."""
        head, value = parse_class_name(name)
        canonical = f"{head}={value}"
        found = self.find(canonical)
        if found is None:
            if len(self.classes) >= MAX_CLASSES:
                raise LanguageError(canonical, f"a language has at most {MAX_CLASSES} classes")
            return replace(self, classes=(*self.classes, ShapeClass(canonical, (example,))))
        if len(found.examples) >= MAX_EXAMPLES:
            raise LanguageError(canonical, f"a class has at most {MAX_EXAMPLES} examples")
        grown = replace(found, examples=(*found.examples, example))
        return replace(self, classes=tuple(grown if c is found else c for c in self.classes))

    def without_last_example(self, name: str) -> Language:
        """A copy without the class's last example (the class goes when it has none left)."""
        found = self.find(name)
        if found is None or not found.examples:
            raise LanguageError(name, "no such class, or it has no example")
        if len(found.examples) == 1:
            return replace(self, classes=tuple(c for c in self.classes if c is not found))
        shrunk = replace(found, examples=found.examples[:-1])
        return replace(self, classes=tuple(shrunk if c is found else c for c in self.classes))

    def _content(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": SCHEMA_VERSION,
            "threshold": self.threshold,
            "classes": [{"name": c.name, "examples": [{"source": e.source, "strokes": e.outline.to_lists()}
                                                      for e in c.examples]} for c in self.classes],
        }

    def to_json(self) -> str:
        return json.dumps({**self._content(), "hash": self.hash}, separators=(",", ":"))


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def language_from_json(text: str | bytes) -> Language:
    """Parse and check a language file; LanguageError names the field (a hash that does not match the
    content says the file was changed by hand or damaged)."""
    if len(text) > MAX_LANGUAGE_BYTES:
        raise LanguageError("(file)", f"larger than a language may be ({MAX_LANGUAGE_BYTES} bytes)")
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise LanguageError("(file)", f"not a language file (JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise LanguageError("format", f"expected {FORMAT_NAME!r}; is this a language written by `teach`?")
    version = doc.get("version")
    if (isinstance(version, bool) or not isinstance(version, int)
            or (version != SCHEMA_VERSION and version not in OLD_DEFAULT_THRESHOLDS)):
        older = ", ".join(str(v) for v in OLD_DEFAULT_THRESHOLDS)
        raise LanguageError("version", f"expected schema version {SCHEMA_VERSION} (or {older}), got {version!r}")
    classes = doc.get("classes")
    if not isinstance(classes, list) or len(classes) > MAX_CLASSES:
        raise LanguageError("classes", f"expected a list of at most {MAX_CLASSES} classes")
    threshold = doc.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise LanguageError("threshold", f"expected a number, got {threshold!r}")
    language = Language(tuple(_class_from_doc(c, f"classes[{i}]") for i, c in enumerate(classes)), float(threshold))
    stored = doc.get("hash")
    if stored != content_hash({**language._content(), "version": version}):
        raise LanguageError("hash", f"{stored!r} does not match the content: the file was changed after it was "
                                    "written; teach it again (or restore it)")
    if version in OLD_DEFAULT_THRESHOLDS:
        low, high = THRESHOLD_RANGE
        scaled = language.threshold * DEFAULT_THRESHOLD / OLD_DEFAULT_THRESHOLDS[version]
        return replace(language, threshold=min(max(round(scaled, 4), low), high))
    return language


def _class_from_doc(doc: Any, where: str) -> ShapeClass:
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise LanguageError(where, "expected {\"name\": \"HEAD=VALUE\", \"examples\": [...]}")
    try:
        head, value = parse_class_name(doc["name"])
    except LanguageError as exc:
        raise LanguageError(f"{where}.name", exc.problem) from None
    examples = doc.get("examples")
    if not isinstance(examples, list) or not 1 <= len(examples) <= MAX_EXAMPLES:
        raise LanguageError(f"{where}.examples", f"expected a list of 1..{MAX_EXAMPLES} examples")
    return ShapeClass(f"{head}={value}", tuple(_example_from_doc(e, f"{where}.examples[{j}]")
                                               for j, e in enumerate(examples)))


def _example_from_doc(doc: Any, where: str) -> Example:
    strokes = doc.get("strokes") if isinstance(doc, dict) else None
    source = doc.get("source", "") if isinstance(doc, dict) else ""
    problem = f"expected 1..{MAX_EXAMPLE_STROKES} strokes of [x, y] points (0..1), at most {MAX_EXAMPLE_POINTS} in all"
    if not isinstance(strokes, list) or not 1 <= len(strokes) <= MAX_EXAMPLE_STROKES or not isinstance(source, str):
        raise LanguageError(where, problem)
    total = 0
    for stroke in strokes:
        if not isinstance(stroke, list) or len(stroke) < 2:
            raise LanguageError(where, problem)
        total += len(stroke)
        if total > MAX_EXAMPLE_POINTS or not all(_is_point(p) for p in stroke):
            raise LanguageError(where, problem)
    return Example(shapes.outline_from_lists(strokes), source)


def _is_point(p: Any) -> bool:
    return (isinstance(p, list) and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and -0.01 <= v <= 1.01 for v in p))


def example_from_strokes(strokes: Sequence[Any], source: str = "canvas") -> Example:
    """A taught example from pen strokes (bridge.core.drawing.Stroke); LanguageError if it has no shape."""
    if len(strokes) > MAX_EXAMPLE_STROKES:
        raise LanguageError(source, f"{len(strokes)} strokes; an example has at most {MAX_EXAMPLE_STROKES}")
    found = shapes.outline([_xy(s) for s in strokes])
    if found is None:
        raise LanguageError(source, f"no shape to learn: the mark is smaller than {shapes.MIN_SIZE_PX:g} px")
    if sum(len(s) for s in found.strokes) > MAX_EXAMPLE_POINTS:
        raise LanguageError(source, "the mark is too long to learn as one shape")
    return Example(found, source)


def _xy(stroke: Any) -> np.ndarray:
    """(k, 2) float64 canvas px of a stroke's points (filled a column at a time: faster than from pairs)."""
    points = stroke.points
    xy = np.empty((len(points), 2))
    xy[:, 0] = [p.x for p in points]
    xy[:, 1] = [p.y for p in points]
    return xy


class Recogniser:
    """Recognises marks in one language. `match(strokes)`: these strokes as one shape; calling it with the
    strokes drawn so far: the shape the last stroke completes (see the module doc). Pure and deterministic."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._names = [c.name for c in language.classes for _ in c.examples]
        self._templates = shapes.TemplateSet.of(
            [shapes.features(e.outline) for c in language.classes for e in c.examples])
        # (classes, most examples): each class's template indices, padded with the index of an appended inf
        most = max((len(c.examples) for c in language.classes), default=0)
        self._slots = np.full((len(language.classes), most), len(self._names))
        start = 0
        for row, shape_class in enumerate(language.classes):
            self._slots[row, :len(shape_class.examples)] = np.arange(start, start + len(shape_class.examples))
            start += len(shape_class.examples)
        widest = max((len(e.outline.strokes) for c in language.classes for e in c.examples), default=1)
        self.max_strokes = min(widest, MAX_GROUP_STROKES)

    def match(self, strokes: Sequence[Any]) -> Gesture | None:
        """These strokes (bridge.core.drawing.Stroke) as one shape: its gesture, or None."""
        return self._match_points([_xy(s) for s in strokes])

    def _match_points(self, strokes: Sequence[np.ndarray]) -> Gesture | None:
        """`match` of strokes as (k, 2) arrays of canvas px."""
        found = shapes.outline(strokes) if self._names else None
        return None if found is None else self.match_outline(found)

    def nearest(self, outline: shapes.Outline) -> tuple[str, float] | None:
        """The nearest taught class and its distance, whatever the threshold; None with no examples.

        A class's distance is the mean distance of its two nearest examples (of its only one): a single odd
        example does not draw marks to its class."""
        if not self._names:
            return None
        distances = np.append(shapes.distances(shapes.features(outline), self._templates), np.inf)
        two = np.sort(distances[self._slots], axis=1)[:, :2]
        second = two[:, -1]
        by_class = (two[:, 0] + np.where(np.isfinite(second), second, two[:, 0])) / 2
        best = int(np.argmin(by_class))
        return self.language.classes[best].name, float(by_class[best])

    def match_outline(self, outline: shapes.Outline) -> Gesture | None:
        """The gesture of an outline (e.g. a taught example's), or None beyond the threshold."""
        found = self.nearest(outline)
        if found is None:
            return None
        name, distance = found
        threshold = self.language.threshold
        if not distance <= threshold:
            return None
        head, value = parse_class_name(name)
        return Gesture(name, head, value, round(1.0 - 0.5 * distance / threshold, 4), round(distance, 4),
                       len(outline.strokes))

    def __call__(self, strokes: Sequence[Any]) -> Gesture | None:
        if not self._names:
            return None
        group = [_xy(s) for s in trailing_group(strokes, self.max_strokes)]  # each stroke's points once
        for count in range(len(group), 0, -1):
            gesture = self._match_points(group[-count:])
            if gesture is not None:
                return gesture
        return None


def trailing_group(strokes: Sequence[Any], limit: int = MAX_GROUP_STROKES) -> list[Any]:
    """The last pen stroke and the pen strokes drawn just before it that may belong to the same shape
    (module doc), oldest first; [] when the last stroke is not a pen stroke."""
    if not strokes or strokes[-1].tool != "pen":
        return []
    group = [strokes[-1]]
    box = _box(strokes[-1])
    for earlier in reversed(strokes[:-1]):
        if len(group) >= limit or earlier.tool != "pen":
            break
        if group[0].points[0].t_ms - earlier.points[-1].t_ms > GROUP_GAP_MS:
            break
        other = _box(earlier)
        if not _near(box, other):
            break
        group.insert(0, earlier)
        box = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
    return group


def _box(stroke: Any) -> tuple[float, float, float, float]:
    xs = [p.x for p in stroke.points]
    ys = [p.y for p in stroke.points]
    return min(xs), min(ys), max(xs), max(ys)


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    side = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
    reach = max(GROUP_REACH_PX, GROUP_REACH_SHARE * side)
    gap = max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])
    return gap <= reach
