"""Hand-built positions for every rule and every result reason, on the real cshogi board."""

from __future__ import annotations

import numpy as np
import pytest

from keisei.shogi import (
    STARTPOS_SFEN,
    Game,
    GameOverError,
    GameResult,
    IllegalMoveError,
    action_of,
    flip_sfen,
)

MATE_IN_ONE = "4k4/9/4P4/9/9/9/9/9/4K4 b G 1"  # G*5b mates
PAWN_DROP_MATE = "7nk/7p1/7S1/9/9/9/9/9/4K4 b P 1"  # P*1b would mate: uchi-fu-zume
IMPASSE = "K+R+B1G1G1S/PPPPPPPPP/9/9/9/9/9/9/8k b {} 1"  # black king in camp; 22 points before the hand
PERPETUAL = ["9b9a", "1a1b", "9a9b", "1b1a"]  # black checks every move


def test_checkmate_ends_the_game_for_the_mover() -> None:
    game = Game(MATE_IN_ONE)
    game.push_usi("G*5b")
    assert game.result == GameResult("black", "checkmate", terminated=True, truncated=False)
    assert game.legal_moves() == []
    with pytest.raises(GameOverError, match="already over: checkmate"):
        game.push_usi("5a4a")


def test_no_legal_move_without_check_loses() -> None:
    game = Game("8k/5G3/9/7N1/9/9/9/9/4K4 b - 1")
    game.push_usi("4b3b")
    assert not game.board.is_check()
    assert game.result == GameResult("black", "no_moves", terminated=True, truncated=False)


def test_start_position_without_moves_is_already_over() -> None:
    game = Game("4k4/4G4/4P4/9/9/9/9/9/4K4 w - 1")
    assert game.result is not None and game.result.reason == "checkmate" and game.result.winner == "black"


def test_drops() -> None:
    game = Game("4k4/9/9/9/9/9/9/9/4K4 b PLNG 1")
    moves = set(game.legal_moves())
    assert {"P*5e", "L*5b", "N*5c", "G*1a"} <= moves
    assert "P*1a" not in moves and "L*1a" not in moves  # would be dead
    assert "N*1a" not in moves and "N*1b" not in moves
    assert "G*5a" not in moves  # occupied
    game.push_usi("N*5c")
    assert game.sfen() == "4k4/9/4N4/9/9/9/9/9/4K4 w GLP 2"


def test_optional_and_forced_promotion() -> None:
    moves = set(Game("4k4/9/2P6/9/9/9/9/9/4K4 b - 1").legal_moves())
    assert {"7c7b", "7c7b+"} <= moves  # optional on rank b
    moves = set(Game("4k4/2P6/9/9/9/9/9/9/4K4 b - 1").legal_moves())
    assert "7b7a+" in moves and "7b7a" not in moves  # pawn: forced on the last rank
    moves = set(Game("4k4/9/9/2N6/9/9/9/9/4K4 b - 1").legal_moves())
    assert {"7d6b+", "7d8b+"} <= moves and "7d6b" not in moves  # knight: forced on the last two ranks
    moves = set(Game("4k4/9/9/9/9/9/9/9/L3K4 b - 1").legal_moves())
    assert {"9i9a+", "9i9b", "9i9b+"} <= moves and "9i9a" not in moves
    moves = set(Game("4k4/9/9/9/9/2B6/9/9/4K4 b - 1").legal_moves())
    assert {"7f3b", "7f3b+"} <= moves  # bishop may enter the zone unpromoted
    moves = set(Game("4k4/9/6S2/9/9/9/9/9/4K4 b - 1").legal_moves())
    assert {"3c4d", "3c4d+"} <= moves  # leaving the zone may promote
    game = Game("4k4/2P6/9/9/9/9/9/9/4K4 b - 1")
    with pytest.raises(IllegalMoveError, match="7b7a"):
        game.push_usi("7b7a")


