"""USI records: ``position sfen <start> moves ...`` and an optional ``result <winner|draw> <reason>`` line."""

from __future__ import annotations

from keisei.shogi.game import COLORS, REASONS, Game
from keisei.shogi.record_base import ParsedRecord
from keisei.shogi.sfen import STARTPOS_SFEN

__all__ = ["parse_usi", "write_usi"]


def write_usi(game: Game, names: tuple[str, str] | None = None) -> str:
    lines = [f"# {side}: {' '.join(str(n).split())}" for side, n in zip(("black", "white"), names or ())]
    lines += [f"position sfen {game.start_sfen}" + (" moves " + " ".join(game.moves) if game.ply else "")]
    if game.result is not None:
        lines.append(f"result {game.result.winner or 'draw'} {game.result.reason}")
    return "\n".join(lines) + "\n"


def _usi_token(game: Game, token: str) -> str:
    return token


def parse_usi(text: str, source: str) -> ParsedRecord:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or not lines[0].startswith("position "):
        raise ValueError(f"{source}: a USI record starts with 'position startpos|sfen ...'")
    words = lines[0].split()[1:]
    if words[:1] == ["startpos"]:
        start, rest = STARTPOS_SFEN, words[1:]
    elif words[:1] == ["sfen"] and len(words) >= 5:
        start, rest = " ".join(words[1:5]), words[5:]
    else:
        raise ValueError(f"{source}: cannot read the position line {lines[0]!r}")
    if rest and rest[0] != "moves":
        raise ValueError(f"{source}: expected 'moves' after the position, got {rest[0]!r}")
    exact = None
    for line in lines[1:]:
        parts = line.split()
        if (
            parts[0] != "result"
            or len(parts) != 3
            or parts[1] not in (*COLORS, "draw")
            or parts[2] not in REASONS
        ):
            raise ValueError(f"{source}: expected 'result <black|white|draw> <reason>', got {line!r}")
        exact = (None if parts[1] == "draw" else parts[1], parts[2])
    return ParsedRecord(start, rest[1:], _usi_token, exact=exact)
