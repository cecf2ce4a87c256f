"""Networks and positions for the export and backend tests: a ResNet with spread outputs, real game positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from keisei.checkpoint import save_checkpoint
from keisei.config import ModelConfig
from keisei.models import build_model
from keisei.shogi import Game
from keisei.shogi.encoding import encode
from keisei.shogi.players import GreedyPlayer, RandomPlayer

ARCH = ModelConfig(name="resnet", blocks=2, channels=16, se=True, se_ratio=4, value_hidden=16).model_dump(mode="json")


def trained_like(seed: int = 0) -> torch.nn.Module:
    """The tests' ResNet with every weight and batch-norm statistic drawn at random: spread logits and values
    (a fresh net's near-uniform policy would make the argmax comparison a test of ties)."""
    torch.manual_seed(seed)
    model = build_model(ARCH)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def write(path: Path, model: torch.nn.Module) -> Path:
    return save_checkpoint(path, {"model_name": "resnet", "model_arch": dict(ARCH), "model_state": model.state_dict(),
                                  "model_version": 3, "counters": {"timesteps": 10, "updates": 1, "games": 1}})


def game_positions(n: int = 300, seed: int = 0) -> np.ndarray:
    """Observations of the positions of real games (greedy against random, under the full rules)."""
    out: list[np.ndarray] = []
    g = 0
    while len(out) < n:
        game = Game(max_plies=120)
        players = (GreedyPlayer(seed=seed + g), RandomPlayer(seed=seed + g + 1000))
        while game.result is None and len(out) < n:
            out.append(encode(game).copy())
            game.push_usi(players[game.ply % 2].choose(game))
        g += 1
    return np.stack(out)
