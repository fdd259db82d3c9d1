"""`bench`: measure the live path against a baseline measured in the same run and print a table."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.figures import Figure

# Each figure is a module of the source checkout's benchmarks/figures/ package with
# `measure(*, quick: bool) -> list[Figure]`; listed in table order.
FIGURE_MODULES: tuple[str, ...] = ("classify", "midi", "index", "match", "canvas", "replay", "midi_out",
                                   "score", "palette", "language")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure latencies and throughput (median, p99, vs. a baseline)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for smoke tests)")
    parser.add_argument("--only", action="append", choices=FIGURE_MODULES, help="measure only these figures")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    figures: list[Figure] = []
    for name in args.only or FIGURE_MODULES:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.figures.{name}")
        except ModuleNotFoundError as exc:
            if exc.name not in ("benchmarks", "benchmarks.figures"):
                raise
            print("error: the benchmarks live in the source checkout; run `python run_bridge.py bench` from it",
                  file=sys.stderr)
            return 1
        figures.extend(module.measure(quick=args.quick))
    if args.json:
        out: dict[str, object] = {}
        for fig in figures:
            out[fig.key] = fig.value
            if fig.baseline_key:
                out[fig.baseline_key] = fig.baseline
                out[f"{fig.key}_ratio"] = fig.ratio()
            out.update({f"{fig.key}_{k}": v for k, v in fig.notes.items()})
        print(json.dumps(out))
    else:
        print(format_table(figures))
    return 0


def _fmt(value: dict[str, float] | float | None, key: str) -> str:
    if value is None:
        return "-"
    number = value.get(key) if isinstance(value, dict) else (value if key == "p50" else None)
    return "-" if number is None else f"{number:.3f}"


def format_table(figures: list[Figure]) -> str:
    header = ("figure", "unit", "median", "p99", "baseline median", "baseline p99", "ratio")
    rows = [header]
    for fig in figures:
        ratio = fig.ratio()
        rows.append((
            fig.title, fig.unit, _fmt(fig.value, "p50"), _fmt(fig.value, "p99"),
            _fmt(fig.baseline, "p50"), _fmt(fig.baseline, "p99"), "-" if ratio is None else f"{ratio:.1f}x",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