def test_nifu() -> None:
    game = Game("4k4/9/9/9/9/9/4P4/9/4K4 b P 1")
    assert "P*5e" not in game.legal_moves() and "P*4e" in game.legal_moves()
    with pytest.raises(IllegalMoveError, match=r"P\*5e"):
        game.push_usi("P*5e")
    assert "P*5e" in Game("4k4/9/9/9/9/9/4+P4/9/4K4 b P 1").legal_moves()  # a tokin does not count


def test_uchi_fu_zume_is_illegal_but_other_mates_are_not() -> None:
    game = Game(PAWN_DROP_MATE)
    assert "P*1b" not in game.legal_moves() and "P*1c" in game.legal_moves()
    with pytest.raises(IllegalMoveError, match=r"P\*1b"):
        game.push_usi("P*1b")
    gold = Game(PAWN_DROP_MATE.replace(" P ", " G "))
    gold.push_usi("G*1b")
    assert gold.result is not None and gold.result.reason == "checkmate"
    pushed = Game("7nk/7p1/7SP/9/9/9/9/9/4K4 b - 1")  # pawn *push* mate is legal
    pushed.push_usi("1c1b")
    assert pushed.result is not None and pushed.result.reason == "checkmate"


def test_fourfold_repetition_is_a_draw() -> None:
    game = Game()
    shuffle = ["5i5h", "5a5b", "5h5i", "5b5a"]
    for usi in shuffle * 2 + shuffle[:3]:
        game.push_usi(usi)
    assert game.result is None  # third occurrence only
    game.push_usi("5b5a")
    assert game.ply == 12
    assert game.result == GameResult(None, "repetition", terminated=True, truncated=False)


def test_perpetual_check_loses_for_the_checker() -> None:
    game = Game("8k/R8/9/9/9/9/9/9/4K4 b - 1")
    for usi in PERPETUAL * 3:
        game.push_usi(usi)
    assert game.result == GameResult("white", "perpetual_check", terminated=True, truncated=False)


def test_perpetual_check_completed_by_the_checker() -> None:
    game = Game("R7k/9/9/9/9/9/9/9/4K4 w - 1")  # white in check; black's moves will all check
    for usi in ["1a1b", "9a9b", "1b1a", "9b9a"] * 3:
        game.push_usi(usi)
    assert game.ply == 12
    assert game.result == GameResult("white", "perpetual_check", terminated=True, truncated=False)


def test_repetition_with_only_some_checks_is_a_draw() -> None:
    # Black checks with the rook but also shuffles its king quietly, so no side checked throughout.
    game = Game("8k/R8/9/9/9/9/9/9/4K4 b - 1")
    cycle = ["9b9a", "1a1b", "5i5h", "1b1c", "5h5i", "1c1b", "9a9b", "1b1a"]
    checks = 0
    for usi in cycle * 4:
        game.push_usi(usi)
        checks += game.board.is_check()
        if game.result is not None:
            break
    assert checks >= 2
    assert game.result == GameResult(None, "repetition", terminated=True, truncated=False)


@pytest.mark.parametrize(
    ("hand", "points", "won", "result"),
    [
        ("RL", 27, True, GameResult("black", "impasse", True, False)),  # 28 points: enough for black
        ("RL", 24, False, GameResult(None, "impasse", True, False)),  # 24-30 is a draw under the 24 rule
        ("RBL", 24, True, GameResult("black", "impasse", True, False)),  # 33 points
        ("3L", 24, False, GameResult(None, "impasse", True, False)),  # 25 points
        ("3L", 27, False, None),  # 25 points: no declaration, the game goes on
        ("R", 27, False, None),  # 27 points: black needs 28
    ],
)
def test_impasse_declaration(hand: str, points: int, won: bool, result: GameResult | None) -> None:
    game = Game(IMPASSE.format(hand), impasse_points=points)
    assert game.declare_win() is won
    assert game.result == result
    if result is None:
        game.push_usi(f"{hand[-1]}*5e")  # still playable
        assert game.ply == 1


