"""Shared helpers for the game-core tests: seeded random games on the real cshogi board."""

from __future__ import annotations

import numpy as np

from keisei.shogi import Game


def play_random(seed: int, plies: int, sfen: str | None = None, max_plies: int = 512) -> Game:
    """A game of up to ``plies`` uniformly random legal moves (stops early if it ends)."""
    rng = np.random.default_rng(seed)
    game = Game(sfen, max_plies=max_plies)
    for _ in range(plies):
        moves = game.legal_moves()
        if not moves:
            break
        game.push_usi(moves[int(rng.integers(len(moves)))])
    return game
