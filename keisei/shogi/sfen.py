"""SFEN validation and colour flipping.

cshogi's SFEN parser is lax (it accepts short ranks, two kings of a colour, dead pieces ...), so every SFEN
that enters Keisei is checked here first. A malformed SFEN raises ``ValueError`` naming the SFEN and the reason.
"""

from __future__ import annotations

import re

import cshogi

__all__ = ["STARTPOS_SFEN", "flip_sfen", "parse_position", "validate_sfen"]

STARTPOS_SFEN = "lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNL b - 1"

_PROMOTABLE = set("PLNSBR")
_MAX_COUNT = {"P": 18, "L": 4, "N": 4, "S": 4, "G": 4, "B": 2, "R": 2, "K": 2}
_HAND_RE = re.compile(r"(\d*)([RBGSNLPrbgsnlp])")


def _fail(sfen: str, reason: str) -> ValueError:
    return ValueError(f"malformed SFEN {sfen!r}: {reason}")


def _parse_board(sfen: str, board: str) -> list[list[str]]:
    """Board field -> 9 ranks (a..i) of 9 cells (file 9..1), '' for empty, else e.g. 'P', '+p'."""
    ranks = board.split("/")
    if len(ranks) != 9:
        raise _fail(sfen, f"board has {len(ranks)} ranks, expected 9")
    grid: list[list[str]] = []
    for r, text in enumerate(ranks):
        row: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch.isdigit():
                if ch == "0":
                    raise _fail(sfen, f"rank {r + 1}: empty-square count 0")
                row.extend([""] * int(ch))
                i += 1
                continue
            promoted = ch == "+"
            if promoted:
                i += 1
                if i >= len(text):
                    raise _fail(sfen, f"rank {r + 1}: '+' not followed by a piece")
                ch = text[i]
            if ch.upper() not in _MAX_COUNT:
                raise _fail(sfen, f"rank {r + 1}: unknown piece {ch!r}")
            if promoted and ch.upper() not in _PROMOTABLE:
                raise _fail(sfen, f"rank {r + 1}: piece {ch!r} cannot be promoted")
            row.append(("+" if promoted else "") + ch)
            i += 1
        if len(row) != 9:
            raise _fail(sfen, f"rank {r + 1} has {len(row)} squares, expected 9")
        grid.append(row)
    return grid


def _parse_hand(sfen: str, hand: str) -> dict[str, int]:
    """Hand field -> {piece letter (case = colour): count}."""
    if hand == "-":
        return {}
    pos, counts = 0, {}
    for m in _HAND_RE.finditer(hand):
        if m.start() != pos:
            break
        pos = m.end()
        n = int(m.group(1)) if m.group(1) else 1
        if n < 1:
            raise _fail(sfen, f"hand count {n} for {m.group(2)!r}")
        if m.group(2) in counts:
            raise _fail(sfen, f"hand lists {m.group(2)!r} twice")
        counts[m.group(2)] = n
    if pos != len(hand) or not counts:
        raise _fail(sfen, f"bad hand field {hand!r}")
    return counts


def _check_material(sfen: str, grid: list[list[str]], hands: dict[str, int]) -> None:
    totals = dict.fromkeys(_MAX_COUNT, 0)
    kings = {"K": 0, "k": 0}
    for r, row in enumerate(grid):
        for f, cell in enumerate(row):
            if not cell:
                continue
            base = cell[-1]
            totals[base.upper()] += 1
            if base in kings:
                kings[base] += 1
            if cell[0] != "+":
                _check_dead(sfen, base, r, 9 - f)
    for piece, n in hands.items():
        totals[piece.upper()] += n
    if kings["K"] != 1 or kings["k"] != 1:
        raise _fail(sfen, f"need exactly one king per side, found {kings['K']} black and {kings['k']} white")
    for piece, n in totals.items():
        if n > _MAX_COUNT[piece]:
            raise _fail(sfen, f"{n} pieces of type {piece!r} (at most {_MAX_COUNT[piece]})")
    for col in range(9):
        for pawn in "Pp":
            if sum(grid[r][col] == pawn for r in range(9)) > 1:
                raise _fail(
                    sfen, f"two unpromoted {'black' if pawn == 'P' else 'white'} pawns on file {9 - col}"
                )