def test_impasse_white_needs_27_points() -> None:
    game = Game(flip_sfen(IMPASSE.format("R")))  # white with 27 points
    assert game.turn == "white"
    assert game.declare_win() is True
    assert game.result == GameResult("white", "impasse", True, False)


def test_impasse_needs_no_check() -> None:
    in_check = "S+R+B1G1G1K/PPPPPPPP1/9/9/9/9/9/8r/k8 b B2L 1"  # 28 points, but the rook on 1h checks
    game = Game(in_check)
    assert game.board.is_check()
    assert game.declare_win() is False and game.result is None
    quiet = Game(in_check.replace("/8r/", "/7r1/"))
    assert quiet.declare_win() is True


def test_max_plies_truncates_but_mate_wins_on_the_last_ply() -> None:
    game = Game(max_plies=4)
    for usi in ["7g7f", "3c3d", "2g2f", "4c4d"]:
        game.push_usi(usi)
    assert game.result == GameResult(None, "max_plies", terminated=False, truncated=True)
    with pytest.raises(GameOverError):
        game.push_usi("2f2e")
    mate = Game(MATE_IN_ONE, max_plies=1)
    mate.push_usi("G*5b")
    assert mate.result is not None and mate.result.reason == "checkmate"


@pytest.mark.parametrize(
    ("winner", "reason"), [("white", "resign"), ("black", "illegal_move"), ("black", "time")]
)
def test_adjudicate(winner: str, reason: str) -> None:
    game = Game()
    game.push_usi("7g7f")
    assert game.adjudicate(winner, reason) == GameResult(winner, reason, terminated=True, truncated=False)
    assert game.result is not None and game.legal_moves() == []
    with pytest.raises(GameOverError):
        game.adjudicate(winner, reason)


def test_adjudicate_rejects_bad_input() -> None:
    game = Game()
    with pytest.raises(ValueError, match="reason"):
        game.adjudicate("black", "checkmate")
    with pytest.raises(ValueError, match="winner"):
        game.adjudicate("sente", "resign")
    assert game.result is None


@pytest.mark.parametrize("usi", ["7g7e", "7g7f+", "P*5e", "2f2e", "", "7g7fx", "7g", "９九", 77, None])
def test_illegal_usi_names_move_and_sfen_and_leaves_state(usi: object) -> None:
    game = Game()
    game.push_usi("2g2f")
    before = (game.sfen(), game.ply, game.moves, game.legal_moves())
    with pytest.raises(IllegalMoveError) as info:
        game.push_usi(usi)  # type: ignore[arg-type]
    assert repr(usi) in str(info.value) and game.sfen() in str(info.value)
    assert isinstance(info.value, ValueError)
    assert (game.sfen(), game.ply, game.moves, game.legal_moves()) == before


def test_push_action_and_bad_actions() -> None:
    game = Game()
    game.push_action(action_of(game, "7g7f"))
    game.push_action(np.int64(action_of(game, "3c3d")))
    assert game.moves == ["7g7f", "3c3d"]
    for bad in (-1, 2187, 0, 1.5, "7"):
        before = game.sfen()
        with pytest.raises(IllegalMoveError, match="action"):
            game.push_action(bad)  # type: ignore[arg-type]
        assert game.sfen() == before


def test_state_accessors_and_copy_independence() -> None:
    game = Game(max_plies=100)
    assert (game.turn, game.ply, game.start_sfen, game.result) == ("black", 0, STARTPOS_SFEN, None)
    game.push_usi("7g7f")
    twin = game.copy()
    twin.push_usi("3c3d")
    assert game.moves == ["7g7f"] and twin.moves == ["7g7f", "3c3d"]
    assert game.turn == "white" and twin.turn == "black" and twin.max_plies == 100
    with pytest.raises(ValueError, match="max_plies"):
        Game(max_plies=0)
    with pytest.raises(ValueError, match="impasse_points"):
        Game(impasse_points=26)
