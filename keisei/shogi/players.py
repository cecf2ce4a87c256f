"""Baseline players: uniform random, and greedy (mate in one, else the biggest capture, else random)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cshogi
import numpy as np

from keisei.shogi.game import Game
from keisei.shogi.material import PIECE_VALUES

__all__ = ["PIECE_VALUES", "GreedyPlayer", "Player", "RandomPlayer"]


@runtime_checkable
class Player(Protocol):
    """Anything that picks a USI move for a running game."""

    name: str

    def choose(self, game: Game) -> str: ...


def _require_moves(game: Game) -> list[int]:
    moves = game.legal_move_ints()
    if not moves:
        raise ValueError(f"no move to choose: game is over or has no legal move (sfen {game.sfen()})")
    return moves


class RandomPlayer:
    """Uniformly random legal moves (seeded numpy Generator)."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def choose(self, game: Game) -> str:
        moves = _require_moves(game)
        return cshogi.move_to_usi(moves[int(self._rng.integers(len(moves)))])


class GreedyPlayer:
    """Mate in one if there is one, else capture the most valuable piece (ties random), else random."""

    name = "greedy"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def choose(self, game: Game) -> str:
        moves = _require_moves(game)
        # cshogi's mate search assumes the side to move is not in check (in check it can return a move that
        # leaves the king attacked), so only ask it then, and only trust a move that is in the legal list.
        mate = 0 if game.board.is_check() else game.board.mate_move_in_1ply()
        if mate and mate in moves:
            return cshogi.move_to_usi(mate)
        values = np.array([PIECE_VALUES[cshogi.move_cap(m)] for m in moves])
        best = int(values.max())
        pool = [m for m, v in zip(moves, values.tolist()) if v == best] if best > 0 else moves
        return cshogi.move_to_usi(pool[int(self._rng.integers(len(pool)))])
