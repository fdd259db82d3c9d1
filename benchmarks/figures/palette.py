"""`palette_ms`: what the composer's palette adds to one live classification (bridge/core/palette.py).

Measured on an 8-colour palette far from the default eight with two close pairs (the one in
`benchmarks/palette_accuracy.py`):

- the figure: a stroke voice's timbre from its pen colour and the relabelled prediction
  (`palette.relabel(prediction, palette.probabilities(rgb))`, what the engine adds to the model for a stroke's ink),
  cycling over the palette's colours and 8 off-palette ones, as a session does (the per-colour answer is
  cached, so this is the steady state);
- note `first_colour`: the same for a colour never seen before (CIELAB and CIEDE2000 computed);
- note `canvas`: the picture path of canvas mode, `palette.ink_probabilities(canvas)` on a canvas of 6
  strokes in 6 colours (the grid's blocks, coverage fits, CIEDE2000 per distinct block);
- note `with_model`: the model's classification plus the stroke path, the whole live call.

Each is timed back to back after a warm-up, wall clock and thread CPU time (the CPU p99 shows the code's
own cost on a machine shared with other work). Budget: well under 1 ms for the stroke path.
"""

from __future__ import annotations

import os

import numpy as np

from benchmarks.figures import Figure, percentiles_ms
from benchmarks.figures.classify import bench_canvas, time_calls_ms

CALLS, QUICK_CALLS = 5000, 200
PALETTE = {"keyboard": ["#000000"], "organ": ["#808080"], "flute": ["#20B2AA", "#87CEEB"], "string": ["#D00000"],
           "brass": ["#B22222"], "vocal": ["#FFD700"], "reed": ["#9ACD32"]}
OFF_PALETTE = ("#1E90FF", "#228B22", "#FF69B4", "#6A0DAD", "#E6A700", "#8B4513", "#40E0D0", "#333333")


def canvas_of_strokes():
    """A canvas with six wavy strokes of six palette colours and widths 3..25 px; uint8 (400, 400, 3)."""
    from bridge.core.drawing import Drawing, Point, Stroke
    from bridge.core.raster import rasterise

    colors = ("#000000", "#808080", "#20B2AA", "#D00000", "#FFD700", "#9ACD32")
    strokes = []
    for k, (color, width) in enumerate(zip(colors, (3.0, 6.0, 10.0, 14.0, 20.0, 25.0), strict=True)):
        xs = np.arange(30.0, 370.0, 8.0)
        strokes.append(Stroke(tuple(Point(x, 40 + 62 * k + 8 * np.sin(x / 30), i) for i, x in enumerate(xs)),
                              color, width))
    return rasterise(Drawing(tuple(strokes)))


def stat(samples: list[float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in percentiles_ms(samples).items() if k != "n"}


def measure(*, quick: bool = False) -> list[Figure]:
    from bridge.adapters.image_classifier import load_image_classifier
    from bridge.core.labels import parse_hex_color
    from bridge.core.palette import Palette, _probabilities

    palette = Palette.from_dict(PALETTE)
    count = QUICK_CALLS if quick else CALLS
    colors = [parse_hex_color(c) for c in (*palette.colors, *OFF_PALETTE)]
    classifier = load_image_classifier()
    prediction = classifier.classify(bench_canvas())
    turn = iter(range(10**9))

    def stroke_path():
        rgb = colors[next(turn) % len(colors)]
        return palette.relabel(prediction, palette.probabilities(rgb))

    def first_colour():
        rgb = colors[next(turn) % len(colors)]
        return palette.relabel(prediction, _probabilities.__wrapped__(palette, rgb))

    canvas = canvas_of_strokes()
    stroke_canvas = bench_canvas()
    wall, cpu = time_calls_ms(stroke_path, count)
    first, _ = time_calls_ms(first_colour, count // 5)
    picture, picture_cpu = time_calls_ms(lambda: palette.ink_probabilities(canvas), count // 5)
    whole, _ = time_calls_ms(lambda: palette.relabel(classifier.classify(stroke_canvas), palette.probabilities(
        colors[next(turn) % len(colors)])), count // 5)
    value = percentiles_ms(wall)
    return [Figure(
        key="palette_ms",
        title="palette timbre of a stroke voice",
        unit="ms",
        value=value,
        notes={
            "cpu": stat(cpu), "first_colour": stat(first), "canvas": stat(picture), "canvas_cpu": stat(picture_cpu),
            "with_model": stat(whole), "colours": len(palette.entries),
            "load_avg_1min": round(os.getloadavg()[0], 2), "budget_p99_ms": 1.0,
            "within_budget": bool(value["p99"] <= 1.0),
        },
    )]
