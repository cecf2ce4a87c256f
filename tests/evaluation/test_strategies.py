"""Strategies: registry, single opponent, round-robin tournament, ladder, benchmark."""

from __future__ import annotations

import pytest
from engines import require_engine
from eval_helpers import tiny_config, tiny_model

from keisei.evaluation import strategies
from keisei.evaluation.manager import EvaluationManager
from keisei.evaluation.store import GameStore
from keisei.evaluation.strategies import STRATEGIES, StrategyContext, get_strategy, ladder


def test_registry_and_unknown_strategy():
    assert set(STRATEGIES) == {"single_opponent", "tournament", "ladder", "benchmark", "custom"}
    with pytest.raises(ValueError, match="unknown evaluation strategy 'elo'.*single_opponent"):
        get_strategy("elo")
    with pytest.raises(ValueError, match="unknown evaluation strategy"):
        EvaluationManager(tiny_config()).evaluate_current_agent(tiny_model(), ["random"], strategy="elo")


def test_single_opponent_plays_the_first_only():
    result = EvaluationManager(tiny_config()).evaluate_current_agent(
        tiny_model(), ["greedy", "random"], strategy="single_opponent"
    )
    assert [s.name for s in result.opponents] == ["greedy"] and len(result.games) == 4


def test_tournament_is_a_round_robin_summarising_the_agent(tmp_path):
    manager = EvaluationManager(tiny_config(num_games=2), run_dir=tmp_path)
    result = manager.evaluate_current_agent(tiny_model(), ["random", "greedy"], strategy="tournament")
    assert [s.name for s in result.opponents] == ["random", "greedy"]
    assert len(result.games) == 4
    assert [(g.player, g.opponent) for g in result.side_games] == [("random", "greedy")] * 2
    rows = GameStore(tmp_path / "evaluation.sqlite").games()
    assert len(rows) == 6 and {(r.black, r.white) for r in rows[-2:]} == {("random", "greedy"), ("greedy", "random")}
    with pytest.raises(ValueError, match="at most 6"):
        manager.evaluate_current_agent(tiny_model(), [f"checkpoint:x{i}.pt" for i in range(6)], strategy="tournament")


def test_ladder_picks_the_opponents_rated_nearest_the_agent():
    config = tiny_config()
    specs = ["random", "greedy", "current", "checkpoint:a.pt", "checkpoint:b.pt"]
    ratings = {"random": 0.0, "greedy": 150.0, "ckpt:a": 420.0, "ckpt:b": 900.0, "agent@v3": 380.0, "agent@v4": 470.0}
    plan = ladder(StrategyContext(config, specs, "agent@v5", ratings))
    assert [s.name for s in plan.opponents] == ["greedy", "ckpt:a", "ckpt:b"]
    plan = ladder(StrategyContext(config, specs, "agent@v3", ratings))
    assert [s.name for s in plan.opponents] == ["random", "greedy", "ckpt:a"]
    unrated = ladder(StrategyContext(config, specs, "agent@v1", {}))
    assert [s.name for s in unrated.opponents] == ["random", "greedy", "current", "ckpt:a", "ckpt:b"]


def test_ladder_reads_ratings_from_the_store(tmp_path):
    manager = EvaluationManager(tiny_config(num_games=2), run_dir=tmp_path)
    manager.evaluate_current_agent(tiny_model(), ["random", "greedy"], model_version=1)  # fills the store
    result = manager.evaluate_current_agent(
        tiny_model(), ["random", "greedy", "current", "checkpoint:none.pt"], model_version=2, strategy="ladder"
    )
    assert {s.name for s in result.opponents} == {"random", "greedy"}  # the only rated candidates


def test_benchmark_plays_the_installed_anchors():
    require_engine("fairy-stockfish")
    result = EvaluationManager(tiny_config(num_games=2, max_plies=16)).evaluate_current_agent(
        tiny_model(), strategy="benchmark"
    )
    assert [s.name for s in result.opponents] == [
        "random", "greedy", "fairy-stockfish[Skill Level=-20,nodes=100]", "fairy-stockfish[Skill Level=0,nodes=1000]",
    ]
    assert result.errors == [] and all(g.result != "error" for g in result.games)


def test_benchmark_reports_missing_engines_in_errors(monkeypatch):
    monkeypatch.setattr(strategies, "resolve_executable", lambda name: None)  # as if not installed
    result = EvaluationManager(tiny_config(num_games=2)).evaluate_current_agent(tiny_model(), strategy="benchmark")
    assert [s.name for s in result.opponents] == ["random", "greedy"]
    assert len(result.errors) == 2 and all("not installed" in e for e in result.errors)
