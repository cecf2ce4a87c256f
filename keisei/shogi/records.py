"""Game records in USI, CSA and KIF: save, load (every move validated) and render as text.

Formats: ``usi``, ``csa`` (UTF-8), ``kif`` (Shift_JIS / cp932, as Shogi software expects of ``.kif``) and
``kifu`` (the same KIF in UTF-8). Records name the players (``names=(black, white)``).

Loading replays the moves through ``Game``, so rule endings (checkmate, repetition ...) are recomputed and
checked against what the record says; outside endings (resign, time, illegal move), declarations and
truncation are taken from the record. A move that is not legal raises ``IllegalMoveError`` naming the file,
the move number and the move.
"""

from __future__ import annotations

from pathlib import Path

from keisei.shogi.game import Game, GameResult, IllegalMoveError
from keisei.shogi.record_base import RULE_REASONS, ParsedRecord, resolve_ending
from keisei.shogi.record_csa import parse_csa, write_csa
from keisei.shogi.record_kif import parse_kif, write_kif, write_kifu
from keisei.shogi.record_usi import parse_usi, write_usi

__all__ = ["FORMATS", "load_record", "parse_record", "record_text", "save_record"]

FORMATS = {
    "usi": (write_usi, parse_usi),
    "csa": (write_csa, parse_csa),
    "kif": (write_kif, parse_kif),
    "kifu": (write_kifu, parse_kif),
}
ENCODINGS = {"kif": "cp932"}  # every other format is written in UTF-8
_DEFAULT_MAX_PLIES = 512


def _format(fmt: str | None, path: Path) -> str:
    name = (fmt or path.suffix.lstrip(".")).lower()
    if name not in FORMATS:
        raise ValueError(
            f"{path}: unknown record format {name!r}; use one of {sorted(FORMATS)} (by suffix or fmt)"
        )
    return name


def record_text(game: Game, fmt: str = "usi", names: tuple[str, str] | None = None) -> str:
    """The game as a record in ``fmt`` ("usi", "csa", "kif" or "kifu"); ``names`` = (black, white)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown record format {fmt!r}; use one of {sorted(FORMATS)}")
    return FORMATS[fmt][0](game, names)


def save_record(
    game: Game, path: str | Path, fmt: str | None = None, names: tuple[str, str] | None = None
) -> Path:
    """Write the game to ``path`` (format from ``fmt`` or the suffix); ``names`` = (black, white) players.

    ``kif`` is written in Shift_JIS (cp932; characters it lacks become '?'), every other format in UTF-8.
    """
    path = Path(path)
    name = _format(fmt, path)
    data = record_text(game, name, names).encode(ENCODINGS.get(name, "utf-8"), errors="replace")
    path.write_bytes(data)
    return path


def _decode(data: bytes, fmt: str) -> str:
    """``.kif`` as Shift_JIS unless it says UTF-8 (BOM or header); others UTF-8; each falls back to the other."""
    order = ("utf-8-sig", "cp932")
    if fmt == "kif" and not data.startswith(b"\xef\xbb\xbf") and b"encoding=UTF-8" not in data[:200]:
        order = ("cp932", "utf-8-sig")
    try:
        return data.decode(order[0])
    except UnicodeDecodeError:
        return data.decode(order[1])


def load_record(path: str | Path, fmt: str | None = None, max_plies: int | None = None) -> Game:
    """Read a record (format from ``fmt`` or the suffix) and replay it into a validated Game."""
    path = Path(path)
    name = _format(fmt, path)
    try:
        text = _decode(path.read_bytes(), name)
    except OSError as exc:  # the reason alone: the path is named once, first
        raise ValueError(f"{path}: cannot read record ({(exc.strerror or str(exc)).lower()})") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: cannot read record ({exc})") from exc
    return parse_record(text, name, source=str(path), max_plies=max_plies)


def parse_record(text: str, fmt: str, source: str = "<record>", max_plies: int | None = None) -> Game:
    """Replay record ``text`` in ``fmt``; ``source`` names it in errors."""
    if fmt not in FORMATS:
        raise ValueError(f"{source}: unknown record format {fmt!r}; use one of {sorted(FORMATS)}")
    parsed = FORMATS[fmt][1](text, source)
    limit = max_plies if max_plies is not None else max(_DEFAULT_MAX_PLIES, len(parsed.tokens) + 1)
    game = _replay(parsed, source, limit)
    if parsed.exact is not None:
        _apply(game, *parsed.exact, source=source)
    elif parsed.ending is not None:
        winner, reason = resolve_ending(parsed.ending, game.turn)
        if parsed.ending.who == "rule":
            if game.result is None or game.result.reason not in RULE_REASONS:
                raise ValueError(
                    f"{source}: record says {reason}, but the moves do not end the game that way"
                )
        elif _same_winner_by_rule(game, winner):
            pass  # e.g. %TORYO after a mate, %-ILLEGAL_ACTION after perpetual check: the rule ending stands
        else:
            _apply(game, winner, reason, source=source)
    return game


def _same_winner_by_rule(game: Game, winner: str | None) -> bool:
    """True when the replay already ended by rule with this winner (servers write a mate as a resignation)."""
    got = game.result
    return got is not None and got.reason in RULE_REASONS and winner is not None and got.winner == winner


def _replay(parsed: ParsedRecord, source: str, max_plies: int) -> Game:
    try:
        game = Game(parsed.start_sfen, max_plies=max_plies)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    for number, token in enumerate(parsed.tokens, 1):
        sfen = game.sfen()
        try:
            game.push_usi(parsed.to_usi(game, token))
        except ValueError as exc:
            raise IllegalMoveError(token, sfen, f"{source}: move {number}: {exc}") from exc
    return game


def _describe(winner: str | None, reason: str) -> str:
    return f"{winner or 'draw'} by {reason}"


def _apply(game: Game, winner: str | None, reason: str, *, source: str) -> None:
    """Give the replayed game the recorded result, checking it against what the moves imply."""
    if game.result is not None or reason in RULE_REASONS:
        got = game.result
        if got is None or (got.winner, got.reason) != (winner, reason):
            gives = "no result" if got is None else _describe(got.winner, got.reason)
            raise ValueError(
                f"{source}: record says {_describe(winner, reason)}, replaying the moves gives {gives}"
            )
        return
    if reason == "max_plies":
        game._set_result(GameResult(None, "max_plies", terminated=False, truncated=True))
    elif reason == "impasse":
        want = "draw" if winner is None else "win"
        if (winner is not None and winner != game.turn) or all(
            game.impasse_outcome(p) != want for p in (27, 24)
        ):
            raise ValueError(
                f"{source}: record says {_describe(winner, reason)}, but the position does not "
                f"allow that declaration by {game.turn}"
            )
        game._set_result(GameResult(winner, "impasse", terminated=True, truncated=False))
    else:
        game.adjudicate(winner, reason)
