"""Mate search for the side to move: cshogi's df-pn (``cshogi.DfPn``) with node, time and stop limits.

The one df-pn loop of Keisei: the tree search's root check (``keisei.search``), the USI engine's root check
before each search and its ``go mate`` child process (``keisei.usi.mate``) all report a :class:`MateResult`.

cshogi's df-pn holds the GIL while it searches and cannot be interrupted; a new search starts from scratch. A
time limit or a ``should_stop`` callable is therefore kept by searching in chunks of growing node budgets,
each sized from the measured node rate (at first ``PRIOR_RATE``) to end before the deadline, with the limits
checked in between. A chunk repeats the work of the previous one, so the cost is at most about twice that of
the last chunk. A search that ends below its node budget without a mate has proved there is none (within
df-pn's depth limit). A found line is replayed on a copy of the board and reported only when every move is
legal and it ends in checkmate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import cshogi

from keisei.shogi.game import Game

__all__ = ["MAX_NODES", "MateResult", "checked_mate_line", "mate_search"]

CHUNK_S = 0.05
FIRST_CHUNK = 2_000
MIN_CHUNK = 100
PRIOR_RATE = 40_000.0  # df-pn nodes/s assumed before the first chunk is measured (a slow, busy CPU)
MAX_NODES = 1 << 31


@dataclass(frozen=True)
class MateResult:
    """``checkmate`` (with the mating line ``pv`` in USI), ``nomate`` (proved none within df-pn's depth) or
    ``timeout`` (node, time or stop limit reached first). ``nodes``: df-pn nodes of the last chunk."""

    status: Literal["checkmate", "nomate", "timeout"]
    pv: tuple[str, ...] = ()
    nodes: int = field(default=0, compare=False)


def checked_mate_line(board: cshogi.Board, moves: Sequence[int | str]) -> tuple[str, ...] | None:
    """``moves`` (cshogi moves or USI) as USI if every one is legal on a copy of ``board`` and the line ends in
    checkmate; else None (a df-pn line is never trusted blindly)."""
    check = board.copy()
    usi: list[str] = []
    for move in moves:
        m = check.move_from_usi(move) if isinstance(move, str) else move
        if not m or not check.is_legal(m):
            return None
        usi.append(cshogi.move_to_usi(m))
        check.push(m)
    return tuple(usi) if usi and check.is_game_over() else None


def mate_search(
    game: Game,
    should_stop: Callable[[], bool] | None = None,
    max_nodes: int = 100_000,
    time_left: Callable[[], float | None] | None = None,
    *,
    timeout_ms: int | None = None,
    max_depth: int | None = None,
) -> MateResult:
    """Look for a forced mate by the side to move; the game is not modified.

    ``max_nodes`` bounds the search; ``should_stop()``, ``time_left()`` (seconds, None = no limit) and
    ``timeout_ms`` end it between chunks. Without any of them it is one df-pn search of ``max_nodes`` nodes.
    ``max_depth``: df-pn's depth limit (None: cshogi's default).
    """
    if game.result is not None:
        raise ValueError(f"mate_search: the game is over ({game.result.reason})")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"mate_search max_nodes must be an integer >= 1, got {max_nodes!r}")
    if timeout_ms is not None:
        if timeout_ms < 0:
            raise ValueError(f"mate_search timeout_ms must be >= 0, got {timeout_ms!r}")
        deadline = time.monotonic() + timeout_ms / 1000.0
        time_left = _earlier(time_left, lambda: deadline - time.monotonic())
    board = game.board.copy()
    limited = should_stop is not None or time_left is not None
    nodes = min(FIRST_CHUNK, max_nodes) if limited else max_nodes
    rate, last = PRIOR_RATE, 0
    while True:
        left = time_left() if time_left is not None else None
        if left is not None:
            nodes = min(nodes, int(left * rate))
            if nodes < MIN_CHUNK or nodes <= last:
                return MateResult("timeout")
        dfpn = cshogi.DfPn(nodes=nodes) if max_depth is None else cshogi.DfPn(depth=max_depth, nodes=nodes)
        started = time.perf_counter()
        found = dfpn.search(board)
        elapsed = time.perf_counter() - started
        searched = int(dfpn.searched_node)
        if found:
            pv = checked_mate_line(board, list(dfpn.get_pv(board)))
            return MateResult("checkmate", pv, searched) if pv else MateResult("timeout", (), searched)
        if searched < nodes:
            return MateResult("nomate", (), searched)
        if nodes >= max_nodes or (should_stop is not None and should_stop()):
            return MateResult("timeout", (), searched)
        rate, last = searched / max(elapsed, 1e-6), nodes
        nodes = min(max_nodes, max(nodes * 2, int(rate * CHUNK_S) + nodes))


def _earlier(a: Callable[[], float | None] | None, b: Callable[[], float]) -> Callable[[], float]:
    """A time_left that is the smaller of two."""
    if a is None:
        return b
    return lambda: min(b(), *(x for x in (a(),) if x is not None))
