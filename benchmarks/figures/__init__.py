"""The figures of `run_bridge.py bench`: one module a figure, each with `measure(*, quick: bool) -> list[Figure]`
(bridge/commands/bench.py lists them in table order)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Figure:
    """One benchmark figure. `value` is what goes into the JSON output under `key`.

    For a timing, value is {"p50": ..., "p99": ...} in `unit`; a baseline (a straightforward approach to
    the same job, measured in the same run; each figure's module names it) goes under `baseline_key` with
    the same shape.
    """

    key: str
    title: str
    unit: str
    value: dict[str, float] | float
    baseline_key: str | None = None
    baseline: dict[str, float] | float | None = None
    higher_is_better: bool = False
    notes: dict[str, object] = field(default_factory=dict)

    def ratio(self) -> float | None:
        """How many times better than the baseline (by median for timings)."""
        if self.baseline is None:
            return None
        new = self.value["p50"] if isinstance(self.value, dict) else self.value
        old = self.baseline["p50"] if isinstance(self.baseline, dict) else self.baseline
        if not new or not old:
            return None
        return new / old if self.higher_is_better else old / new


def percentiles_ms(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    """{"p50", "p99"} of a list of durations in ms (and the count, for the record)."""
    arr = np.asarray(samples_ms, dtype=np.float64)
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)), "n": int(arr.size)}
