"""Records that Shogi software reads: every written record parses back with cshogi's own KIF and CSA readers.

``.kif`` is Shift_JIS (cp932), ``.kifu`` UTF-8 (cshogi's ``KIF.Parser.parse_file`` picks the encoding by
suffix); CSA ends the game with the token servers write, so cshogi's reader gets the winner right.
"""

from __future__ import annotations

import cshogi
import cshogi.CSA as cshogi_csa
import cshogi.KIF as cshogi_kif
import pytest
from test_shogi_records import GAMES

from keisei.shogi import Game, load_record, save_record

NAMES = ("keisei agent@v12", "fairy-stockfish[nodes=1000,Skill Level=3]")
FINISHED = {name: make for name, make in GAMES.items() if make().result is not None}
CSA_WIN = {"black": cshogi.BLACK_WIN, "white": cshogi.WHITE_WIN, None: cshogi.DRAW}
# Ends that CSA has no token for (the loser resigned / lost on time while not to move): written as %CHUDAN,
# the exact result stays in the keisei-result comment.
CSA_UNSAYABLE = {"white_to_move_start"}


def _usi(moves: list[int]) -> list[str]:
    return [cshogi.move_to_usi(m) for m in moves]


def _expected_endgame(game: Game) -> str | None:
    """The endgame cshogi must report for draws: truncation is %CHUDAN, a draw by rule is not."""
    if game.result.winner is not None:
        return None
    return "%CHUDAN" if game.result.reason == "max_plies" else "draw-by-rule"


def test_every_ending_reason_is_covered():
    reasons = {make().result.reason for make in FINISHED.values()}
    assert {"checkmate", "repetition", "perpetual_check", "impasse", "max_plies", "resign", "time",
            "illegal_move"} <= reasons


@pytest.mark.parametrize("name", sorted(FINISHED))
def test_csa_reads_back_in_cshogi(tmp_path, name):
    game = FINISHED[name]()
    path = save_record(game, tmp_path / f"{name}.csa", names=NAMES)
    parsed = cshogi_csa.Parser.parse_file(str(path))[0]
    assert parsed.names == list(NAMES)
    assert cshogi.Board(parsed.sfen).sfen().split()[:3] == cshogi.Board(game.start_sfen).sfen().split()[:3]
    assert _usi(parsed.moves) == game.moves
    if name in CSA_UNSAYABLE:
        assert parsed.endgame == "%CHUDAN"
    else:
        assert parsed.win == CSA_WIN[game.result.winner], parsed.endgame
        want = _expected_endgame(game)
        if want == "%CHUDAN":
            assert parsed.endgame == "%CHUDAN"
        elif want == "draw-by-rule":
            assert parsed.endgame in ("%SENNICHITE", "%JISHOGI")
    assert "%TSUMI" not in path.read_text()  # cshogi reads %TSUMI as a draw
    back = load_record(path)
    assert (back.moves, back.result.winner, back.result.reason) == (
        game.moves, game.result.winner, game.result.reason)


@pytest.mark.parametrize("suffix, encoding", [("kif", "cp932"), ("kifu", "utf-8")])
@pytest.mark.parametrize("name", sorted(FINISHED))
def test_kif_reads_back_in_cshogi(tmp_path, name, suffix, encoding):
    game = FINISHED[name]()
    path = save_record(game, tmp_path / f"{name}.{suffix}", names=NAMES)
    data = path.read_bytes()
    assert "先手：keisei agent@v12".encode(encoding) in data
    if encoding == "cp932":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    parsed = cshogi_kif.Parser.parse_file(str(path))  # the encoding comes from the suffix
    assert parsed.names == list(NAMES)
    if game.start_sfen == Game().start_sfen:  # cshogi's KIF reader ignores board-diagram start positions
        assert _usi(parsed.moves) == game.moves
    winner = game.result.winner
    if winner is not None:
        assert parsed.win == CSA_WIN[winner], parsed.endgame
    elif game.result.reason == "max_plies":
        assert (parsed.win, parsed.endgame) == (None, "%CHUDAN")
    else:
        assert parsed.win == cshogi.DRAW and parsed.endgame != "%CHUDAN"
    back = load_record(path)
    assert (back.start_sfen.split()[:3], back.moves, back.result.winner, back.result.reason) == (
        game.start_sfen.split()[:3], game.moves, winner, game.result.reason)


@pytest.mark.parametrize("fmt", ["csa", "kif"])
@pytest.mark.parametrize("name", ["played_out", "perpetual_check", "illegal_by_waiting_side", "impasse_win"])
def test_server_style_ends_read_back_without_the_keisei_comment(tmp_path, fmt, name):
    """A record from elsewhere has no keisei-result comment: its end token alone gives the same result."""
    game = FINISHED[name]()
    path = save_record(game, tmp_path / f"{name}.{fmt}", names=NAMES)
    lines = path.read_bytes().decode("cp932" if fmt == "kif" else "utf-8").split("\n")
    stripped = "\n".join(ln for ln in lines if "keisei-result" not in ln)
    (tmp_path / f"bare.{fmt}").write_bytes(stripped.encode("cp932" if fmt == "kif" else "utf-8"))
    back = load_record(tmp_path / f"bare.{fmt}")
    assert (back.result.winner, back.result.reason) == (game.result.winner, game.result.reason)


def test_kif_in_utf8_written_by_older_keisei_still_loads(tmp_path):
    game = FINISHED["resign_white_to_move"]()
    from keisei.shogi.records import record_text

    text = record_text(game, "kifu", names=NAMES)
    (tmp_path / "old.kif").write_text(text, encoding="utf-8")
    assert load_record(tmp_path / "old.kif").moves == game.moves


def test_names_default_to_colours(tmp_path):
    path = save_record(FINISHED["time"](), tmp_path / "g.csa")
    assert cshogi_csa.Parser.parse_file(str(path))[0].names == ["black", "white"]
