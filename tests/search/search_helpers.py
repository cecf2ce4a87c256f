"""Helpers for the search tests: hand-built positions (verified with cshogi in the tests) and random games."""

from __future__ import annotations

import cshogi
import numpy as np

from keisei.search import BatchedMCTS, SearchConfig, UniformEvaluator
from keisei.search.tree import EXPANDED, TERMINAL
from keisei.shogi import Game

MATE_IN_1 = "4k4/9/4P4/9/9/9/9/9/4K4 b G 1"  # G*5b
MATE_IN_3 = ("4k4/6P2/7+R1/9/9/9/9/9/4K4 b G 1", "4k4/1s7/9/3+R5/9/9/9/9/4K4 b G 1")
# black in check with two legal moves: 9h8g takes the dragon, 9h9i walks into a mate in one
TWO_ACTIONS = "4k4/9/9/9/9/9/1+r7/K4g3/4+b4 b - 1"
# kings shuffle 5i5h 5a5b 5h5i 5b5a: the start position recurs every 4 plies
KINGS = "4k4/9/9/9/9/9/9/9/4K4 b - 1"
KING_CYCLE = ["5i5h", "5a5b", "5h5i", "5b5a"]
# black's rook checks on every move: 9b9a+ 5a5b 9a9b+ 5b5a
ROOK_CHECKS = "4k4/R8/9/9/9/9/9/9/4K4 b - 1"
ROOK_CYCLE = ["9b9a", "5a5b", "9a9b", "5b5a"]


def play_random(seed: int, plies: int, sfen: str | None = None, max_plies: int = 512) -> Game:
    """A game of up to ``plies`` uniformly random legal moves (stops early if it ends)."""
    rng = np.random.default_rng(seed)
    game = Game(sfen, max_plies=max_plies)
    for _ in range(plies):
        moves = game.legal_moves()
        if not moves or game.result is not None:
            break
        game.push_usi(moves[int(rng.integers(len(moves)))])
    return game


def judge_children(game: Game) -> dict[str, tuple[str, float | None]]:
    """Visit every root child once and read how the search judged it: ("terminal", value for the side to
    move there) or ("open", None). A huge c_puct and no FPU reduction visit each child once, in turn."""
    legal = game.legal_moves()
    mcts = BatchedMCTS(
        UniformEvaluator(), SearchConfig(c_puct=1e9, fpu_reduction=0.0, mate_depth=0, batch_size=1)
    )
    mcts.search([game], simulations=len(legal))
    tree = mcts._roots[0].tree
    kids = tree.children(0)
    out = {}
    for row in range(kids.start, kids.stop):
        usi = cshogi.move_to_usi(int(tree.move[row]))
        assert tree.N[row] == 1, f"{usi} visited {tree.N[row]} times"
        if tree.state[row] == TERMINAL:
            out[usi] = ("terminal", float(tree.tval[row]))
        else:
            assert tree.state[row] == EXPANDED
            out[usi] = ("open", None)
    assert sorted(out) == sorted(legal)
    return out


def game_judgement(game: Game, usi: str) -> tuple[str, float | None]:
    """What Game says after ``usi``, in judge_children's terms (a winning declaration counts as terminal)."""
    after = game.copy()
    after.push_usi(usi)
    result = after.result
    if result is None:
        return ("terminal", 1.0) if after.impasse_outcome() == "win" else ("open", None)
    if result.winner is None:
        return "terminal", 0.0
    return "terminal", 1.0 if result.winner == after.turn else -1.0
