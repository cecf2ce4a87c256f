"""The search over a real (tiny, untrained) Keisei network."""

from __future__ import annotations

import pytest
import torch
from search_helpers import play_random

from keisei.models.registry import build_model
from keisei.search import BatchedMCTS, NetworkEvaluator, SearchConfig


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("algorithm", ["puct", "gumbel"])
def test_search_with_a_network(tiny_cfg, algorithm):
    torch.manual_seed(0)
    model = build_model(tiny_cfg).eval()
    evaluator = NetworkEvaluator(model)
    games = [play_random(k, 8) for k in range(4)]
    results = BatchedMCTS(evaluator, SearchConfig(algorithm=algorithm, batch_size=8)).search(games, simulations=24)
    for game, res in zip(games, results):
        assert res.move in game.legal_moves() and res.nodes == 24
    assert evaluator.calls >= 2 and evaluator.seconds > 0.0
    # priors come from the network: not uniform
    tree = BatchedMCTS(evaluator, SearchConfig())
    tree.search([games[0]], simulations=1)
    priors = tree._roots[0].tree.P[tree._roots[0].tree.children(0)]
    assert priors.max() > priors.min()
