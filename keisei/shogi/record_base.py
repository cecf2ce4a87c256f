"""What every record format parses into, and the exact-result comment Keisei writes into its records."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from keisei.shogi.game import COLORS, REASONS, Game, GameResult

__all__ = [
    "RULE_REASONS",
    "Ending",
    "ParsedRecord",
    "parse_result_comment",
    "resolve_ending",
    "result_comment",
]

RULE_REASONS = frozenset({"checkmate", "no_moves", "repetition", "perpetual_check"})
_COMMENT_RE = re.compile(r"keisei-result:\s*(black|white|draw)\s+([a-z_]+)")


@dataclass(frozen=True)
class Ending:
    """A format's own end-of-game token, relative to the side to move after the last move.

    ``who``: "stm_loses", "stm_wins", "black_loses", "white_loses", "draw", or "rule" (the moves themselves
    must end the game: checkmate, repetition ...).
    """

    who: str
    reason: str


@dataclass
class ParsedRecord:
    """A record before replay: start position, move tokens, and how the game ended (if it says)."""

    start_sfen: str
    tokens: list[str]
    to_usi: Callable[
        [Game, str], str
    ]  # token -> USI in the game's current position; ValueError if impossible
    exact: tuple[str | None, str] | None = None  # (winner, reason) from a keisei-result comment
    ending: Ending | None = None


def result_comment(result: GameResult) -> str:
    """The machine-readable exact result line body, e.g. ``keisei-result: black resign``."""
    return f"keisei-result: {result.winner or 'draw'} {result.reason}"


def parse_result_comment(text: str, source: str) -> tuple[str | None, str] | None:
    """(winner, reason) from a ``keisei-result`` comment anywhere in ``text``, or None if absent."""
    m = _COMMENT_RE.search(text)
    if m is None:
        return None
    if m.group(2) not in REASONS:
        raise ValueError(f"{source}: unknown result reason {m.group(2)!r} in keisei-result comment")
    return (None if m.group(1) == "draw" else m.group(1)), m.group(2)


def resolve_ending(ending: Ending, turn: str) -> tuple[str | None, str]:
    """(winner, reason) of a relative ending, given the side to move after the last move."""
    other = COLORS[1 - COLORS.index(turn)]
    winner = {
        "stm_loses": other,
        "stm_wins": turn,
        "black_loses": "white",
        "white_loses": "black",
        "draw": None,
        "rule": None,
    }[ending.who]
    return winner, ending.reason
