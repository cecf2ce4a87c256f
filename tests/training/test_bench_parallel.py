"""`keisei bench parallel` (tiny sizes, about a second per run; numbers are not asserted, the report's shape is)."""

import json

import pytest
from training_helpers import TINY, run_cli

from keisei.bench.parallel import parse_workers
from keisei.config import ConfigError


def test_parse_workers():
    assert parse_workers("1,2,4") == [1, 2, 4]
    for bad in ("", "1,x", "0,2"):
        with pytest.raises(ConfigError, match="--workers"):
            parse_workers(bad)


@pytest.mark.slow
def test_bench_parallel_reports_one_process_and_workers_as_json(tmp_path):
    sets = [a for item in TINY for a in ("--set", item)]
    res = run_cli("bench", "parallel", "--seconds", "1.5", "--workers", "1", "--json", *sets, timeout=300)
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    assert [r["workers"] for r in result["runs"]] == [0, 1]
    for r in result["runs"]:
        assert r["updates"] >= 1 and r["timesteps"] > 0 and 0.0 <= r["learner_share"] <= 1.0
    assert result["runs"][0]["speedup"] in (1.0, None) and result["runs"][1]["dropped_samples"] >= 0
