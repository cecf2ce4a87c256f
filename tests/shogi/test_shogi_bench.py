"""The env benchmark runs and reports consistent figures (no timing thresholds asserted)."""

from __future__ import annotations

import pytest

from keisei.bench.env import run_env_bench


def test_run_env_bench_reports_rates_and_ratio() -> None:
    res = run_env_bench(seconds=0.2, num_envs=4)
    assert {"env_steps_per_s", "raw_plies_per_s", "ratio", "env_steps", "raw_plies"} <= res.keys()
    assert res["env_steps"] > 0 and res["raw_plies"] > 0 and res["num_envs"] == 4
    assert res["ratio"] == pytest.approx(res["env_steps_per_s"] / res["raw_plies_per_s"])


def test_run_env_bench_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="seconds"):
        run_env_bench(seconds=0, num_envs=4)
