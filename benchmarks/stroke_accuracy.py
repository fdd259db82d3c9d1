"""Per-stroke accuracy of the committed image model on realistic multi-stroke mouse drawings.

    python benchmarks/stroke_accuracy.py --drawings 60 --seed 1

Every stroke of `tests/stroke_drawings.py`'s drawings is rendered alone (the one rasteriser, grid on)
and classified by the committed LiteRT model, as a voice is (SPEC §2 "Voices"), in three states:

- `stroke`: the whole stroke (pen up);
- `first_point`: its first point alone, a dab (pen down);
- `first_30ms`: its points within 30 ms of pen down.

A prefix is scored against its own ink's truth (`own`: can the model read what is drawn?) and against
the whole stroke's truth (`final`: does pen down already give the voice's label?). Prints a table, the
errors in detail, the time of one `classify` call and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from stroke_drawings import multi_stroke_drawings, stroke_alone, stroke_truth  # noqa: E402

from bridge.adapters.image_classifier import load_image_classifier  # noqa: E402
from bridge.core.drawing import Stroke  # noqa: E402
from bridge.core.labels import GRID_STEP_PX, HEADS, Labels, volume_for_width  # noqa: E402
from bridge.core.raster import rasterise  # noqa: E402
from bridge.training.image_data import DataRecipe  # noqa: E402

PREFIX_MS = 30.0
STATES = ("stroke", "first_point", "first_30ms")
TARGET = 0.995
MIN_INK_PX2 = DataRecipe().min_ink_px2  # the training data redraws drawings with less ink


def prefix(stroke: Stroke, state: str) -> Stroke:
    if state == "stroke":
        return stroke
    if state == "first_point":
        return Stroke(stroke.points[:1], stroke.color, stroke.width_px, stroke.tool)
    t0 = stroke.points[0].t_ms
    points = tuple(p for p in stroke.points if p.t_ms - t0 <= PREFIX_MS)
    return Stroke(points, stroke.color, stroke.width_px, stroke.tool)


def measure(drawings: int, seed: int, *, timing_calls: int = 300) -> dict:
    classifier = load_image_classifier()
    pairs = multi_stroke_drawings(seed, drawings)
    rows = []
    for d, (drawing, truths) in enumerate(pairs):
        for s, (stroke, truth, info) in enumerate(zip(drawing.strokes, truths, drawing.meta["strokes"])):
            ys = sorted(p.y for p in stroke.points)
            y_mid = ys[len(ys) // 2]
            dy_grid = y_mid - GRID_STEP_PX * round(y_mid / GRID_STEP_PX)  # median y from the nearest grid line
            span = max(p.x for p in stroke.points) - min(p.x for p in stroke.points)
            for state in STATES:
                part = prefix(stroke, state)
                if state == "stroke":
                    own, share, ink_px2 = truth, info["band_share"], info["ink_px2"]
                else:
                    own, share, ink_px2 = stroke_truth(part)
                prediction = classifier.classify(rasterise(stroke_alone(part)))
                rows.append({
                    "drawing": d, "stroke": s, "state": state, "kind": info["kind"], "width": stroke.width_px,
                    "band": info["band"], "band_share": share, "colour": stroke.color, "points": len(part.points),
                    "ink_px2": round(ink_px2, 1), "dy_grid": dy_grid, "span": span,
                    "final": truth, "own": own, "pred": prediction.labels, "conf": prediction.confidences(),
                })
    image = rasterise(stroke_alone(pairs[0][0].strokes[0]))
    for _ in range(20):
        classifier.classify(image)
    times = []
    for _ in range(timing_calls):
        start = time.perf_counter()
        classifier.classify(image)
        times.append((time.perf_counter() - start) * 1000)
    raster_times = []
    for stroke in pairs[0][0].strokes:
        start = time.perf_counter()
        rasterise(stroke_alone(stroke))
        raster_times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "rows": rows, "model": classifier.version,
        "classify_ms": {"median": round(statistics.median(times), 3),
                        "p99": round(times[min(int(0.99 * len(times)), len(times) - 1)], 3), "calls": len(times)},
        "rasterise_stroke_ms": {"median": round(statistics.median(raster_times), 3), "strokes": len(raster_times)},
    }


def accuracy(rows: list[dict], against: str) -> dict[str, float]:
    return {h: sum(getattr(r["pred"], h) == getattr(r[against], h) for r in rows) / len(rows) for h in HEADS}


def _labels(labels: Labels) -> str:
    return f"{labels.pitch}/{labels.volume}/{labels.timbre}"


def report(result: dict, drawings: int, seed: int) -> dict:
    rows = result["rows"]
    by_state = {state: [r for r in rows if r["state"] == state] for state in STATES}
    n = len(by_state["stroke"])
    summary: dict = {"drawings": drawings, "seed": seed, "strokes": n, "model": result["model"], "accuracy": {}}
    print(f"{drawings} drawings (seed {seed}), {n} strokes, model {result['model']}; each stroke rendered alone\n")
    print(f"{'state':<13}{'truth':<7}" + "".join(f"{h:>9}" for h in HEADS) + f"{'all 3':>9}")
    for state in STATES:
        for against in (("final",) if state == "stroke" else ("own", "final")):
            acc = accuracy(by_state[state], against)
            both = sum(r["pred"] == r[against] for r in by_state[state]) / n
            summary["accuracy"][f"{state}" if state == "stroke" else f"{state}_vs_{against}"] = {
                **{h: round(a, 4) for h, a in acc.items()}, "all": round(both, 4)}
            print(f"{state:<13}{against:<7}" + "".join(f"{100 * a:>8.1f}%" for a in acc.values())
                  + f"{100 * both:>8.1f}%")
    print(f"\nonly strokes (or prefixes) with >= {MIN_INK_PX2:g} px^2 of ink, as every training drawing has:")
    for state in STATES:
        against = "final" if state == "stroke" else "own"
        sub = [r for r in by_state[state] if r["ink_px2"] >= MIN_INK_PX2]
        acc = accuracy(sub, against)
        both = sum(r["pred"] == r[against] for r in sub) / len(sub)
        summary["accuracy"][f"{state}_inked"] = {**{h: round(a, 4) for h, a in acc.items()}, "all": round(both, 4),
                                                 "n": len(sub)}
        print(f"{state:<13}{against:<7}" + "".join(f"{100 * a:>8.1f}%" for a in acc.values())
              + f"{100 * both:>8.1f}%  (n={len(sub)})")
    kinds = sorted({r["kind"] for r in by_state["stroke"]})
    print("\nwhole stroke by kind (n, pitch, volume, timbre):")
    for kind in kinds:
        sub = [r for r in by_state["stroke"] if r["kind"] == kind]
        acc = accuracy(sub, "final")
        summary.setdefault("stroke_by_kind", {})[kind] = {**{h: round(a, 4) for h, a in acc.items()}, "n": len(sub)}
        print(f"  {kind:<9}{len(sub):>4}" + "".join(f"{100 * a:>8.1f}%" for a in acc.values()))
    print("\nfirst point (own truth) by width class (n, pitch, volume, timbre):")
    for volume in ("low", "med", "high"):
        sub = [r for r in by_state["first_point"] if volume_for_width(r["width"]) == volume]
        acc = accuracy(sub, "own")
        print(f"  {volume:<9}{len(sub):>4}" + "".join(f"{100 * a:>8.1f}%" for a in acc.values()))
    summary["errors"] = {}
    for state in STATES:
        against = "final" if state == "stroke" else "own"
        errors = [r for r in by_state[state] if r["pred"] != r[against]]
        counts = Counter(h for r in errors for h in HEADS if getattr(r["pred"], h) != getattr(r[against], h))
        summary["errors"][state] = dict(counts)
        print(f"\nerrors, {state} vs {against} truth: {len(errors)} strokes {dict(counts)}")
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in errors:
            groups[tuple(h for h in HEADS if getattr(r["pred"], h) != getattr(r[against], h))].append(r)
        for heads, group in sorted(groups.items()):
            print(f"  wrong {'+'.join(heads)}: {len(group)}")
            for r in group[: 60 if state == "stroke" else 25]:
                conf = " ".join(f"{r['conf'][h]:.2f}" for h in heads)
                print(f"    d{r['drawing']:02d}s{r['stroke']} {r['kind']:<8} w={r['width']:<4g} band={r['band']:<2} "
                      f"share={r['band_share']:.2f} {r['colour']} pts={r['points']:<3} ink={r['ink_px2']:<7g} "
                      f"span={r['span']:<5g} dy_grid={r['dy_grid']:<+5g} "
                      f"truth {_labels(r[against])} -> {_labels(r['pred'])} (p {conf})")
            if len(group) > (60 if state == "stroke" else 25):
                print(f"    ... {len(group) - (60 if state == 'stroke' else 25)} more")
    summary["classify_ms"] = result["classify_ms"]
    summary["rasterise_stroke_ms"] = result["rasterise_stroke_ms"]
    summary["below_target"] = [h for h in HEADS if summary["accuracy"]["stroke"][h] < TARGET]
    print(f"\none classify call (preprocess + LiteRT, 1 thread): median {result['classify_ms']['median']} ms, "
          f"p99 {result['classify_ms']['p99']} ms ({result['classify_ms']['calls']} calls); "
          f"rasterising one stroke alone: median {result['rasterise_stroke_ms']['median']} ms")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drawings", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary = report(measure(args.drawings, args.seed), args.drawings, args.seed)
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
