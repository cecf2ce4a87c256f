"""search.backend: onnxruntime behind the one evaluator interface gives torch's results; auto sends each call
to the backend that is faster at its size; new weights reach the exported copy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nets import game_positions, trained_like

from keisei.config import SearchConfig, SelfPlayConfig
from keisei.search import BatchedMCTS, make_evaluator
from keisei.search.evaluator import AutoEvaluator, NetworkEvaluator, OnnxEvaluator
from keisei.search.selfplay import SelfPlayGames
from keisei.shogi import Game
from keisei.shogi.encoding import encode, legal_mask
from keisei.shogi.players import RandomPlayer


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_onnx_evaluator_equals_torch_over_real_positions():
    model = trained_like(1)
    obs = game_positions(200, seed=3)
    mask = np.ones((len(obs), 2187), dtype=bool)
    tl, tv = NetworkEvaluator(model)(obs, mask)
    onnx = OnnxEvaluator(model, threads=1)
    ol, ov = onnx(obs, mask)
    assert ol.shape == tl.shape and ov.shape == tv.shape == (200,)
    assert (ol.argmax(1) == tl.argmax(1)).all()
    assert np.abs(ol - tl).max() < 1e-3 and np.abs(ov - tv).max() < 1e-4
    assert onnx.calls == 1 and onnx.exports == 1


def test_auto_routes_by_batch_size():
    model = trained_like(2)
    auto = make_evaluator(model, "cpu", "auto", onnx_max_batch=8)
    assert isinstance(auto, AutoEvaluator)
    obs = game_positions(20, seed=4)
    mask = np.ones((20, 2187), dtype=bool)
    small_l, small_v = auto(obs[:8], mask[:8])
    big_l, big_v = auto(obs, mask)
    assert auto.torch.calls == 1 and auto._onnx is not None and auto._onnx.calls == 1
    assert np.abs(small_l - big_l[:8]).max() < 1e-3 and np.abs(small_v - big_v[:8]).max() < 1e-4
    assert isinstance(make_evaluator(model, "cpu", "auto", onnx_max_batch=0), NetworkEvaluator)
    assert isinstance(make_evaluator(model, "cpu", "torch"), NetworkEvaluator)
    with pytest.raises(ValueError, match="runs on the CPU"):
        make_evaluator(model, torch.device("cuda"), "onnx")
    with pytest.raises(ValueError, match="backend 'tensorrt'"):
        make_evaluator(model, "cpu", "tensorrt")


def test_search_plays_the_same_moves_with_either_backend():
    model = trained_like(3)
    games = []
    for i in range(6):
        g = Game(max_plies=200)
        player = RandomPlayer(seed=i)
        for _ in range(10 + 3 * i):
            g.push_usi(player.choose(g))
        games.append(g)
    results = {}
    for backend in ("torch", "onnx", "auto"):
        config = SearchConfig(algorithm="puct", batch_size=4, backend=backend, mate_depth=0)
        mcts = BatchedMCTS(make_evaluator(model, "cpu", backend, threads=1), config)
        results[backend] = [(r.move, r.visits) for r in (mcts.search([g], simulations=48)[0] for g in games)]
    assert results["onnx"] == results["torch"] == results["auto"]


def test_new_weights_reach_the_onnx_copy_in_self_play():
    model = trained_like(4)
    evaluator = OnnxEvaluator(model, threads=1)
    selfplay = SelfPlayConfig(simulations=4, considered=4, cheap_simulations=2, resign_threshold=0.0)
    games = SelfPlayGames(evaluator, SearchConfig(algorithm="gumbel", backend="onnx"), selfplay, num_games=2,
                          max_plies=30, seed=0)
    games.step(version=1)
    games.step(version=1)
    assert evaluator.exports == 1  # the same weights: no re-export
    with torch.no_grad():
        model.value_out.bias.fill_(3.0)  # the learner changed the weights: a new version
    games.step(version=2)
    assert evaluator.exports == 2
    game = Game()
    _, value = evaluator(encode(game)[None], legal_mask(game)[None])
    assert value[0] > 0.9  # the exported copy has the new value bias
