"""`keisei bench search` runs and reports rows per evaluator and batch size (figures are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from keisei.bench.search import run_search_bench


def test_bench_rows():
    res = run_search_bench(seconds=0.05, batch_sizes=(1, 4), trees=2, sims=8, evaluators=("stub", "net", "onnx", "auto"))
    for name in ("stub", "net", "onnx", "auto"):
        rows = res[name]
        assert [r["batch_size"] for r in rows] == [1, 4]
        for row in rows:
            assert row["simulations"] >= 16 and row["sims_per_s"] > 0
            assert 0.0 <= row["network_share"] <= 1.0
            assert abs(row["network_share"] + row["python_share"] - 1.0) < 1e-6


def test_bench_cli_json_and_bad_input():
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "keisei.cli", "bench", "search"]
    args = ["--seconds", "0.05", "--batch-sizes", "2", "--trees", "1", "--sims", "4", "--evaluators", "stub", "--json"]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stub"][0]["batch_size"] == 2
    proc = subprocess.run([*cmd, "--batch-sizes", "x"], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 2 and "--batch-sizes 'x'" in proc.stderr
    proc = subprocess.run([*cmd, "--evaluators", "stub,tensorrt"], capture_output=True, text=True, timeout=120, env=env,
                          check=False)
    assert proc.returncode == 2 and "unknown 'tensorrt'" in proc.stderr
