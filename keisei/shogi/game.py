"""A shogi game on top of cshogi that cannot be corrupted: every outside move is validated first.

cshogi generates the legal moves (drops, optional/forced promotion, nifu and uchi-fu-zume are its rules);
this module adds what ends a game: no legal move (checkmate or ``no_moves``, a loss for the side to move),
fourfold repetition (a draw, or a loss for a side whose every move in the repetition gave check), an explicit
entering-king declaration (27-point rule, or 24) and a ply limit that truncates the game.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass

import cshogi
import numpy as np

from keisei.shogi.labels import NUM_ACTIONS, move_labels
from keisei.shogi.rules import declaration_outcome, outcome_after_move
from keisei.shogi.sfen import STARTPOS_SFEN, validate_sfen

__all__ = ["COLORS", "EXTERNAL_REASONS", "REASONS", "Game", "GameOverError", "GameResult", "IllegalMoveError"]

COLORS = ("black", "white")
REASONS = frozenset(
    {
        "checkmate",
        "no_moves",
        "repetition",
        "perpetual_check",
        "impasse",
        "max_plies",
        "resign",
        "illegal_move",
        "time",
    }
)
EXTERNAL_REASONS = frozenset({"resign", "illegal_move", "time"})
_USI_RE = re.compile(r"[1-9][a-i][1-9][a-i]\+?|[PLNSGBR]\*[1-9][a-i]")


class IllegalMoveError(ValueError):
    """A move that is not legal in the position; the message names the move and the position's SFEN."""

    def __init__(self, move: object, sfen: str, detail: str = "") -> None:
        self.move = move
        self.sfen = sfen
        self.ply: int | None = None  # Game.from_moves: the 1-based index of the move in the replayed list
        extra = f" ({detail})" if detail else ""
        super().__init__(f"illegal move {move!r}{extra} in position sfen {sfen}")


class GameOverError(IllegalMoveError):
    """A move pushed into a game that has already ended."""


@dataclass(frozen=True)
class GameResult:
    """How a game ended. ``terminated``: by a rule or adjudication; ``truncated``: by the ply limit."""

    winner: str | None
    reason: str
    terminated: bool
    truncated: bool

    def __post_init__(self) -> None:
        if self.winner not in (None, *COLORS):
            raise ValueError(f"GameResult winner must be 'black', 'white' or None, got {self.winner!r}")
        if self.reason not in REASONS:
            raise ValueError(f"GameResult reason must be one of {sorted(REASONS)}, got {self.reason!r}")
        if self.terminated == self.truncated:
            raise ValueError("GameResult must be exactly one of terminated / truncated")


