"""`classify_language_ms`: recognising a taught shape at pen up (bridge/core/language.py), and teaching.

The figure: `Recogniser(strokes)`, what the engine adds at each pen up with a language: the strokes that may
form the shape (grouping), their outline, features and distances to every example, for each candidate group
(the shipped language has a two-stroke class, so a second stroke is tried alone and with the one before).
The language is the shipped one (data/languages/shapes: 6 classes of 3 examples); the marks are its 18
example drawings (a cross is timed at its second stroke), a 300 px line and a 120 px scribble, cycled,
timed back to back after a warm-up, wall clock and thread CPU time.

Notes: `examples_30` (and `examples_30_cpu_ms`) is the same call with a language of 6 classes of 5 examples
(each example twice, as teaching more examples makes it); `teach_ms`, the time `teach` takes to build the
shipped language from its drawings (read, outlines, the recogniser's features), median of a few runs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.figures import Figure, percentiles_ms
from benchmarks.figures.classify import time_calls_ms

CALLS, QUICK_CALLS = 3000, 200
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "languages" / "shapes"


def _marks() -> list[list]:
    """Stroke lists as the engine passes them at a pen up: each example drawing, a long line, a scribble."""
    from bridge.adapters.drawing_files import read_drawing
    from bridge.core.drawing import Point, Stroke

    marks = []
    for path in sorted((SHIPPED / "examples").glob("*/*.json")):
        marks.append(list(read_drawing(path).strokes))
    line = Stroke(tuple(Point(40 + 3 * i, 200 + (i % 3) * 0.5, 10 * i) for i in range(100)), "#000000", 12.0)
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0, 6, (60, 2)), axis=0) + 200
    scribble = Stroke(tuple(Point(float(x), float(y), 10 * i) for i, (x, y) in enumerate(walk)), "#000000", 8.0)
    return [*marks, [line], [scribble]]


def _teach_ms(runs: int) -> float:
    """Median ms to build the shipped language from its example drawings, as `teach` does."""
    from bridge.commands.teach import _taught
    from bridge.core.language import Language, Recogniser

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        language, _ = _taught(SHIPPED / "examples", Language())
        Recogniser(language)
        times.append((time.perf_counter() - started) * 1000.0)
    return float(np.median(times))


def _doubled(language):
    """Each class with 5 examples (its 3, then the first two again)."""
    return replace(language, classes=tuple(replace(c, examples=c.examples + c.examples[:2])
                                           for c in language.classes))


def measure(*, quick: bool = False) -> list[Figure]:
    from bridge.adapters.language_files import read_language
    from bridge.core.language import Recogniser

    language = read_language(SHIPPED / "language.json")
    marks = _marks()
    count = QUICK_CALLS if quick else CALLS

    def timed(recogniser: Recogniser) -> tuple[list[float], list[float]]:
        state = {"i": 0}

        def call() -> None:
            recogniser(marks[state["i"] % len(marks)])
            state["i"] += 1

        return time_calls_ms(call, count)

    wall, cpu = timed(Recogniser(language))
    wall_30, cpu_30 = timed(Recogniser(_doubled(language)))
    return [Figure(
        key="classify_language_ms",
        title="recognise a taught shape (pen up)",
        unit="ms",
        value=percentiles_ms(wall),
        notes={"cpu_ms": {k: round(v, 4) for k, v in percentiles_ms(cpu).items() if k != "n"},
               "examples_30": {k: round(v, 4) for k, v in percentiles_ms(wall_30).items() if k != "n"},
               "examples_30_cpu_ms": {k: round(v, 4) for k, v in percentiles_ms(cpu_30).items() if k != "n"},
               "teach_ms": round(_teach_ms(3 if quick else 10), 1),
               "language": f"{len(language.classes)} classes, {language.example_count} examples ({SHIPPED.name})",
               "path": "grouping + outline + joined paths + features + chamfer distances over 3 turns and the mirror "
                       "image + the two nearest examples of each class (numpy)"},
    )]
