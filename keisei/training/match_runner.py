"""A small batched match runner: the network vs a baseline Player, all games at once, one forward per ply.

Used by `keisei bench learn`. Game i has the network as black for even i and as white for odd i (colours
balanced). The network samples from its masked policy (deterministic=False, the default), the same policy
self-play trains; argmax play tends to repeat positions against weak opponents and score draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from keisei.shogi import NUM_ACTIONS, OBS_SHAPE, Game, Player, encode, legal_mask
from keisei.training.timing import Stopwatch


@dataclass
class MatchResult:
    """Outcomes from the network's point of view."""

    opponent: str
    wins: int
    losses: int
    draws: int
    plies: int

    @property
    def games(self) -> int:
        return self.wins + self.losses + self.draws

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games."""
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)


def play_match(model: nn.Module, opponent: Player, num_games: int, *, device: torch.device, max_plies: int,
               deterministic: bool = False, net_time: Stopwatch | None = None) -> MatchResult:
    """Play `num_games` concurrent games; per ply, one batched forward over the games where the network moves."""
    if num_games < 1:
        raise ValueError(f"num_games must be >= 1, got {num_games}")
    games = [Game(max_plies=max_plies) for _ in range(num_games)]
    agent = ["black" if i % 2 == 0 else "white" for i in range(num_games)]
    obs = np.zeros((num_games, *OBS_SHAPE), dtype=np.float32)
    mask = np.zeros((num_games, NUM_ACTIONS), dtype=np.bool_)
    timer = net_time or Stopwatch()
    model.eval()
    with torch.inference_mode():
        while running := [i for i, g in enumerate(games) if g.result is None]:
            mine = [i for i in running if games[i].turn == agent[i]]
            for k, i in enumerate(mine):
                encode(games[i], out=obs[k])
                mask[k] = legal_mask(games[i])
            if mine:
                with timer.time():
                    obs_t = torch.from_numpy(obs[: len(mine)]).to(device)
                    mask_t = torch.from_numpy(mask[: len(mine)]).to(device)
                    action = model.get_action_and_value(obs_t, mask_t, deterministic=deterministic)[0]
                    actions = action.cpu().tolist()
                for i, a in zip(mine, actions):
                    games[i].push_action(int(a))
            moved = set(mine)
            for i in running:
                if i not in moved:
                    games[i].push_usi(opponent.choose(games[i]))
    wins = sum(g.result.winner == a for g, a in zip(games, agent))
    draws = sum(g.result.winner is None for g in games)
    return MatchResult(opponent=opponent.name, wins=wins, losses=num_games - wins - draws, draws=draws,
                       plies=sum(g.ply for g in games))
