"""Baseline players: legal, seeded, and greedy beats random by a wide margin."""

from __future__ import annotations

import pytest

from keisei.shogi import Game, GreedyPlayer, Player, RandomPlayer


def _play(black: Player, white: Player, max_plies: int = 512) -> Game:
    game = Game(max_plies=max_plies)
    while game.result is None:
        mover = black if game.turn == "black" else white
        game.push_usi(mover.choose(game))  # push_usi validates every choice
    return game


def test_greedy_beats_random_in_seeded_games() -> None:
    wins = 0
    for seed in range(40):
        greedy, rand = GreedyPlayer(seed=seed), RandomPlayer(seed=1000 + seed)
        greedy_colour = "black" if seed % 2 == 0 else "white"
        game = _play(greedy, rand) if greedy_colour == "black" else _play(rand, greedy)
        wins += game.result is not None and game.result.winner == greedy_colour
    assert wins >= 36


def test_players_are_deterministic_under_seed() -> None:
    first = _play(RandomPlayer(seed=5), GreedyPlayer(seed=6), max_plies=60).moves
    again = _play(RandomPlayer(seed=5), GreedyPlayer(seed=6), max_plies=60).moves
    other = _play(RandomPlayer(seed=7), GreedyPlayer(seed=6), max_plies=60).moves
    assert first == again and first != other


def test_greedy_mates_in_one_and_takes_the_biggest_piece() -> None:
    greedy = GreedyPlayer(seed=0)
    assert greedy.choose(Game("4k4/9/4P4/9/9/9/9/9/4K4 b G 1")) == "G*5b"
    capture = Game("4k4/9/9/2p1r4/3B5/9/9/9/4K4 b - 1")  # bishop can take a pawn (7d) or a rook (5d)
    assert greedy.choose(capture) == "6e5d"
    assert {greedy.name, RandomPlayer().name} == {"greedy", "random"}
    assert isinstance(greedy, Player) and isinstance(RandomPlayer(), Player)


def test_choose_on_finished_game_raises() -> None:
    game = Game("4k4/4G4/4P4/9/9/9/9/9/4K4 w - 1")
    with pytest.raises(ValueError, match="no move to choose"):
        RandomPlayer(seed=1).choose(game)


# Positions in check where cshogi's mate_move_in_1ply() answers a move that is not legal (found by
# `keisei bench learn`): the greedy player must never pass such a move on.
IN_CHECK_TRAPS = [
    "1rsg2sn1/P3k+N3/2p3pg1/1p3p3/3pp4/6P1l/+l6p1/9/1+rb1K2+b1 w 2g2s2n2l9p 88",
    "1n2k1gnl/l8/p1p1+B4/7p1/6P1p/Pb3P3/4P3P/7P1/2rPK1S1+l b S3Pr3g2s2nl4p 63",
]


@pytest.mark.parametrize("sfen", IN_CHECK_TRAPS)
def test_greedy_never_plays_an_illegal_mate_when_in_check(sfen):
    game = Game(sfen)
    assert game.board.is_check()
    mate = game.board.mate_move_in_1ply()
    assert mate and mate not in game.legal_move_ints()  # the trap is real
    for seed in range(5):
        assert GreedyPlayer(seed=seed).choose(game) in game.legal_moves()


def test_baselines_only_play_legal_moves_over_many_games():
    for seed in range(6):
        game = Game(max_plies=300)
        players = [GreedyPlayer(seed=seed), RandomPlayer(seed=seed + 100)]
        while game.result is None:
            move = players[game.ply % 2].choose(game)
            game.push_usi(move)  # raises IllegalMoveError on an illegal choice
