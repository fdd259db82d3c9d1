"""The figures of `run_bridge.py bench`: one module a figure, each with `measure(*, quick: bool) -> list[Figure]`
(bridge/commands/bench.py lists them in table order)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


def cpu_ticks() -> tuple[int, int] | None:
    """(stolen, total) CPU time of the machine so far, in clock ticks, from Linux's /proc/stat; None elsewhere.

    Stolen time is the time a hypervisor gave this virtual machine's CPUs to something else while they had
    work: a thread it falls on stops for milliseconds, which a latency's tail shows and no code here can
    prevent, so the timing figures note the share of it while they measured."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:]]
    return ticks[7], sum(ticks[:8])  # user nice system idle iowait irq softirq steal (guest time is in user)


def stolen_percent(since: tuple[int, int] | None) -> float | None:
    """The share of the machine's CPU time stolen since a `cpu_ticks()` reading, in %; None without one."""
    now = cpu_ticks()
    if since is None or now is None or now[1] <= since[1]:
        return None
    return round(100.0 * (now[0] - since[0]) / (now[1] - since[1]), 2)
