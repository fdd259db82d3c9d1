"""`run_bridge.py bench --json`: the figures' keys and shapes (speed itself is measured, not asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_bench_json_has_each_figure_with_its_baseline():
    proc = subprocess.run(
        [sys.executable, "run_bridge.py", "bench", "--json", "--quick", "--only", "match", "--only", "replay"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    for key in ("match_ms", "match_baseline_ms", "replay_late_ms"):
        assert set(out[key]) >= {"p50", "p99"}, key
        assert all(math.isfinite(out[key][q]) and out[key][q] >= 0 for q in ("p50", "p99")), key
    assert out["replay_late_ms_bundles"] >= 12  # scale.json: at least one bundle per stroke
    assert out["match_ms_bank_size"] == 100_000
