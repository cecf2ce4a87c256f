"""The match runner: colour-balanced pairs, batched inference, max plies, impasse, errors never draws."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import torch
from eval_helpers import ForwardCounter, tiny_model

from keisei.evaluation.match import LiveGame, Matchup, play_matchups, step_local
from keisei.evaluation.openings import load_suite, schedule
from keisei.evaluation.sides import NetworkPolicy, Side
from keisei.shogi import Game, GreedyPlayer, RandomPlayer

CPU = torch.device("cpu")


def _play(matchups, max_plies=40):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return asyncio.run(play_matchups(matchups, max_plies=max_plies, impasse_points=27, executor=pool))


def _agent(model=None, seed=1):
    return Side("agent", policy=NetworkPolicy((model or tiny_model()).eval(), CPU, False, seed))


def test_each_opening_is_played_twice_with_colours_swapped():
    agent = _agent()
    [games] = _play([Matchup(agent, Side("random", player=RandomPlayer(3)), schedule("v1", 5))])
    records = [lg.record() for lg in games]
    assert len(records) == 10
    for pair in range(5):
        first, second = records[2 * pair], records[2 * pair + 1]
        assert first.opening == second.opening == f"v1-{pair + 1:02d}"
        assert (first.agent_color, second.agent_color) == ("black", "white")
        assert first.pair == second.pair == pair
        opening = load_suite("v1")[pair].moves
        assert tuple(first.moves[: len(opening)]) == opening == tuple(second.moves[: len(opening)])
    assert {r.result for r in records} <= {"win", "draw", "loss"}
    assert all(r.opponent == "random" and r.player == "agent" for r in records)


def test_one_forward_per_ply_over_all_concurrent_games():
    model = tiny_model().eval()
    counter = ForwardCounter(model)
    agent = _agent(model)
    openings = schedule("v1", 8)  # 16 games per matchup, 48 concurrent games
    matchups = [
        Matchup(agent, Side("random", player=RandomPlayer(1)), openings),
        Matchup(agent, Side("greedy", player=GreedyPlayer(2)), openings),
        Matchup(agent, Side("current", policy=agent.policy), openings),  # the mirror shares the forward
    ]
    played = _play(matchups, max_plies=40)
    steps = max(lg.game.ply - len(lg.opening.moves) for games in played for lg in games)
    total_agent_moves = sum(counter.batch_sizes)
    assert counter.calls <= steps  # one forward per step, not one per game
    assert total_agent_moves > 10 * counter.calls  # each forward served many games
    assert max(counter.batch_sizes) >= 24


def test_max_plies_is_a_truncated_draw():
    [games] = _play([Matchup(_agent(), Side("current", player=RandomPlayer(0)), schedule("v1", 2))], max_plies=8)
    for lg in games:
        record = lg.record()
        if record.result == "draw":
            assert record.reason == "max_plies" and record.plies == 8
    assert any(lg.record().reason == "max_plies" for lg in games)


def test_impasse_is_declared_by_the_side_to_move_when_it_wins():
    game = Game("RRBB5/GGGG5/SSSS4K/9/9/9/9/9/k8 b 4l4n18p 1")
    lg = LiveGame(_agent(), Side("random", player=RandomPlayer(0)), 0, load_suite("v1")[0], "black", game)
    step_local([lg])
    record = lg.record()
    assert (record.result, record.reason, record.plies) == ("win", "impasse", 0)


def test_a_model_that_raises_makes_errors_not_draws():
    model = tiny_model().eval()
    calls = {"n": 0}

    def explode(module, args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("forward exploded")

    model.register_forward_pre_hook(explode)
    [games] = _play([Matchup(_agent(model), Side("random", player=RandomPlayer(0)), schedule("v1", 3))])
    records = [lg.record() for lg in games]
    assert len(records) == 6
    errors = [r for r in records if r.result == "error"]
    assert len(errors) == 3  # exactly the games batched into the failing (third) forward
    for r in errors:
        assert r.reason == "error" and "forward exploded" in r.error
    assert all(r.error is None and r.result != "error" for r in records if r not in errors)


class _FailingPlayer:
    """Injected fault: an in-process player whose code raises on its 3rd move."""

    name = "failing"

    def __init__(self) -> None:
        self.moves = 0
        self.inner = RandomPlayer(0)

    def choose(self, game: Game) -> str:
        self.moves += 1
        if self.moves == 3:
            raise ValueError("player bug")
        return self.inner.choose(game)


def test_a_failing_opponent_errors_only_its_game():
    [games] = _play([Matchup(_agent(), Side("failing", player=_FailingPlayer()), schedule("v1", 2))])
    records = [lg.record() for lg in games]
    assert sum(r.result == "error" for r in records) == 1
    [bad] = [r for r in records if r.result == "error"]
    assert "ValueError: player bug" in bad.error
    assert all(r.result in ("win", "draw", "loss") for r in records if r is not bad)
