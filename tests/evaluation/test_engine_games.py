"""Games against real USI engines (Fairy-Stockfish at low nodes) and engine faults in the match runner."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from engines import fake_engine, require_engine
from eval_helpers import tiny_config, tiny_model

from keisei.evaluation.engines import open_engine
from keisei.evaluation.manager import EvaluationManager
from keisei.evaluation.match import Matchup, play_matchups
from keisei.evaluation.openings import schedule
from keisei.evaluation.opponents import parse_opponent
from keisei.evaluation.sides import NetworkPolicy, Side
from keisei.shogi import Game

pytestmark = pytest.mark.engine


async def _play_vs_engine(spec: str, pairs: int, max_plies: int = 40, **evaluation):
    config = tiny_config(**evaluation)
    agent = Side("agent", policy=NetworkPolicy(tiny_model().eval(), torch.device("cpu"), False, 5))
    opponent = parse_opponent(spec, config)
    with ThreadPoolExecutor(max_workers=1) as pool:
        async with open_engine(opponent, config) as engine:
            matchup = Matchup(agent, Side(opponent.name, engine=engine), schedule("v1", pairs))
            [games] = await play_matchups([matchup], max_plies=max_plies, impasse_points=27, executor=pool)
    return games


def _replay_is_legal(record) -> bool:
    game = Game(record.start_sfen)
    for usi in record.moves:
        game.push_usi(usi)  # raises IllegalMoveError on any illegal move
    return True


def test_real_games_against_fairy_stockfish_are_all_legal():
    path = require_engine("fairy-stockfish")
    games = asyncio.run(_play_vs_engine(f"usi:{path}?Skill Level=-20&nodes=50", pairs=2))
    records = [lg.record() for lg in games]
    assert [r.agent_color for r in records] == ["black", "white", "black", "white"]
    for r in records:
        assert r.result in ("win", "draw", "loss"), r.error
        assert r.reason in ("checkmate", "max_plies", "repetition", "perpetual_check", "resign", "impasse")
        assert r.plies == len(r.moves) and r.plies > 2
        assert _replay_is_legal(r)
    assert records[0].opponent == "fairy-stockfish[Skill Level=-20,nodes=50]"


@pytest.mark.parametrize(
    "fault, reason", [("crash", "crash"), ("illegal", "illegal_move"), ("hang", "time"), ("resign", "resign")]
)
def test_an_engine_fault_is_a_win_for_the_agent_with_its_reason(tmp_path, fault, reason):
    spec = fake_engine(tmp_path, Fault=fault, FaultAt=2)  # misbehaves on its 2nd search, then restarts
    records = [lg.record() for lg in asyncio.run(_play_vs_engine(spec, pairs=1, engine_move_timeout=0.5))]
    first = records[0]
    assert (first.result, first.reason) == ("win", reason)
    assert first.plies == 2 + 3  # opening, agent, engine, agent: the engine's 2nd move never came
    assert all(r.result != "error" for r in records)


def test_an_engine_that_cannot_start_gives_errors_not_wins(tmp_path):
    spec = fake_engine(tmp_path, startup="crash")
    records = [lg.record() for lg in asyncio.run(_play_vs_engine(spec, pairs=1, engine_start_timeout=5.0))]
    assert [r.result for r in records] == ["error", "error"]
    assert all("could not be started" in r.error for r in records)


def test_engine_evaluation_through_the_sync_twin_inside_a_running_loop(tmp_path):
    path = require_engine("fairy-stockfish")
    manager = EvaluationManager(tiny_config(max_plies=24), run_dir=tmp_path)

    async def main():  # the engine's subprocess then runs on the worker thread's own loop
        return manager.evaluate_current_agent(tiny_model(), [f"usi:{path}?nodes=20"], num_games=2)

    result = asyncio.run(main())
    summary = result.opponent("fairy-stockfish[nodes=20]")
    assert summary.games == 2 and summary.errors == 0 and result.errors == []
    assert all(_replay_is_legal(g) for g in result.games)