def _check_dead(sfen: str, piece: str, rank: int, file: int) -> None:
    """Reject a piece that could never move again (pawn/lance on the last rank, knight on the last two)."""
    depth = rank if piece.isupper() else 8 - rank  # 0 = the owner's last rank
    kind = piece.upper()
    if (kind in "PL" and depth == 0) or (kind == "N" and depth <= 1):
        raise _fail(sfen, f"dead piece {piece!r} on {file}{'abcdefghi'[rank]}")


def validate_sfen(sfen: str) -> str:
    """Check an SFEN fully and return cshogi's canonical form of it; raise ``ValueError`` with the reason."""
    if not isinstance(sfen, str):
        raise ValueError(f"malformed SFEN {sfen!r}: expected a string")  # noqa: TRY004 (callers catch ValueError)
    fields = sfen.split()
    if len(fields) not in (3, 4):
        raise _fail(sfen, f"expected 3 or 4 fields (board side hand [move number]), got {len(fields)}")
    board, side, hand = fields[:3]
    if side not in ("b", "w"):
        raise _fail(sfen, f"side to move must be 'b' or 'w', got {side!r}")
    if len(fields) == 4 and not (fields[3].isdigit() and int(fields[3]) >= 1):
        raise _fail(sfen, f"move number must be a positive integer, got {fields[3]!r}")
    grid = _parse_board(sfen, board)
    hands = _parse_hand(sfen, hand)
    _check_material(sfen, grid, hands)
    number = fields[3] if len(fields) == 4 else "1"
    canonical = f"{board} {side} {hand} {number}"
    other = cshogi.Board(f"{board} {'w' if side == 'b' else 'b'} {hand} {number}")
    if other.is_check():
        raise _fail(sfen, "the side not to move is in check")
    return cshogi.Board(canonical).sfen()


def flip_sfen(sfen: str) -> str:
    """Rotate the board 180 degrees, swap piece colours and hands, and swap the side to move."""
    canonical = validate_sfen(sfen)
    board, side, hand, number = canonical.split()
    grid = _parse_board(canonical, board)
    ranks = []
    for row in reversed(grid):
        text, empty = "", 0
        for cell in reversed(row):
            if not cell:
                empty += 1
                continue
            if empty:
                text, empty = text + str(empty), 0
            text += cell.swapcase()
        ranks.append(text + (str(empty) if empty else ""))
    new_hand = "-" if hand == "-" else hand.swapcase()
    return validate_sfen(f"{'/'.join(ranks)} {'w' if side == 'b' else 'b'} {new_hand} {number}")


def parse_position(args: str | list[str]) -> tuple[str, list[str]]:
    """USI ``position`` arguments -> (start SFEN, moves): ``startpos [moves m...]``, ``sfen B S H [N] [moves m...]``
    or a bare ``B S H [N] [moves m...]`` (the move number may be omitted: some tools do). The SFEN is not yet
    validated (``Game`` does that); ValueError names what cannot be read."""
    words = args.split() if isinstance(args, str) else list(args)
    moves: list[str] = []
    if "moves" in words:
        at = words.index("moves")
        words, moves = words[:at], words[at + 1:]
    if words == ["startpos"]:
        return STARTPOS_SFEN, moves
    fields = words[1:] if words[:1] == ["sfen"] else words
    if len(fields) == 3:
        fields = [*fields, "1"]
    if len(fields) != 4:
        raise ValueError(f"expected 'startpos' or 'sfen <board> <side> <hand> <move>', got {' '.join(words)!r}")
    return " ".join(fields), moves
