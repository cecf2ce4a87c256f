"""`keisei play`: a human against the engine in the terminal (moves in USI notation, a text board).

Input, one per line: a move (``7g7f``, ``P*5e``, ``8h2b+``), or ``moves`` (the legal moves), ``undo`` (take
back your last move and the engine's reply), ``win`` (declare an entering-king win), ``resign``, ``quit``.
Anything else gets one line saying why and the prompt again. End of input ends the game (exit 0).
The engine resigns at ``--resign`` cp or below and declares an entering-king win when it can.
"""

from __future__ import annotations

import argparse
import re
import sys

from keisei.commands._terminal import LocalEngine, add_engine_arguments, board_text, result_text
from keisei.errors import KeiseiError
from keisei.shogi import Game, IllegalMoveError

COMMANDS = "moves undo win resign quit"
PROMPT = "your move (USI, or moves / undo / win / resign / quit): "
USI_MOVE = re.compile(r"[1-9][a-i][1-9][a-i]\+?|[PLNSGBR]\*[1-9][a-i]")


def register(sub) -> None:
    p = sub.add_parser("play", help="play against a checkpoint in the terminal (moves in USI notation)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_engine_arguments(p, nodes=128)
    p.add_argument("--color", choices=("black", "white"), default="black",
                   help="your side (black moves first; default black)")
    p.add_argument("--sfen", default=None, metavar="SFEN", help="start position (default: the usual one)")
    p.add_argument("--resign", type=int, default=3000, metavar="CP",
                   help="the engine resigns at a score of -CP or below (default 3000; 0 = never)")
    p.add_argument("--max-plies", type=int, default=512, help="the game is a draw after this many plies")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        start = Game(args.sfen, max_plies=args.max_plies)
    except ValueError as exc:
        raise KeiseiError(f"--sfen: {exc}") from None
    match = Match(start, LocalEngine(args), human=args.color, resign_cp=args.resign)
    return match.play()


class Match:
    """One game in the terminal: ``play()`` until it ends, the human quits or input ends (-> exit status 0)."""

    def __init__(self, game: Game, engine: LocalEngine, *, human: str, resign_cp: int) -> None:
        self.game = game
        self.engine = engine
        self.human = human
        self.resign_cp = resign_cp
        self.human_plies: list[int] = []  # the ply of each human move (for undo)

    def play(self) -> int:
        shown = False  # the board is shown before the human's turn and at the end
        while self.game.result is None:
            if self.game.turn != self.human:
                self.engine_turn()
                shown = False
                continue
            if not shown:
                say(board_text(self.game))
                shown = True
            line = ask()
            if line is None:
                say("input ended: game abandoned")
                return 0
            outcome = self.human_turn(line.strip())
            if outcome == "quit":
                say("game abandoned")
                return 0
            shown = shown and outcome == "again"
        say(board_text(self.game))
        say(result_text(self.game))
        return 0

    def human_turn(self, word: str) -> str:
        """One input line: -> "moved", "again" (prompt again) or "quit"."""
        game = self.game
        if not word:
            return "again"
        if word == "quit":
            return "quit"
        if word == "moves":
            say("legal moves: " + " ".join(sorted(game.legal_moves())))
            return "again"
        if word == "resign":
            game.adjudicate(self.engine_color, "resign")
            return "moved"
        if word == "win":
            if game.declare_win():
                return "moved"
            say(f"no entering-king win to declare here ({game.impasse_outcome()}); play a move")
            return "again"
        if word == "undo":
            if not self.human_plies:
                say("nothing to undo")
                return "again"
            self.game = Game.from_moves(game.start_sfen, game.moves[: self.human_plies.pop()],
                                        max_plies=game.max_plies)
            self.engine.new_game()  # the search tree belongs to the abandoned line
            return "moved"
        ply = game.ply
        try:
            game.push_usi(word)
        except IllegalMoveError:
            if USI_MOVE.fullmatch(word):
                say(f"illegal move {word!r} here; type 'moves' for the legal ones")
            else:
                say(f"not a move or command: {word!r} (moves look like 7g7f, P*5e, 8h2b+; commands: {COMMANDS})")
            return "again"
        self.human_plies.append(ply)
        return "moved"

    @property
    def engine_color(self) -> str:
        return "white" if self.human == "black" else "black"

    def engine_turn(self) -> None:
        """The engine's move, entering-king declaration or resignation."""
        game = self.game
        if game.impasse_outcome() == "win" and game.declare_win():
            say("Keisei declares an entering-king win")
            return
        analysis = self.engine.analyse(game)
        if self.resign_cp > 0 and analysis.cp <= -self.resign_cp:
            say(f"Keisei resigns ({analysis.score})")
            game.adjudicate(self.human, "resign")
            return
        game.push_usi(analysis.move)
        say(f"Keisei plays {analysis.move}  ({analysis.score}, {analysis.nodes} nodes, "
            f"pv {' '.join(analysis.pv[:8])})")


def say(text: str) -> None:
    print(text, flush=True)


def ask() -> str | None:
    sys.stdout.write(PROMPT)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stdout.write("\n")
        return None
    return line
