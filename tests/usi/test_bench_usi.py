"""`keisei bench usi` runs the real engine and reports its move times (figures are never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_usi_times_every_move_of_the_real_engine():
    proc = subprocess.run([sys.executable, "-m", "keisei.cli", "bench", "usi", "--moves", "4", "--train-load", "0",
                           "--byoyomi", "200", "--json"], capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["moves"] == 4 and result["byoyomi_ms"] == 200 and result["load"] == 0
    assert 0 < result["median_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert 0 <= result["over_byoyomi"] <= 4