class Game:
    """One game: a validated start SFEN, the moves played, and the result once it is over.

    ``board`` is the underlying ``cshogi.Board``; it is read-only by convention (pushing on it directly
    would bypass validation and the repetition bookkeeping).
    """

    __slots__ = (
        "_board",
        "_checks",
        "_counts",
        "_hashes",
        "_impasse",
        "_label_map",
        "_legal",
        "_max_plies",
        "_moves",
        "_result",
        "_start",
    )

    def __init__(self, sfen: str | None = None, max_plies: int = 512, impasse_points: int = 27) -> None:
        if isinstance(max_plies, bool) or not isinstance(max_plies, int) or max_plies < 1:
            raise ValueError(f"max_plies must be a positive integer, got {max_plies!r}")
        if impasse_points not in (24, 27):
            raise ValueError(f"impasse_points must be 24 or 27, got {impasse_points!r}")
        start = STARTPOS_SFEN if sfen is None else validate_sfen(sfen)
        self._board = cshogi.Board(start)
        self._start = self._board.sfen()
        self._max_plies = max_plies
        self._impasse = impasse_points
        self._moves: list[int] = []
        key = self._board.zobrist_hash()
        self._hashes = [key]
        self._checks = [self._board.is_check()]
        self._counts = {key: 1}
        self._legal: list[int] = list(self._board.legal_moves)
        self._label_map: dict[int, int] | None = None
        self._result: GameResult | None = None
        if not self._legal:
            self._end_without_moves()

    # ----------------------------------------------------------------- state
    @property
    def board(self) -> cshogi.Board:
        return self._board

    @property
    def start_sfen(self) -> str:
        return self._start

    @property
    def max_plies(self) -> int:
        return self._max_plies

    @property
    def impasse_points(self) -> int:
        return self._impasse

    @property
    def turn(self) -> str:
        return COLORS[self._board.turn]

    @property
    def ply(self) -> int:
        """Plies played in this game (not counting the start SFEN's move number)."""
        return len(self._moves)

    @property
    def moves(self) -> list[str]:
        return [cshogi.move_to_usi(m) for m in self._moves]

    @property
    def move_ints(self) -> list[int]:
        """The moves played, as cshogi move integers (a copy)."""
        return list(self._moves)

    @property
    def result(self) -> GameResult | None:
        return self._result

    def sfen(self) -> str:
        return self._board.sfen()

    def legal_moves(self) -> list[str]:
        """Legal moves in USI; empty once the game is over."""
        if self._result is not None:
            return []
        return [cshogi.move_to_usi(m) for m in self._legal]

    def legal_move_ints(self) -> list[int]:
        """Legal moves as cshogi move integers (a copy); empty once the game is over."""
        return [] if self._result is not None else list(self._legal)

    def label_map(self) -> dict[int, int]:
        """{action label: cshogi move} for the legal moves (empty once the game is over)."""
        if self._result is not None:
            return {}
        if self._label_map is None:
            labels = move_labels(np.array(self._legal, dtype=np.int64), self._board.turn)
            self._label_map = dict(zip(labels.tolist(), self._legal))
        return self._label_map

    def __repr__(self) -> str:
        return f"Game(sfen={self.sfen()!r}, ply={self.ply}, result={self._result})"

    # ------------------------------------------------------------------ moves
    def push_usi(self, usi: str) -> None:
        """Play a USI move; raise ``IllegalMoveError`` (state unchanged) unless it is legal here."""
        if self._result is not None:
            raise GameOverError(usi, self.sfen(), f"game already over: {self._result.reason}")
        if not isinstance(usi, str) or _USI_RE.fullmatch(usi) is None:
            raise IllegalMoveError(usi, self.sfen(), "not a USI move string")
        move = self._board.move_from_usi(usi)
        if move == 0 or move not in self._legal or cshogi.move_to_usi(move) != usi:
            raise IllegalMoveError(usi, self.sfen(), "not legal")
        self._push_trusted(move)

    def push_action(self, action: int) -> None:
        """Play the legal move with dlshogi label ``action``; raise ``IllegalMoveError`` otherwise."""
        if self._result is not None:
            raise GameOverError(
                f"action {action!r}", self.sfen(), f"game already over: {self._result.reason}"
            )
        try:
            label = operator.index(action)
        except TypeError:
            raise IllegalMoveError(f"action {action!r}", self.sfen(), "not an integer") from None
        move = self.label_map().get(label) if 0 <= label < NUM_ACTIONS else None
        if move is None:
            raise IllegalMoveError(f"action {label}", self.sfen(), "no legal move has this label")
        self._push_trusted(move)

    def _push_trusted(self, move: int) -> None:
        """Push a move known to be in ``self._legal`` and update the end-of-game state (the hot path)."""
        board = self._board
        board.push(move)
        self._moves.append(move)
        key = board.zobrist_hash()
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        self._hashes.append(key)
        self._checks.append(board.is_check())
        self._legal = list(board.legal_moves)
        self._label_map = None
        end = outcome_after_move(
            len(self._legal), self._checks[-1], board.turn, count, len(self._moves), self._max_plies,
            self._hashes, self._checks,
        )
        if end is not None:
            winner, reason, truncated = end
            self._result = GameResult(
                None if winner is None else COLORS[winner], reason, terminated=not truncated, truncated=truncated
            )

    def _end_without_moves(self) -> None:
        loser = self._board.turn
        reason = "checkmate" if self._board.is_check() else "no_moves"
        self._result = GameResult(COLORS[1 - loser], reason, terminated=True, truncated=False)

    def history(self) -> tuple[list[int], list[bool], dict[int, int]]:
        """Copies of the repetition bookkeeping: position keys and in-check flags after each ply (from the
        start SFEN), and how often each key occurred (what ``keisei.shogi.rules`` needs to judge a line)."""
        return list(self._hashes), list(self._checks), dict(self._counts)

    # ------------------------------------------------------------- other ends
    def impasse_outcome(self, points: int | None = None) -> str:
        """What an entering-king declaration by the side to move would give: 'win', 'draw' or 'none'.

        27-point rule: a win needs 28 points for black, 27 for white; there is no draw.
        24-point rule: 31 points or more win, 24-30 draw. Both need the king in the enemy camp with ten
        other pieces there and no check (cshogi's ``nyugyoku_result``).
        """
        return declaration_outcome(self._board, points or self._impasse)

    def declare_win(self) -> bool:
        """Entering-king declaration by the side to move, under this game's ``impasse_points`` rule.

        Returns True (and ends the game, reason ``impasse``) when the declaration wins. Under the 24-point
        rule a 24-30 point declaration ends the game as an impasse draw and returns False. When the
        conditions are not met it returns False and the game goes on unchanged.
        """
        if self._result is not None:
            raise GameOverError("declare_win", self.sfen(), f"game already over: {self._result.reason}")
        outcome = self.impasse_outcome()
        if outcome == "win":
            self._result = GameResult(self.turn, "impasse", terminated=True, truncated=False)
        elif outcome == "draw":
            self._result = GameResult(None, "impasse", terminated=True, truncated=False)
        return outcome == "win"

    def adjudicate(self, winner: str | None, reason: str) -> GameResult:
        """End the game from outside (``resign``, ``illegal_move`` or ``time``); ``winner`` may be None."""
        if reason not in EXTERNAL_REASONS:
            raise ValueError(f"adjudicate reason must be one of {sorted(EXTERNAL_REASONS)}, got {reason!r}")
        if winner not in (None, *COLORS):
            raise ValueError(f"adjudicate winner must be 'black', 'white' or None, got {winner!r}")
        if self._result is not None:
            raise GameOverError(
                f"adjudicate {reason}", self.sfen(), f"game already over: {self._result.reason}"
            )
        self._result = GameResult(winner, reason, terminated=True, truncated=False)
        return self._result

    def _set_result(self, result: GameResult) -> None:
        """End a running game with a result checked elsewhere (records: truncation, declarations)."""
        if self._result is not None:
            raise GameOverError(result.reason, self.sfen(), f"game already over: {self._result.reason}")
        self._result = result

    @classmethod
    def from_moves(cls, start_sfen: str | None = None, moves: Iterable[str] = (), *, max_plies: int = 512,
                   impasse_points: int = 27) -> Game:
        """The game from ``start_sfen`` (None: the start position) after ``moves`` (USI), the one replay of a
        move list in Keisei. A malformed SFEN raises ValueError; an illegal move raises IllegalMoveError with
        ``.ply`` set to its 1-based index in ``moves`` and ``.move`` to it (callers word the error for their
        input)."""
        game = cls(start_sfen, max_plies=max_plies, impasse_points=impasse_points)
        for ply, move in enumerate(moves, 1):
            try:
                game.push_usi(move)
            except IllegalMoveError as exc:
                exc.ply, exc.move = ply, move
                raise
        return game

    def copy(self) -> Game:
        """An independent copy (board, history, repetition counts, result)."""
        new = Game.__new__(Game)
        new._board = self._board.copy()
        new._start = self._start
        new._max_plies = self._max_plies
        new._impasse = self._impasse
        new._moves = list(self._moves)
        new._hashes = list(self._hashes)
        new._checks = list(self._checks)
        new._counts = dict(self._counts)
        new._legal = list(self._legal)
        new._label_map = None
        new._result = self._result
        return new
