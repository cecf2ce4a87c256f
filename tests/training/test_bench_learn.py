"""`keisei bench learn` (tiny sizes; numbers are not asserted, shapes are)."""

import argparse
import json

import pytest
from training_helpers import TINY

from keisei.bench.learn import main as run_learn_bench
from keisei.bench.learn import parse_points
from keisei.config import ConfigError


def test_parse_points():
    assert parse_points("5,10,20,30", 30) == [5, 10, 20, 30]
    assert parse_points("20,5,50", 30) == [5, 20, 30]
    with pytest.raises(ConfigError, match="--points"):
        parse_points("5,x", 30)


def test_bench_learn_writes_a_curve(tmp_path, capsys):
    out = tmp_path / "curve.json"
    args = argparse.Namespace(minutes=0.04, points="0.01", games=2, preset="tiny",
                              overrides=[*TINY, "evaluation.max_plies=30"], run_dir=str(tmp_path / "run"),
                              json=str(out))
    assert run_learn_bench(args) == 0
    result = json.loads(out.read_text())
    assert [p["minutes"] for p in result["curve"]] == [0.01, 0.04]
    for p in result["curve"]:
        assert 0.0 <= p["vs_random"] <= 1.0 and 0.0 <= p["vs_greedy"] <= 1.0 and p["timesteps"] > 0
    assert result["curve"][1]["timesteps"] > result["curve"][0]["timesteps"]
    assert 0.0 < result["outside_network_fraction"] < 1.0
    assert result["env_steps_per_s"] > 0 and result["samples_per_s"] > 0
    printed = capsys.readouterr().out
    assert "vs random" in printed and "outside network" in printed
    assert (tmp_path / "run" / "checkpoints" / "latest").is_file()
