"""Mate search at the root: cshogi's df-pn (``cshogi.DfPn``), with a node limit and an optional time limit.

cshogi's df-pn holds the GIL while it searches, so it cannot be stopped from another thread. A time limit (or a
``should_stop`` callable) is therefore kept by searching in rounds of growing node budgets (1,024, then
doubling), each sized from the measured node rate to end before the deadline; between rounds the deadline and
``should_stop`` are checked. The work of earlier rounds is repeated, so the cost is at most about twice that of
the last round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import cshogi

from keisei.shogi import Game

__all__ = ["MateResult", "mate_search"]

_FIRST_BUDGET = 1024


@dataclass(frozen=True)
class MateResult:
    """``checkmate`` (with the mating line ``pv`` in USI), ``nomate`` (proved none within the depth) or
    ``timeout`` (node or time limit reached first). ``nodes``: df-pn nodes of the last round."""

    status: Literal["checkmate", "nomate", "timeout"]
    pv: list[str] = field(default_factory=list)
    nodes: int = 0


def _verified_pv(board: cshogi.Board, moves: list[int]) -> list[str] | None:
    """The line in USI if every move is legal and it ends in checkmate, else None."""
    check = board.copy()
    usi = []
    for move in moves:
        if move not in list(check.legal_moves):
            return None
        usi.append(cshogi.move_to_usi(move))
        check.push(move)
    return usi if usi and check.is_game_over() else None


def mate_search(
    game: Game,
    *,
    max_nodes: int = 100_000,
    timeout_ms: int | None = None,
    max_depth: int = 31,
    should_stop: Callable[[], bool] | None = None,
) -> MateResult:
    """Is there a forced mate (every attacking move a check) for the side to move? The game is not modified.

    ``max_nodes`` bounds one df-pn round; ``timeout_ms`` / ``should_stop`` end the search between rounds
    (see the module doc). A found line is replayed on a copy of the board and reported only if it is legal.
    """
    if game.result is not None:
        raise ValueError(f"mate_search: the game is over ({game.result.reason})")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"mate_search max_nodes must be an integer >= 1, got {max_nodes!r}")
    if timeout_ms is not None and timeout_ms < 0:
        raise ValueError(f"mate_search timeout_ms must be >= 0, got {timeout_ms!r}")
    board = game.board.copy()
    start = time.monotonic()
    deadline = None if timeout_ms is None else start + timeout_ms / 1000.0
    budget = max_nodes if deadline is None and should_stop is None else min(_FIRST_BUDGET, max_nodes)
    while True:
        dfpn = cshogi.DfPn()
        dfpn.set_max_depth(max_depth)
        dfpn.set_max_search_node(budget)
        began = time.monotonic()
        found = dfpn.search(board)
        took = time.monotonic() - began
        nodes = int(dfpn.searched_node)
        if found:
            pv = _verified_pv(board, list(dfpn.get_pv(board)))
            return MateResult("checkmate", pv, nodes) if pv else MateResult("nomate", [], nodes)
        if nodes < budget:
            return MateResult("nomate", [], nodes)
        if budget >= max_nodes or (should_stop is not None and should_stop()):
            return MateResult("timeout", [], nodes)
        next_budget = min(2 * budget, max_nodes)
        if deadline is not None:
            left = deadline - time.monotonic()
            rate = nodes / max(took, 1e-6)
            next_budget = min(next_budget, int(left * rate))
            if next_budget <= budget:
                return MateResult("timeout", [], nodes)
        budget = next_budget
