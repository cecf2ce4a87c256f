"""The rules that end a shogi game, as plain functions shared by ``Game`` and the tree search.

One source of rules: ``Game`` calls ``outcome_after_move`` after every push, and the search calls it at every
node it reaches by push/pop on a cshogi board, with the game's history extended by the search path.
Colours are cshogi's (0 black, 1 white).
"""

from __future__ import annotations

from collections.abc import Sequence

import cshogi

__all__ = ["REPETITIONS", "declaration_outcome", "outcome_after_move", "repetition_outcome"]

REPETITIONS = 4


def repetition_outcome(hashes: Sequence[int], checks: Sequence[bool], turn: int) -> tuple[int | None, str]:
    """Fourfold repetition of ``hashes[-1]``: (winner colour or None, "perpetual_check" | "repetition").

    ``hashes[k]``/``checks[k]``: the position key after k plies and whether its side to move was in check;
    ``turn``: the side to move now. A draw, unless one side's every move since the first occurrence gave check
    (that side loses). The span is the whole repetition (first occurrence to fourth); if both sides checked
    throughout (possible only with counter-checks), it stays a draw.
    """
    key = hashes[-1]
    first = hashes.index(key)
    now = len(hashes) - 1
    last_mover = 1 - turn
    last_checked = all(checks[k] for k in range(now, first, -2))
    other_checked = all(checks[k] for k in range(now - 1, first, -2))
    if last_checked != other_checked:
        checker = last_mover if last_checked else 1 - last_mover
        return 1 - checker, "perpetual_check"
    return None, "repetition"


def outcome_after_move(
    num_legal: int,
    in_check: bool,
    turn: int,
    count: int,
    plies: int,
    max_plies: int,
    hashes: Sequence[int],
    checks: Sequence[bool],
) -> tuple[int | None, str, bool] | None:
    """How the game ends in the position just reached, or None if it goes on.

    ``num_legal``: legal moves of the side to move ``turn``; ``count``: occurrences of this position so far
    (including now); ``plies``: plies played. Returns (winner colour or None, reason, truncated). In order:
    no legal move (a loss: "checkmate" in check, else "no_moves"), fourfold repetition, the ply limit.
    """
    if num_legal == 0:
        return 1 - turn, ("checkmate" if in_check else "no_moves"), False
    if count >= REPETITIONS:
        winner, reason = repetition_outcome(hashes, checks, turn)
        return winner, reason, False
    if plies >= max_plies:
        return None, "max_plies", True
    return None


def declaration_outcome(board: cshogi.Board, points: int) -> str:
    """What an entering-king declaration by the side to move gives: 'win', 'draw' or 'none'.

    27-point rule: a win needs 28 points for black, 27 for white; there is no draw. 24-point rule: 31 points or
    more win, 24-30 draw. Both need the king in the enemy camp with ten other pieces there and no check.
    """
    rule = cshogi.LAW_27 if points == 27 else cshogi.LAW_24
    return {cshogi.NYUGYOKU_WIN: "win", cshogi.NYUGYOKU_DRAW: "draw"}.get(board.nyugyoku_result(rule), "none")
