"""The batched match runner and `keisei bench learn` (tiny sizes; numbers are not asserted, shapes are)."""

import argparse
import json

import pytest
import torch
from torch import nn
from training_helpers import TINY

from keisei.config import ConfigError, ModelConfig
from keisei.models import build_model
from keisei.shogi import GreedyPlayer, RandomPlayer
from keisei.training.bench_learn import parse_points, run_learn_bench
from keisei.training.match_runner import play_match


class CountingModel(nn.Module):
    """Wraps a model and records the batch size of every get_action_and_value call."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.batches = []

    def get_action_and_value(self, obs, mask, deterministic=False):
        self.batches.append(obs.shape[0])
        return self.inner.get_action_and_value(obs, mask, deterministic=deterministic)


def test_match_runs_all_games_concurrently_one_forward_per_ply():
    torch.manual_seed(0)
    model = CountingModel(build_model(ModelConfig(blocks=1, channels=16, value_hidden=16)))
    res = play_match(model, RandomPlayer(seed=1), 6, device=torch.device("cpu"), max_plies=20)
    assert res.games == 6 and res.opponent == "random"
    assert 0.0 <= res.score <= 1.0
    assert res.plies <= 6 * 20
    # 20 plies: the network moves once per ply over the games whose turn it is (3 as black, 3 as white)
    assert len(model.batches) == 20
    assert model.batches[0] == 3 and max(model.batches) == 3


def test_truncated_match_games_are_draws_and_colours_alternate():
    model = CountingModel(build_model(ModelConfig(blocks=1, channels=16, value_hidden=16)))
    res = play_match(model, GreedyPlayer(seed=0), 4, device=torch.device("cpu"), max_plies=2, deterministic=True)
    assert (res.wins, res.losses, res.draws, res.plies) == (0, 0, 4, 8)
    assert res.score == 0.5
    assert model.batches == [2, 2]  # ply 1: the two games where it is black; ply 2: the two as white


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
