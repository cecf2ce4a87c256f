"""df-pn mate search for the USI engine (cshogi.DfPn), stoppable from the protocol.

cshogi's ``DfPn.search`` holds the GIL and cannot be interrupted, so it runs in node-limited chunks of growing
size (each about ``CHUNK_S`` long at the measured speed) with ``should_stop`` checked in between. A search
that ends below its node limit without a mate has proved there is none (within df-pn's depth limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cshogi

from keisei.shogi import Game

CHUNK_S = 0.05
FIRST_CHUNK = 2_000
MAX_NODES = 1 << 31


@dataclass(frozen=True)
class MateOutcome:
    """``checkmate`` with its moves, ``nomate`` (proved) or ``timeout``."""

    status: Literal["checkmate", "nomate", "timeout"]
    pv: tuple[str, ...]


def _checked_pv(game: Game, moves: list[int]) -> tuple[str, ...]:
    """The df-pn PV as USI, cut at the first move that is not legal (never trust it blindly)."""
    board = game.board.copy()
    out: list[str] = []
    for move in moves:
        if not board.is_legal(move):
            break
        out.append(cshogi.move_to_usi(move))
        board.push(move)
    return tuple(out)


def search_mate(
    game: Game, should_stop: Callable[[], bool], max_nodes: int = MAX_NODES
) -> MateOutcome:
    """Look for a mate by the side to move until proved, disproved, ``should_stop`` or ``max_nodes``."""
    board = game.board.copy()
    nodes = min(FIRST_CHUNK, max_nodes)
    while True:
        dfpn = cshogi.DfPn(nodes=nodes)
        started = time.perf_counter()
        found = dfpn.search(board)
        elapsed = time.perf_counter() - started
        if found:
            pv = _checked_pv(game, list(dfpn.get_pv(board)))
            return MateOutcome("checkmate", pv) if pv else MateOutcome("timeout", ())
        if dfpn.searched_node < nodes:
            return MateOutcome("nomate", ())
        if nodes >= max_nodes or should_stop():
            return MateOutcome("timeout", ())
        rate = dfpn.searched_node / max(elapsed, 1e-6)
        nodes = min(max_nodes, max(nodes * 2, int(rate * CHUNK_S) + nodes))


def root_mate(game: Game, max_nodes: int, should_stop: Callable[[], bool]) -> list[str] | None:
    """The mating line of the side to move if df-pn finds one within ``max_nodes``; else None."""
    outcome = search_mate(game, should_stop, max_nodes=max(1, max_nodes))
    if outcome.status == "checkmate" and len(outcome.pv) % 2 == 1:
        return list(outcome.pv)
    return None
