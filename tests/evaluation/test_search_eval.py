"""Searching players in evaluation: `--sims`, `checkpoint:PATH?sims=N`, one batched search per ply."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from eval_helpers import tiny_config, tiny_model, write_checkpoint

from keisei.evaluation.manager import EvaluationManager
from keisei.evaluation.opponents import parse_opponent
from keisei.evaluation.sides import SearchPolicy
from keisei.search import BatchedMCTS


def test_checkpoint_spec_with_sims():
    spec = parse_opponent("checkpoint:runs/x/ckpt_000010.pt?sims=128")
    assert (spec.kind, spec.name, spec.sims, str(spec.path)) == (
        "checkpoint", "ckpt:ckpt_000010[sims=128]", 128, "runs/x/ckpt_000010.pt"
    )
    assert parse_opponent("checkpoint:a.pt").sims == 0
    with pytest.raises(ValueError, match="unknown checkpoint option 'depth=3'"):
        parse_opponent("checkpoint:a.pt?depth=3")
    with pytest.raises(ValueError, match="sims must be an integer >= 1"):
        parse_opponent("checkpoint:a.pt?sims=0")


def test_same_net_with_and_without_search_batched(tmp_path, monkeypatch):
    ckpt = write_checkpoint(tmp_path / "net.pt", tiny_model(3))
    calls: list[int] = []
    original = BatchedMCTS.search

    def counting(self, games, **kw):
        calls.append(len(games))
        return original(self, games, **kw)

    monkeypatch.setattr(BatchedMCTS, "search", counting)
    config = tiny_config(max_plies=12)
    manager = EvaluationManager(config)
    result = manager.evaluate_checkpoint(ckpt, opponents=[f"checkpoint:{ckpt}"], num_games=4, sims=6)
    assert result.agent == "ckpt:net[sims=6]"
    assert [s.name for s in result.opponents] == ["ckpt:net"]
    assert len(result.games) == 4 and not result.errors
    assert all(g.result in ("win", "draw", "loss") and g.plies > 0 for g in result.games)
    # one search per ply over every game where the searcher is to move: 4 games, 2 of them per colour
    assert calls and max(calls) >= 2 and len(calls) <= 2 * 12


def test_search_policy_chooses_legal_moves_and_reuses_trees():
    config = tiny_config()
    policy = SearchPolicy(tiny_model(1).eval(), "cpu", config.search, 8, seed=5)
    from keisei.shogi import Game

    games = [Game(), Game()]
    moves = policy.choose(games, ["a", "b"])
    assert all(m in g.legal_moves() for m, g in zip(moves, games))
    for game, move in zip(games, moves):
        game.push_usi(move)
        game.push_usi(game.legal_moves()[0])
    again = policy.mcts.search(games, simulations=4, keys=["a", "b"])
    assert all(r.move in g.legal_moves() for r, g in zip(again, games))


def test_cli_sims_names_the_searching_agent(tmp_path):
    ckpt = write_checkpoint(tmp_path / "c.pt", tiny_model(4))
    proc = subprocess.run(
        [sys.executable, "-m", "keisei.cli", "evaluate", "--checkpoint", str(ckpt), "--sims", "4",
         "--opponent", f"checkpoint:{ckpt}?sims=2", "--games", "2", "--json", "-",
         "--set", "evaluation.max_plies=8", "--set", "model.blocks=1", "--set", "search.batch_size=2"],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["agent"] == "ckpt:c[sims=4]"
    assert [o["name"] for o in data["opponents"]] == ["ckpt:c[sims=2]"]
    assert data["opponents"][0]["games"] == 2
