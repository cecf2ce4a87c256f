"""SFEN validation (every malformed SFEN names its reason) and colour flipping."""

from __future__ import annotations

import pytest

from keisei.shogi import STARTPOS_SFEN, Game, flip_sfen, validate_sfen

BAD = [
    ("", "expected 3 or 4 fields"),
    ("lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1 b - 1", "8 ranks"),
    ("lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSN b - 1", "rank 9 has 8 squares"),
    ("lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNLL b - 1", "rank 9 has 10 squares"),
    ("4k4/9/9/9/9/9/9/9/4K4 x - 1", "side to move"),
    ("4k4/9/9/9/9/9/9/9/4X4 b - 1", "unknown piece 'X'"),
    ("4k4/9/9/9/9/9/9/9/4+G4 b - 1", "cannot be promoted"),
    ("9/9/9/9/9/9/9/9/4K4 b - 1", "exactly one king"),
    ("4k4/9/9/9/9/9/9/9/3KK4 b - 1", "exactly one king"),
    ("P3k4/9/9/9/9/9/9/9/4K4 b - 1", "dead piece 'P'"),
    ("4k4/N8/9/9/9/9/9/9/4K4 b - 1", "dead piece 'N'"),
    ("4k4/9/9/9/9/9/9/9/l3K4 b - 1", "dead piece 'l'"),
    ("4k4/9/9/9/4P4/4P4/9/9/4K4 b - 1", "two unpromoted black pawns on file 5"),
    ("4k4/4R4/9/9/9/9/9/9/4K4 b - 1", "not to move is in check"),
    ("4k4/9/9/9/9/9/9/9/4K4 b 19P 1", "19 pieces of type 'P'"),
    ("4k4/9/9/9/9/9/9/9/4K4 b 3R 1", "3 pieces of type 'R'"),
    ("4k4/9/9/9/9/9/9/9/4K4 b PP 1", "twice"),
    ("4k4/9/9/9/9/9/9/9/4K4 b K 1", "bad hand field"),
    ("4k4/9/9/9/9/9/9/9/4K4 b - 0", "move number"),
    ("4k4/9/9/9/9/9/9/9/4K4 b - 1 extra", "expected 3 or 4 fields"),
]


@pytest.mark.parametrize(("sfen", "reason"), BAD)
def test_malformed_sfen_names_reason(sfen: str, reason: str) -> None:
    with pytest.raises(ValueError, match="malformed SFEN") as info:
        Game(sfen)
    assert reason in str(info.value)


def test_validate_returns_canonical_form() -> None:
    assert validate_sfen(STARTPOS_SFEN) == STARTPOS_SFEN
    assert validate_sfen("4k4/9/9/9/9/9/9/9/4K4 b P") == "4k4/9/9/9/9/9/9/9/4K4 b P 1"
    with pytest.raises(ValueError, match="expected a string"):
        validate_sfen(None)  # type: ignore[arg-type]


def test_flip_sfen_rotates_swaps_colours_hands_and_side() -> None:
    sfen = "lnsgkgsnl/1r5b1/pppppppp1/9/9/2P6/PP1PPPP1P/1B5R1/LNSGKGSN1 w Lp 5"
    flipped = flip_sfen(sfen)
    assert flipped == "1nsgkgsnl/1r5b1/p1pppp1pp/6p2/9/9/1PPPPPPPP/1B5R1/LNSGKGSNL b Pl 5"
    assert flip_sfen(flipped) == validate_sfen(sfen)
    assert flip_sfen(STARTPOS_SFEN) == STARTPOS_SFEN.replace(" b ", " w ")
    promoted = "4k4/9/9/9/9/9/9/+P8/4K4 b - 1"
    assert flip_sfen(promoted) == "4k4/8+p/9/9/9/9/9/9/4K4 w - 1"
