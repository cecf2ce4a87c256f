"""Mate search at the root: cshogi's df-pn (``cshogi.DfPn``), with a node limit and an optional time limit."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import cshogi

from keisei.shogi import Game

__all__ = ["MateResult", "mate_search"]


@dataclass(frozen=True)
class MateResult:
    """``checkmate`` (with the mating line ``pv`` in USI), ``nomate`` (proved none within the depth) or
    ``timeout`` (node or time limit reached first)."""

    status: Literal["checkmate", "nomate", "timeout"]
    pv: list[str] = field(default_factory=list)
    nodes: int = 0


def mate_search(
    game: Game, *, max_nodes: int = 100_000, timeout_ms: int | None = None, max_depth: int = 31
) -> MateResult:
    """Is there a forced mate (every attacking move a check) for the side to move? Game is not modified.

    ``timeout_ms`` stops the search from a timer thread. A found line is replayed on a copy of the board
    and only reported if every move in it is legal.
    """
    if game.result is not None:
        raise ValueError(f"mate_search: the game is over ({game.result.reason})")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"mate_search max_nodes must be an integer >= 1, got {max_nodes!r}")
    board = game.board.copy()
    dfpn = cshogi.DfPn()
    dfpn.set_max_search_node(max_nodes)
    dfpn.set_max_depth(max_depth)
    timer = None
    stopped = threading.Event()
    if timeout_ms is not None:
        def stop() -> None:
            stopped.set()
            dfpn.stop(True)

        timer = threading.Timer(max(0, timeout_ms) / 1000.0, stop)
        timer.daemon = True
        timer.start()
    try:
        found = dfpn.search(board)
    finally:
        if timer is not None:
            timer.cancel()
    nodes = int(dfpn.searched_node)
    if found:
        moves = list(dfpn.get_pv(board))
        check = board.copy()
        usi = []
        for move in moves:
            if move not in list(check.legal_moves):
                break
            usi.append(cshogi.move_to_usi(move))
            check.push(move)
        else:
            if moves and check.is_game_over():
                return MateResult("checkmate", usi, nodes)
    if stopped.is_set() or nodes >= max_nodes:
        return MateResult("timeout", [], nodes)
    return MateResult("nomate", [], nodes)
