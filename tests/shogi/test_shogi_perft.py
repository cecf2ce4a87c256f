"""Perft from the start position through Game.legal_moves / push_usi (known values 30, 900, 25,470, 719,731)."""

from __future__ import annotations

import pytest

from keisei.shogi import Game


def perft(game: Game, depth: int) -> int:
    moves = game.legal_moves()
    if depth == 1:
        return len(moves)
    total = 0
    for usi in moves:
        child = game.copy()
        child.push_usi(usi)
        total += perft(child, depth - 1)
    return total


@pytest.mark.parametrize(("depth", "nodes"), [(1, 30), (2, 900), (3, 25_470), (4, 719_731)])
def test_perft_startpos(depth: int, nodes: int) -> None:
    assert perft(Game(), depth) == nodes
