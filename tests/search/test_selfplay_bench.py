"""`keisei bench selfplay` runs and reports rows per evaluator and simulation count (figures are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from keisei.bench.selfplay import run_selfplay_bench


def test_bench_rows_and_the_network_limit():
    res = run_selfplay_bench(seconds=0.3, sims=(2, 4), games=2, max_plies=20, evaluators=("stub", "net", "onnx"))
    for name in ("stub", "net", "onnx"):
        rows = res[name]
        assert [r["simulations"] for r in rows] == [2, 4]
        for row in rows:
            assert row["moves"] > 0 and row["positions_per_s"] > 0 and row["batch_fill"] >= 1
            assert abs(row["network_share"] + row["python_share"] - 1.0) < 1e-6
    for row in res["net"] + res["onnx"]:
        assert row["limit_positions_per_s"] > 0 and row["efficiency"] > 0


def test_bench_cli_json_and_bad_input():
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "keisei.cli", "bench", "selfplay"]
    args = ["--seconds", "0.2", "--sims", "2", "--games", "2", "--max-plies", "10", "--evaluators", "stub", "--json"]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stub"][0]["simulations"] == 2
    proc = subprocess.run([*cmd, "--sims", "x"], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 2 and "--sims 'x'" in proc.stderr
