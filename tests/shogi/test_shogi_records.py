"""Records: every result kind round-trips through USI, CSA and KIF files; bad files name file and move."""

from __future__ import annotations

from pathlib import Path

import pytest
from shogi_helpers import play_random

from keisei.shogi import (
    Game,
    GreedyPlayer,
    IllegalMoveError,
    RandomPlayer,
    load_record,
    record_text,
    save_record,
)

FORMATS = ["usi", "csa", "kif"]
IMPASSE = "K+R+B1G1G1S/PPPPPPPPP/9/9/9/9/9/9/8k b {} 1"


def _played_out() -> Game:
    game, players = Game(), [GreedyPlayer(seed=3), RandomPlayer(seed=4)]
    while game.result is None:
        game.push_usi(players[game.ply % 2].choose(game))
    return game


def _perpetual() -> Game:
    game = Game("8k/R8/9/9/9/9/9/9/4K4 b - 1")
    for usi in ["9b9a", "1a1b", "9a9b", "1b1a"] * 3:
        game.push_usi(usi)
    return game


def _repetition() -> Game:
    game = Game()
    for usi in ["5i5h", "5a5b", "5h5i", "5b5a"] * 3:
        game.push_usi(usi)
    return game


def _adjudicated(winner: str | None, reason: str, sfen: str | None = None, plies: int = 7) -> Game:
    game = play_random(17, plies, sfen)
    game.adjudicate(winner, reason)
    return game


def _impasse(hand: str, points: int) -> Game:
    game = Game(IMPASSE.format(hand), impasse_points=points)
    game.declare_win()
    return game


def _truncated() -> Game:
    return play_random(5, 30, max_plies=30)


GAMES = {
    "played_out": _played_out,
    "perpetual_check": _perpetual,
    "repetition": _repetition,
    "resign_white_to_move": lambda: _adjudicated("black", "resign"),
    "resign_from_sfen": lambda: _adjudicated(
        "white", "resign", "4k4/9/9/9/9/9/9/9/4K4 b RBGSNLPrbgsnl2p 1", 4
    ),
    "white_to_move_start": lambda: _adjudicated(
        "black", "time", "4k4/9/9/9/9/9/9/9/4K4 w RBGSNLPrbgsnl2p 3", 5
    ),
    "time": lambda: _adjudicated("white", "time", plies=8),
    "illegal_by_mover": lambda: _adjudicated("black", "illegal_move"),
    "illegal_by_waiting_side": lambda: _adjudicated("white", "illegal_move"),
    "impasse_win": lambda: _impasse("RL", 27),
    "impasse_draw_24": lambda: _impasse("RL", 24),
    "max_plies": _truncated,
    "unfinished": lambda: play_random(9, 12),
    "no_moves_at_all": lambda: Game(),
}


def _position(sfen: str) -> str:
    return sfen.rsplit(" ", 1)[0]  # CSA and KIF do not carry the move number


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(GAMES))
def test_round_trip(tmp_path: Path, fmt: str, name: str) -> None:
    game = GAMES[name]()
    path = save_record(game, tmp_path / f"game.{fmt}")
    loaded = load_record(path)
    assert _position(loaded.start_sfen) == _position(game.start_sfen)
    assert loaded.moves == game.moves
    assert loaded.result == game.result
    assert loaded.sfen().rsplit(" ", 1)[0] == game.sfen().rsplit(" ", 1)[0]
    assert record_text(loaded, fmt) == record_text(game, fmt) or fmt == "usi"


def test_played_out_game_really_ended_by_rule() -> None:
    game = _played_out()
    assert game.result is not None and game.result.reason in {"checkmate", "no_moves", "repetition"}


@pytest.mark.parametrize(
    ("fmt", "text", "move"),
    [
        ("usi", "position startpos moves 7g7f 3c3d 7f7e 2b2a\n", "2b2a"),
        ("csa", "PI\n+\n+7776FU\n-3334FU\n+7675FU\n-2221KA\n", "-2221KA"),
        ("csa", "PI\n+\n+7776FU\n+3334FU\n", "+3334FU"),
        ("csa", "PI\n+\n+7776F\n", "+7776F"),
        ("kif", "手合割：平手\n   1 ７六歩(77)\n   2 ３四歩(33)\n   3 ７五金(76)\n", "７五金(76)"),
        ("kif", "手合割：平手\n   1 ７六歩(77)\n   2 ５五角打\n", "５五角打"),
    ],
)
def test_illegal_move_in_file_names_file_and_move(tmp_path: Path, fmt: str, text: str, move: str) -> None:
    path = tmp_path / f"bad.{fmt}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IllegalMoveError) as info:
        load_record(path)
    assert str(path) in str(info.value) and repr(move) in str(info.value)


def test_foreign_end_tokens_relative_to_side_to_move(tmp_path: Path) -> None:
    csa = tmp_path / "resign.csa"
    csa.write_text("V2.2\nPI\n+\n+7776FU\n-3334FU\n+2726FU\n%TORYO\n", encoding="utf-8")
    game = load_record(csa)
    assert game.result is not None and (game.result.winner, game.result.reason) == ("black", "resign")
    kif = tmp_path / "resign.kif"
    kif.write_bytes(
        "手合割：平手\n   1 ７六歩(77)\n   2 ３四歩(33)\n   3 投了\nまで2手で後手の勝ち\n".encode("cp932")
    )
    game = load_record(kif)  # Shift_JIS, as most KIF files are
    assert game.result is not None and (game.result.winner, game.result.reason) == ("white", "resign")
    assert game.moves == ["7g7f", "3c3d"]


def test_record_claims_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "claim.usi"
    path.write_text("position startpos moves 7g7f\nresult black checkmate\n", encoding="utf-8")
    with pytest.raises(ValueError, match="record says black by checkmate.*no result"):
        load_record(path)
    path.write_text(f"position sfen {IMPASSE.format('3L')}\nresult black impasse\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not allow"):
        load_record(path)
    csa = tmp_path / "claim.csa"
    csa.write_text("PI\n+\n+7776FU\n%TSUMI\n", encoding="utf-8")
    with pytest.raises(ValueError, match="do not end the game"):
        load_record(csa)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown record format 'txt'"):
        save_record(Game(), tmp_path / "game.txt")
    save_record(Game(), tmp_path / "game.txt", fmt="kif")
    assert load_record(tmp_path / "game.txt", fmt="kif").moves == []
    with pytest.raises(ValueError, match="cannot read record"):
        load_record(tmp_path / "missing.usi")
    (tmp_path / "x.usi").write_text("go ponder\n", encoding="utf-8")
    with pytest.raises(ValueError, match="starts with 'position"):
        load_record(tmp_path / "x.usi")
    (tmp_path / "x.kif").write_text("手合割：平手\n|v香|一\n", encoding="utf-8")
    with pytest.raises(ValueError, match="board-diagram row"):
        load_record(tmp_path / "x.kif")
    (tmp_path / "x.csa").write_text("P1 garbage\n+\n", encoding="utf-8")
    with pytest.raises(ValueError, match="x.csa"):
        load_record(tmp_path / "x.csa")
