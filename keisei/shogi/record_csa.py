"""CSA records: cshogi's native parser reads the start position; moves and the end token are read here.

Writing adds a ``'keisei-result: <winner> <reason>`` comment so Keisei's own records round-trip exactly,
names the players (``N+``/``N-``) and ends the game with the token CSA servers use (see ``_end_token``), so
cshogi's CSA reader gets the winner right; records from elsewhere are read through their ``%`` end token
(relative to the side to move).
"""

from __future__ import annotations

import re

import cshogi

from keisei.shogi.game import Game, GameResult
from keisei.shogi.record_base import Ending, ParsedRecord, parse_result_comment, result_comment
from keisei.shogi.sfen import validate_sfen

__all__ = ["parse_csa", "write_csa"]

_MOVE_RE = re.compile(r"[+-]\d{4}[A-Z]{2}")
_ENDINGS = {
    "%TORYO": Ending("stm_loses", "resign"),
    "%TIME_UP": Ending("stm_loses", "time"),
    "%ILLEGAL_MOVE": Ending("stm_loses", "illegal_move"),
    "%+ILLEGAL_ACTION": Ending("black_loses", "illegal_move"),
    "%-ILLEGAL_ACTION": Ending("white_loses", "illegal_move"),
    "%KACHI": Ending("stm_wins", "impasse"),
    "%JISHOGI": Ending("draw", "impasse"),
    "%MAX_MOVES": Ending("draw", "max_plies"),
    "%CHUDAN": Ending("draw", "max_plies"),
    "%TSUMI": Ending("rule", "checkmate"),
    "%SENNICHITE": Ending("rule", "repetition"),
    "%OUTE_SENNICHITE": Ending("rule", "perpetual_check"),
}


def _sign(color: str) -> str:
    return "+" if color == "black" else "-"


def _end_token(result: GameResult, turn: str) -> str:
    """The end token as CSA servers write it (so cshogi's reader gets the winner right).

    The side to move after the last move is ``turn``. A mated side resigns (%TORYO); perpetual check is the
    checking side's foul (%+ILLEGAL_ACTION / %-ILLEGAL_ACTION naming it); truncation is %CHUDAN.
    """
    reason, winner = result.reason, result.winner
    loser = None if winner is None else ("white" if winner == "black" else "black")
    if reason in ("checkmate", "no_moves"):
        return "%TORYO"
    if reason == "repetition":
        return "%SENNICHITE"
    if reason == "perpetual_check":
        return f"%{_sign(loser or turn)}ILLEGAL_ACTION"
    if reason == "impasse":
        return "%KACHI" if winner else "%JISHOGI"
    if reason == "max_plies" or loser is None:
        return "%CHUDAN"
    if reason == "illegal_move":
        return "%ILLEGAL_MOVE" if loser == turn else f"%{_sign(loser)}ILLEGAL_ACTION"
    if loser != turn:  # resigned or timed out while not to move: no CSA token says so (the comment does)
        return "%CHUDAN"
    return {"resign": "%TORYO", "time": "%TIME_UP"}[reason]


def _name(name: str) -> str:
    return " ".join(str(name).split()) or "?"


def write_csa(game: Game, names: tuple[str, str] | None = None) -> str:
    """CSA V2.2 text; ``names`` = (black, white) player names (default "black", "white")."""
    black, white = names or ("black", "white")
    board = cshogi.Board(game.start_sfen)
    lines = ["V2.2", f"N+{_name(black)}", f"N-{_name(white)}"]
    if game.result is not None:
        lines.append("'" + result_comment(game.result))
    lines.extend(board.csa_pos().rstrip("\n").split("\n"))
    turn = board.turn
    for move in game.move_ints:
        lines.append(("+" if turn == cshogi.BLACK else "-") + cshogi.move_to_csa(move))
        turn = 1 - turn
    if game.result is not None:
        lines.append(_end_token(game.result, game.turn))
    return "\n".join(lines) + "\n"


def _csa_token(game: Game, token: str) -> str:
    if _MOVE_RE.fullmatch(token) is None:
        raise ValueError("malformed CSA move")
    side = "+" if game.turn == "black" else "-"
    if token[0] != side:
        raise ValueError(f"it is {game.turn}'s move")
    move = game.board.move_from_csa(token[1:])
    if move == 0 or cshogi.move_to_csa(move) != token[1:]:
        raise ValueError("no such move in this position")
    return cshogi.move_to_usi(move)


def _is_move_or_end(stmt: str) -> bool:
    return (len(stmt) > 1 and stmt[0] in "+-") or stmt.startswith("%")


def parse_csa(text: str, source: str) -> ParsedRecord:
    if "\n/\n" in text:
        raise ValueError(f"{source}: holds several games; one game per file")
    lines = text.replace("\r\n", "\n").split("\n")
    body = next((i for i, ln in enumerate(lines) if _is_move_or_end(ln.split(",")[0].strip())), len(lines))
    try:  # only the header goes to cshogi's native parser; it raises IndexError/RuntimeError on bad text
        start = cshogi.Parser.parse_str("\n".join(lines[:body]) + "\n")[0].sfen
    except Exception as exc:
        raise ValueError(f"{source}: malformed CSA header ({exc})") from exc
    if not start:
        raise ValueError(f"{source}: no start position (PI or P1..P9 lines)")
    try:
        start = validate_sfen(start)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    tokens: list[str] = []
    ending = None
    for line in lines[body:]:
        if line.startswith("'"):
            continue
        for stmt in (s.strip() for s in line.split(",")):
            if stmt.startswith("%"):
                if stmt not in _ENDINGS:
                    raise ValueError(f"{source}: unknown end token {stmt!r}")
                ending = _ENDINGS[stmt]
                break
            if _is_move_or_end(stmt):
                tokens.append(stmt)  # malformed ones fail in _csa_token, naming the move
        if ending is not None:
            break
    return ParsedRecord(start, tokens, _csa_token, exact=parse_result_comment(text, source), ending=ending)
