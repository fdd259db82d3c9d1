"""Deterministic example drawings for data/drawings/ (the README's replay examples and the patch tests).

    python tests/example_drawings.py [--out data/drawings]

writes `scale.json` (12 black, medium strokes, one per pitch band, A4 at the bottom up to G#5 at
the top) and `melody.json` (a short tune in several palette colours and thin/medium/thick widths),
each with its PNG beside it (bridge.adapters.drawing_files: atomic writes, the one rasteriser).

The pen moves like a hand: a point every 8-16 ms, a slight vertical wobble, a pause between strokes.
Every stroke has more ink than any stroke before it, so canvas mode (SPEC §2: the whole picture labelled by
where most of its ink is) follows the newest stroke and each pen-up plays the new note.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge.core.drawing import Drawing, Point, Stroke  # noqa: E402
from bridge.core.labels import PALETTE_HEX, PITCHES, band_center_y  # noqa: E402

log = logging.getLogger(__name__)

DEFAULT_OUT = REPO / "data" / "drawings"
GENERATOR = "tests/example_drawings.py v1"


@dataclass(frozen=True)
class NoteStroke:
    """One horizontal stroke in the band of `midi_note`, from x_start_px to x_end_px."""

    midi_note: int
    x_start_px: float
    x_end_px: float
    color: str
    width_px: float


def hand_stroke(
    note: NoteStroke, rng: np.random.Generator, *, start_ms: float, speed_px_per_ms: float = 1.2
) -> Stroke:
    """A hand-like left-to-right stroke: a point every 8-16 ms, +-1.5 px wobble, slower at both ends."""
    y0 = band_center_y(note.midi_note)
    length = note.x_end_px - note.x_start_px
    points = [Point(round(note.x_start_px, 1), round(y0, 1), round(start_ms, 1))]
    t, x = start_ms, note.x_start_px
    while x < note.x_end_px:
        dt = float(rng.uniform(8.0, 16.0))
        progress = (x - note.x_start_px) / length
        ease = 0.55 + 0.45 * np.sin(np.pi * min(max(progress, 0.0), 1.0))  # slow start and end
        x = min(x + dt * speed_px_per_ms * ease, note.x_end_px)
        t += dt
        y = y0 + float(rng.uniform(-1.5, 1.5))
        points.append(Point(round(x, 1), round(y, 1), round(t, 1)))
    return Stroke(tuple(points), note.color, note.width_px)


def build_drawing(notes: Sequence[NoteStroke], *, seed: int, title: str, gap_ms: tuple[float, float]) -> Drawing:
    """Strokes one after another with a random pause of gap_ms (min, max) between them."""
    rng = np.random.default_rng(seed)
    strokes: list[Stroke] = []
    t_ms = 0.0
    for note in notes:
        stroke = hand_stroke(note, rng, start_ms=t_ms)
        strokes.append(stroke)
        t_ms = stroke.points[-1].t_ms + float(rng.uniform(*gap_ms))
    meta = {"title": title, "generator": GENERATOR, "seed": seed}
    return Drawing(tuple(strokes), meta=meta)


def scale_notes() -> list[NoteStroke]:
    """A4 (bottom band) up to G#5 (top band), black, 15 px; each stroke 30 px longer than the last."""
    return [
        NoteStroke(note, 8.0, 8.0 + 60.0 + 30.0 * i, PALETTE_HEX["keyboard"], 15.0)
        for i, note in enumerate(PITCHES)
    ]


# (MIDI note, timbre, width px): a short tune; thin (low), medium and thick (high) strokes.
MELODY: tuple[tuple[int, str, float], ...] = (
    (69, "flute", 6.0),
    (72, "flute", 8.0),
    (76, "string", 12.0),
    (74, "brass", 15.0),
    (72, "reed", 18.0),
    (77, "organ", 22.0),
    (76, "guitar", 25.0),
    (69, "vocal", 28.0),
)


def melody_notes(*, growth: float = 1.2, last_length_px: float = 18.0, gap_px: float = 2.0) -> list[NoteStroke]:
    """The MELODY left to right like a score; each stroke's ink (a capsule: length x width + round caps)
    is `growth` times the previous stroke's, counted back from the last stroke's length."""
    lengths = []
    ink = MELODY[-1][2] * last_length_px + np.pi * (MELODY[-1][2] / 2) ** 2
    for _, _, width in reversed(MELODY):
        lengths.append((ink - np.pi * (width / 2) ** 2) / width)
        ink /= growth
    notes = []
    x = 6.0
    for (note, timbre, width), length in zip(MELODY, reversed(lengths)):
        notes.append(NoteStroke(note, round(x + width / 2, 1), round(x + width / 2 + length, 1),
                                PALETTE_HEX[timbre], width))
        x += length + width + gap_px
    if x > 400.0:
        raise ValueError(f"the melody needs {x:.0f} px: wider than the canvas")
    return notes


def example_drawings() -> dict[str, Drawing]:
    """name -> drawing; the same every time."""
    return {
        "scale": build_drawing(scale_notes(), seed=1, title="scale A4..G#5", gap_ms=(180.0, 260.0)),
        "melody": build_drawing(melody_notes(), seed=2, title="melody in several timbres", gap_ms=(200.0, 320.0)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/example_drawings.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    from bridge.adapters.drawing_files import save_drawing

    for name, drawing in example_drawings().items():
        path, _ = save_drawing(drawing, args.out / f"{name}.json")
        print(f"{path}: {len(drawing.strokes)} strokes, {drawing.duration_ms() / 1000:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
