"""Versioned opening suites for colour-balanced evaluation pairs.

A suite is a fixed, ordered list of short opening move sequences (USI) from the standard start position.
Each opening is played twice, colours swapped, so neither side profits from the opening itself. Suites are
never edited once published: a change makes a new version ("v2"), so results stay comparable over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from keisei.shogi import Game


@dataclass(frozen=True)
class Opening:
    """One opening: ``id`` like "v1-03", ``moves`` in USI from the start position, and a short name."""

    id: str
    name: str
    moves: tuple[str, ...]


# v1: common professional openings, 2-6 plies, all distinct positions. Never edit; add "v2" instead.
_SUITES: dict[str, list[tuple[str, str]]] = {
    "v1": [
        ("7g7f 3c3d", "bishop diagonals open"),
        ("2g2f 8c8d", "double static rook"),
        ("7g7f 8c8d", "sente 7f, gote 8d"),
        ("2g2f 3c3d", "sente 2f, gote 3d"),
        ("7g7f 3c3d 2g2f 4c4d", "gote ranging-rook setup"),
        ("7g7f 8c8d 6g6f 3c3d", "yagura-style"),
        ("2g2f 8c8d 2f2e 8d8e", "aigakari"),
        ("7g7f 3c3d 2g2f 8c8d 2f2e 8d8e", "yokofudori approach"),
        ("7g7f 3c3d 8h2b+ 3a2b", "bishop exchange"),
        ("7g7f 4c4d", "gote closed bishop"),
        ("7g7f 3c3d 2h6h", "sente fourth-file rook"),
        ("7g7f 3c3d 2h7h", "sente third-file rook"),
        ("7g7f 3c3d 2h5h", "sente central rook"),
        ("5g5f 3c3d", "sente central pawn"),
        ("2g2f 8c8d 2f2e 8d8e 6i7h 4a3b", "aigakari with golds"),
        ("7g7f 8c8d 2g2f 8d8e 8h7g", "bishop guards 8-file"),
    ],
}


def suite_names() -> list[str]:
    """The published suite versions."""
    return sorted(_SUITES)


@cache
def load_suite(name: str) -> tuple[Opening, ...]:
    """The validated openings of suite ``name``; ValueError for an unknown suite or an illegal move."""
    if name not in _SUITES:
        raise ValueError(f"unknown opening suite {name!r}; choose one of {', '.join(suite_names())}")
    openings = []
    for i, (text, label) in enumerate(_SUITES[name], start=1):
        opening = Opening(id=f"{name}-{i:02d}", name=label, moves=tuple(text.split()))
        start_game(opening)  # raises IllegalMoveError (a ValueError) naming the move
        openings.append(opening)
    return tuple(openings)


def start_game(opening: Opening, max_plies: int = 512, impasse_points: int = 27) -> Game:
    """A new game from the start position with the opening's moves already played.

    ``max_plies`` counts from the start position, so the opening's plies count towards it.
    """
    return Game.from_moves(None, opening.moves, max_plies=max_plies, impasse_points=impasse_points)


def schedule(name: str, num_pairs: int) -> list[Opening]:
    """The opening of each of ``num_pairs`` pairs, cycling through the suite in order."""
    suite = load_suite(name)
    return [suite[i % len(suite)] for i in range(num_pairs)]
