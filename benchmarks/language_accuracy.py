"""How well a taught language recognises shapes it was never shown, and how well it rejects other marks.

    python benchmarks/language_accuracy.py [--tests 50] [--seeds 3] [--threshold T] [--confusions]

For each hand of tests/shape_drawings.py (A careful, B loose, C another consistent hand, D a hand with habits
none of the others has, never used to tune the recogniser) and for teaching with one hand and testing with
another (every ordered pair of hands), a language is taught 1, 3 and 5 examples of
each of the six shapes (circle, zigzag, wave, spiral, triangle, cross; each a class of its own) from one seed,
then asked about `--tests` new drawings of each shape from another seed, `--seeds` times over. A drawing
counts as right when it is recognised as its own class (a rejection counts as wrong); "nearest" is the share
whose nearest class is right, whatever the threshold. `--confusions` prints, for each pair of hands (3
examples a class), what the shapes not recognised were taken for (`rejected` beyond the threshold).

Rejection: the same languages (3 examples a class) are shown marks that are none of the shapes (lines and
wavy notes as they are played, dabs, scribbles, squares, stars, hearts, check marks, arrows, plus signs); the
script prints, for a range of thresholds, the share of right shapes rejected (false reject) and of each kind
of mark accepted (false accept). Teaching time is the time to build a language from the drawings.
Prints tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from shape_drawings import SHAPES, STYLES, UNRELATED, shape_drawing  # noqa: E402

from bridge.core import shapes  # noqa: E402
from bridge.core.language import DEFAULT_THRESHOLD, Language, Recogniser, example_from_strokes  # noqa: E402

# One class per shape; the label does not matter to recognition.
CLASS_OF = dict(zip(SHAPES, ("timbre=brass", "timbre=guitar", "timbre=keyboard", "timbre=organ", "timbre=string",
                             "timbre=vocal")))
PAIRS = ("AA", "BB", "CC", "AB", "BA", "AC", "CA", "BC", "CB", "DD", "AD", "BD", "CD", "DA", "DB", "DC")
EXAMPLES = (1, 3, 5)
THRESHOLDS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def teach(hand: str, per_class: int, seed: int, threshold: float) -> tuple[Language, float]:
    """A language of the six shapes, `per_class` drawings each; and the seconds it took."""
    drawings = {s: [shape_drawing(s, seed=1000 + seed, index=i, style=STYLES[hand]) for i in range(per_class)]
                for s in SHAPES}
    started = time.perf_counter()
    language = Language(threshold=threshold)
    for shape, items in drawings.items():
        for i, drawing in enumerate(items):
            language = language.with_example(CLASS_OF[shape], example_from_strokes(drawing.strokes, f"{shape}-{i}"))
    Recogniser(language)  # building the recogniser (every template's features) is part of teaching
    return language, time.perf_counter() - started


def nearest(recogniser: Recogniser, strokes) -> tuple[str | None, float]:
    """The nearest class and its distance, whatever the threshold (None, inf for a mark with no shape)."""
    found = shapes.outline([np.array([(p.x, p.y) for p in s.points]) for s in strokes])
    nearest = None if found is None else recogniser.nearest(found)
    return (None, float("inf")) if nearest is None else nearest


def accuracy(args: argparse.Namespace) -> tuple[dict, list[float], float, dict]:
    """{pair: {k: {shape: (right share, nearest share)}}}, the distances of right answers (3 examples), the
    longest teaching time, and {pair: {(shape, taken for): count}} of the shapes not recognised (3 examples)."""
    table: dict = {}
    confusions: dict = {pair: {} for pair in PAIRS}
    right_distances: list[float] = []
    slowest = 0.0
    for pair in PAIRS:
        table[pair] = {}
        for k in EXAMPLES:
            right = {s: 0 for s in SHAPES}
            near = {s: 0 for s in SHAPES}
            for seed in range(args.seeds):
                language, seconds = teach(pair[0], k, seed, args.threshold)
                slowest = max(slowest, seconds)
                recogniser = Recogniser(language)
                for shape in SHAPES:
                    for i in range(args.tests):
                        drawing = shape_drawing(shape, seed=2000 + seed, index=i, style=STYLES[pair[1]])
                        name, distance = nearest(recogniser, drawing.strokes)
                        hit = name == CLASS_OF[shape]
                        near[shape] += hit
                        right[shape] += hit and distance <= language.threshold
                        if hit and k == 3 and pair[0] == pair[1]:
                            right_distances.append(distance)
                        if k == 3 and not (hit and distance <= language.threshold):
                            taken = SHAPES[list(CLASS_OF.values()).index(name)] if name else "no shape"
                            key = (shape, taken if distance <= language.threshold else "rejected")
                            confusions[pair][key] = confusions[pair].get(key, 0) + 1
            count = args.seeds * args.tests
            table[pair][k] = {s: (right[s] / count, near[s] / count) for s in SHAPES}
    return table, right_distances, slowest, confusions


def rejection(args: argparse.Namespace) -> dict[str, list[float]]:
    """Per kind of unrelated mark, its distance to the nearest class of each language (3 examples a class)."""
    found: dict[str, list[float]] = {kind: [] for kind in UNRELATED}
    for hand in "ABC":
        for seed in range(args.seeds):
            recogniser = Recogniser(teach(hand, 3, seed, args.threshold)[0])
            for kind in UNRELATED:
                for i in range(args.tests // 2):
                    drawing = shape_drawing(kind, seed=3000 + seed, index=i, style=STYLES[hand])
                    found[kind].append(nearest(recogniser, drawing.strokes)[1])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50, help="test drawings per shape and seed")
    parser.add_argument("--seeds", type=int, default=3, help="taught languages per setting")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--confusions", action="store_true", help="what unrecognised shapes were taken for")
    args = parser.parse_args(argv)
    table, right_distances, slowest, confusions = accuracy(args)
    print(f"recognised as its own class (threshold {args.threshold}); in brackets: nearest class right")
    print("hands   k  " + "  ".join(f"{s:>13s}" for s in SHAPES) + "        all")
    out: dict = {"threshold": args.threshold, "tests": args.tests, "seeds": args.seeds, "accuracy": {}}
    for pair, rows in table.items():
        for k, cells in rows.items():
            mean = np.mean([c[0] for c in cells.values()])
            mean_near = np.mean([c[1] for c in cells.values()])
            text = "  ".join(f"{c[0]:6.1%} ({c[1]:4.0%})" for c in cells.values())
            print(f"{pair[0]}->{pair[1]}  {k}  {text}  {mean:6.1%} ({mean_near:.1%})")
            out["accuracy"][f"{pair}/{k}"] = round(float(mean), 4)
    if args.confusions:
        print("\nnot recognised (3 examples a class): shape -> taken for: drawings")
        for pair, found in confusions.items():
            top = sorted(found.items(), key=lambda item: -item[1])
            print(f"{pair[0]}->{pair[1]}  " + ", ".join(f"{s}->{t}: {n}" for (s, t), n in top))
    unrelated = rejection(args)
    right = np.array(right_distances)
    print("\nrejection (3 examples a class, same hand): false reject of right shapes, false accept per mark")
    print("threshold  reject  " + "  ".join(f"{k:>8s}" for k in UNRELATED))
    out["rejection"] = {}
    for threshold in THRESHOLDS:
        reject = float((right > threshold).mean())
        accepts = {k: float((np.array(v) <= threshold).mean()) for k, v in unrelated.items()}
        print(f"{threshold:9.2f}  {reject:6.1%}  " + "  ".join(f"{a:8.1%}" for a in accepts.values()))
        out["rejection"][str(threshold)] = {"false_reject": round(reject, 4), **{k: round(a, 4)
                                                                                for k, a in accepts.items()}}
    print(f"\nteaching: at most {slowest * 1000:.0f} ms for a language (6 classes, up to 5 examples each)")
    out["teach_ms_max"] = round(slowest * 1000, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
