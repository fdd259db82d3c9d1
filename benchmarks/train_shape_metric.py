"""Fit the taught-shape metric (bridge.core.shape_metric) and write bridge/core/shape_metric_weights.py.

    python benchmarks/train_shape_metric.py [--seeds 4] [--leave-out triangle,spiral] [--out PATH]

Pairs (a drawing, a taught example) of hands A, B and C of tests/shape_drawings.py (never D: it only tests),
every hand against every hand: for each hand and seed, 5 examples of each shape (seed 5000+) against 50 new
drawings of each shape (seed 6000+) and 25 of each unrelated mark (seed 7000+, never one shape with an
example) of the three hands. These are other seeds than benchmarks/language_accuracy.py's. Labelled one
shape or not, fitted by bridge.training.shape_metric (deterministic).

Then a check on other seeds (examples 5100+, drawings 6100+): for every pair of hands, D included, the
share of drawings whose nearest class (3 examples a class, two nearest examples' mean) is their own, per
shape. `--leave-out` fits without those shapes (as examples or drawings) to show the metric tells apart
shapes it never saw; write it elsewhere with `--out` (the default path is the recogniser's).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from shape_drawings import SHAPES, STYLES, UNRELATED, shape_drawing  # noqa: E402

from bridge.core import shapes  # noqa: E402
from bridge.training import shape_metric  # noqa: E402

EXAMPLES = 5
TESTS = 50
HANDS = "ABC"


def _features(kind: str, seed: int, index: int, hand: str) -> shapes.Features | None:
    drawing = shape_drawing(kind, seed=seed, index=index, style=STYLES[hand])
    found = shapes.outline([np.array([(p.x, p.y) for p in s.points]) for s in drawing.strokes])
    return None if found is None else shapes.features(found)


def _examples(hand: str, seed: int, count: int, shown: tuple[str, ...]) -> tuple[shapes.TemplateSet, np.ndarray]:
    items, kinds = [], []
    for kind in shown:
        for i in range(count):
            found = _features(kind, seed, i, hand)
            assert found is not None
            items.append(found)
            kinds.append(kind)
    return shapes.TemplateSet.of(items), np.array(kinds)


def pairs(seeds: range, shown: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    rows, same = [], []
    for seed in seeds:
        marks = [(kind, f) for hand in HANDS for kind in shown for i in range(TESTS)
                 if (f := _features(kind, 6000 + seed, i, hand)) is not None]
        marks += [(kind, f) for hand in HANDS for kind in UNRELATED for i in range(TESTS // 2)
                  if (f := _features(kind, 7000 + seed, i, hand)) is not None]
        for hand in HANDS:
            templates, kinds = _examples(hand, 5000 + seed, EXAMPLES, shown)
            for kind, found in marks:
                allowed = templates.line_like == found.line_like
                rows.append(shapes.pair_features(found, templates)[allowed])
                same.append((kinds == kind)[allowed])
    return np.concatenate(rows), np.concatenate(same)


def check(model: shape_metric.Fit, seeds: range) -> None:
    print("nearest class right, 3 examples a class (validation seeds):")
    print("hands  " + " ".join(f"{s:>9s}" for s in SHAPES) + "      all")
    for taught in "ABCD":
        for tested in "ABCD":
            right = np.zeros(len(SHAPES))
            count = 0
            for seed in seeds:
                templates, _ = _examples(taught, 5100 + seed, 3, SHAPES)
                for column, kind in enumerate(SHAPES):
                    for i in range(TESTS // 2):
                        found = _features(kind, 6100 + seed, i, tested)
                        assert found is not None
                        d = -shape_metric.logits(model, shapes.pair_features(found, templates))
                        d = np.where(templates.line_like == found.line_like, d, np.inf)
                        by_class = np.sort(d.reshape(len(SHAPES), 3), axis=1)[:, :2].mean(axis=1)
                        right[column] += SHAPES[int(np.argmin(by_class))] == kind
                count += TESTS // 2
            shares = right / count
            print(f"{taught}->{tested}  " + " ".join(f"{s:9.1%}" for s in shares) + f"  {shares.mean():7.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--leave-out", default="", help="shapes to fit without, comma-separated")
    parser.add_argument("--out", type=Path, default=REPO / "bridge" / "core" / "shape_metric_weights.py")
    parser.add_argument("--hidden", default="32,16", help="units of the hidden layers, comma-separated")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args(argv)
    left_out = tuple(s for s in args.leave_out.split(",") if s)
    shown = tuple(s for s in SHAPES if s not in left_out)
    started = time.perf_counter()
    x, y = pairs(range(args.seeds), shown)
    print(f"{len(x)} pairs ({y.mean():.1%} one shape) in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    model = shape_metric.fit(x, y, hidden=tuple(int(n) for n in args.hidden.split(",")), epochs=args.epochs)
    print(f"fitted in {time.perf_counter() - started:.0f} s")
    note = (f"hands {HANDS}, {args.seeds} seeds, shapes {', '.join(shown)}; {len(x)} pairs."
            if not left_out else f"LEFT OUT: {', '.join(left_out)}; hands {HANDS}, {args.seeds} seeds.")
    args.out.write_text(shape_metric.as_module(model, shapes.PAIR_FEATURES, note))
    print(f"wrote {args.out}")
    if not args.no_check:
        check(model, range(2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
