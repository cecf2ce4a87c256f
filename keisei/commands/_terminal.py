"""Shared by `keisei play` and `keisei analyse`: a board in text, and the engine's search in this process.

The engine is the same ``NetworkThinker`` that `keisei usi` plays (keisei.engine.thinker), asked for one
move at a time with a simulation count and/or a time limit; scores use the USI engine's logistic scale
(keisei.usi.thinking.value_to_cp).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keisei.commands._search_args import add_search_config_arguments, search_config
from keisei.errors import KeiseiError
from keisei.shogi import Game
from keisei.usi.thinking import ThinkLine, ThinkReport, ThinkRequest, value_to_cp

FILES = "9  8  7  6  5  4  3  2  1"
RANKS = "abcdefghi"
HAND_ORDER = "RBGSNLP"


def add_engine_arguments(p: argparse.ArgumentParser, *, nodes: int) -> None:
    """The engine's arguments; search settings not given here come from the config's ``[search]`` section
    (``--config``/``--preset``/``--set search.x=...``)."""
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="Keisei checkpoint")
    p.add_argument("--nodes", type=int, default=None, metavar="N",
                   help=f"simulations per position (default search.simulations when set, else {nodes}; "
                        "0 = by --seconds only)")
    p.set_defaults(default_nodes=nodes)
    p.add_argument("--seconds", type=float, default=None, metavar="S", help="time limit per position")
    p.add_argument("--algorithm", choices=("puct", "gumbel", "policy"), default=None,
                   help="tree search, or the network's raw policy (default search.algorithm: puct)")
    p.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help="leaves per network call (default search.batch_size: 16)")
    p.add_argument("--threads", type=int, default=1, metavar="T", help="torch CPU threads (default 1)")
    add_search_config_arguments(p)


def resolve_engine_arguments(args: argparse.Namespace) -> Any:
    """Fill --nodes/--algorithm/--batch-size from the ``[search]`` section where not given; -> that section."""
    search = search_config(args)
    if args.nodes is None:
        args.nodes = search.simulations if "simulations" in search.model_fields_set else args.default_nodes
    if args.algorithm is None:
        args.algorithm = search.algorithm
    if args.batch_size is None:
        args.batch_size = search.batch_size
    return search


@dataclass(frozen=True)
class Analysis:
    """One search: best move, its value (side to move, [-1, 1]), score text and line."""

    move: str
    value: float
    score: str  # "cp 123" or "mate 3" / "mate -2"
    pv: tuple[str, ...]
    nodes: int

    @classmethod
    def of(cls, report: ThinkReport, line: ThinkLine | None = None) -> Analysis:
        """Of the report's best line, or of ``line`` (a MultiPV line of the report)."""
        best = report.best if line is None else line
        score = f"mate {best.mate}" if best.mate is not None else f"cp {value_to_cp(best.value)}"
        return cls(best.move, best.value, score, best.pv or (best.move,), report.nodes)

    @property
    def cp(self) -> int:
        if self.score.startswith("mate"):
            return 30_000 if int(self.score.split()[1]) > 0 else -30_000
        return int(self.score.split()[1])


class LocalEngine:
    """The network (and its search) in this process: ``analyse(game)`` -> ``Analysis``."""

    def __init__(self, args: argparse.Namespace) -> None:
        search = resolve_engine_arguments(args)
        from keisei.checkpoint_path import resolve_checkpoint_path

        checkpoint = resolve_checkpoint_path(Path(args.checkpoint).expanduser())  # a run dir: its best, else latest
        if not checkpoint.is_file():
            raise KeiseiError(f"--checkpoint {args.checkpoint}: file not found")
        for name in ("nodes", "batch_size", "threads"):
            value = getattr(args, name)
            if value < (0 if name == "nodes" else 1):
                raise KeiseiError(f"--{name.replace('_', '-')} {value}: must be {'>= 0' if name == 'nodes' else '>= 1'}")
        if args.seconds is not None and not args.seconds > 0:
            raise KeiseiError(f"--seconds {args.seconds}: must be > 0")
        if args.nodes == 0 and args.seconds is None:
            raise KeiseiError("--nodes 0 needs --seconds (a time limit)")
        from keisei.engine.thinker import build_thinker

        self.nodes = args.nodes or None
        self.seconds = args.seconds
        self.thinker = build_thinker({"ModelFile": str(checkpoint), "Threads": args.threads,
                                      "BatchSize": args.batch_size, "SearchAlgorithm": args.algorithm}, search)

    def think(self, game: Game, multipv: int = 1) -> ThinkReport:
        deadline = None if self.seconds is None else time.monotonic() + self.seconds
        request = ThinkRequest(game.copy(), self.nodes, multipv,
                               lambda: deadline is not None and time.monotonic() >= deadline,
                               time_budget_s=self.seconds)
        return self.thinker.think(request)

    def analyse(self, game: Game) -> Analysis:
        return Analysis.of(self.think(game))

    def new_game(self) -> None:
        self.thinker.new_game()


def board_text(game: Game) -> str:
    """The position in SFEN letters (black upper case, at the bottom; ``+`` promoted), files 9-1, ranks a-i."""
    board, side, hand, _ = game.sfen().split()
    rows = []
    for r, rank in enumerate(board.split("/")):
        cells: list[str] = []
        promoted = False
        for ch in rank:
            if ch.isdigit():
                cells += [" ."] * int(ch)
            elif ch == "+":
                promoted = True
            else:
                cells.append(("+" if promoted else " ") + ch)
                promoted = False
        rows.append(" " + " ".join(cells) + f"  {RANKS[r]}")
    black, white = _hands(hand)
    to_move = "black" if side == "b" else "white"
    return "\n".join([f"white hand: {white or '-'}", f"  {FILES}", *rows,
                      f"black hand: {black or '-'}", f"ply {game.ply}, {to_move} to move"])


def _hands(hand: str) -> tuple[str, str]:
    """SFEN hand field -> ("R P2", "b") style lists for black and white."""
    counts: dict[str, int] = {}
    number = ""
    for ch in "" if hand == "-" else hand:
        if ch.isdigit():
            number += ch
        else:
            counts[ch] = int(number or 1)
            number = ""

    def side(letters: str) -> str:
        return " ".join(f"{p}{counts[p] if counts[p] > 1 else ''}" for p in letters if p in counts)

    return side(HAND_ORDER), side(HAND_ORDER.lower())


def result_text(game: Game) -> str:
    result = game.result
    assert result is not None
    if result.winner is None:
        return f"game over after {game.ply} plies: draw ({result.reason})"
    return f"game over after {game.ply} plies: {result.winner} wins ({result.reason})"
