"""The search judges positions exactly as Game does: random positions, repetition, perpetual check, ply limit."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_helpers import (
    KING_CYCLE,
    KINGS,
    ROOK_CHECKS,
    ROOK_CYCLE,
    game_judgement,
    judge_children,
    play_random,
)

from keisei.shogi import Game, GreedyPlayer
from keisei.shogi.rules import outcome_after_move, repetition_outcome

# sparse endgames: random play from these reaches checkmates and no-move positions quickly
ENDGAMES = (
    None,
    "4k4/9/4P4/9/9/9/9/9/4K4 b 2G2S 1",
    "4k4/9/9/9/9/9/1+r7/K4g3/4+b4 b - 1",
    "k8/9/9/9/9/9/9/9/8K b RG 1",
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    plies=st.integers(0, 60),
    start=st.sampled_from(ENDGAMES),
    limit_gap=st.sampled_from([1, 2, 1000]),
)
def test_search_and_game_agree_on_every_child(seed, plies, start, limit_gap):
    game = play_random(seed, plies, start)
    if game.result is not None:
        return
    game = Game(game.start_sfen, max_plies=game.ply + limit_gap)
    replay = play_random(seed, plies, start)
    for usi in replay.moves:
        game.push_usi(usi)
    judged = judge_children(game)
    for usi, verdict in judged.items():
        assert verdict == game_judgement(game, usi), f"{usi} after {game.moves} from {game.start_sfen}"


def _game_before_last(sfen: str, cycle: list[str]) -> Game:
    game = Game(sfen)
    for usi in (cycle * 2) + cycle[:-1]:  # the start counts once: the 12th ply makes four
        game.push_usi(usi)
    return game


def test_fourfold_repetition_is_a_draw_in_both():
    game = _game_before_last(KINGS, KING_CYCLE)
    judged = judge_children(game)
    assert judged[KING_CYCLE[-1]] == ("terminal", 0.0)
    assert game_judgement(game, KING_CYCLE[-1]) == ("terminal", 0.0)
    after = game.copy()
    after.push_usi(KING_CYCLE[-1])
    assert after.result.reason == "repetition"


def test_perpetual_check_loses_for_the_checker_in_both():
    game = _game_before_last(ROOK_CHECKS, ROOK_CYCLE)
    judged = judge_children(game)
    # after white's 5b5a black (the checker) is to move and has lost
    assert judged[ROOK_CYCLE[-1]] == ("terminal", -1.0)
    after = game.copy()
    after.push_usi(ROOK_CYCLE[-1])
    assert after.result.reason == "perpetual_check" and after.result.winner == "white"


def test_third_occurrence_is_not_yet_terminal():
    game = Game(ROOK_CHECKS)
    for usi in (ROOK_CYCLE * 2) + ROOK_CYCLE[:2]:
        game.push_usi(usi)
    judged = judge_children(game)
    assert judged["9a9b"] == ("open", None)  # its third occurrence; the fourth comes one cycle later


def test_rule_functions_directly():
    hashes = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1]
    checks = [False, True, False, True] * 3 + [False]
    winner, reason = repetition_outcome(hashes, checks, turn=0)
    assert reason == "perpetual_check" and winner == 1  # positions 1, 3, ...: black checked every move
    assert repetition_outcome(hashes, [False] * 13, turn=0) == (None, "repetition")
    assert outcome_after_move(0, True, 0, 1, 10, 100, hashes, checks) == (1, "checkmate", False)
    assert outcome_after_move(0, False, 1, 1, 10, 100, hashes, checks) == (0, "no_moves", False)
    assert outcome_after_move(5, False, 0, 1, 100, 100, hashes, checks) == (None, "max_plies", True)
    assert outcome_after_move(5, False, 0, 3, 10, 100, hashes, checks) is None


# white (to move after any black move) has its king and ten pieces in black's camp and 28 points
IMPASSE = "8K/9/9/9/9/9/gggg1ss2/rr2k2bb/9 b 4L4N16P2p 1"


def test_entering_king_declaration_is_a_win_in_both():
    game = Game(IMPASSE)
    judged = judge_children(game)
    wins = [usi for usi, verdict in judged.items() if verdict == ("terminal", 1.0)]
    assert len(wins) > 100  # all but the checking moves
    for usi, verdict in judged.items():
        assert verdict == game_judgement(game, usi), usi


def _greedy_game(seed: int, sfen: str | None) -> Game:
    players = (GreedyPlayer(seed), GreedyPlayer(seed + 1))
    game = Game(sfen, max_plies=300)
    while game.result is None:
        game.push_usi(players[game.ply % 2].choose(game))
    return game


def test_search_and_game_agree_before_checkmates():
    mates = 0
    for seed in range(6):
        ended = _greedy_game(seed, ENDGAMES[1 + seed % 3])
        game = Game(ended.start_sfen, max_plies=300)
        for usi in ended.moves[:-1]:
            game.push_usi(usi)
        judged = judge_children(game)
        for usi, verdict in judged.items():
            assert verdict == game_judgement(game, usi), f"{usi} after {game.moves}"
        mates += sum(verdict == ("terminal", -1.0) for verdict in judged.values())
    assert mates > 0


class _ConstantValue:
    """Stub network: uniform logits and the same value for the side to move in every position."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, obs, mask):
        import numpy as np

        n = obs.shape[0]
        return np.zeros((n, mask.shape[1]), dtype=np.float32), np.full(n, self.value, dtype=np.float32)


def test_draw_value_makes_the_search_avoid_a_repetition_it_would_otherwise_take():
    import pytest

    from keisei.search import BatchedMCTS, SearchConfig

    game = _game_before_last(KINGS, KING_CYCLE)  # white to move; 5b5a is the fourfold repetition
    # every open position is worth +0.3 to its side to move, so each white move that is not a draw is -0.3
    # for white: a plain draw (0) is white's best move, a draw at draw_value -0.5 its worst
    choices = {}
    for draw_value in (0.0, -0.5):
        cfg = SearchConfig(mate_depth=0, batch_size=1, draw_value=draw_value)
        [res] = BatchedMCTS(_ConstantValue(0.3), cfg).search([game], simulations=300)
        choices[draw_value] = res
    assert choices[0.0].move == KING_CYCLE[-1]
    assert choices[-0.5].move != KING_CYCLE[-1]
    assert choices[-0.5].q[KING_CYCLE[-1]] == pytest.approx(-0.5)  # tried, and scored as the contempt says
    assert choices[0.0].q[KING_CYCLE[-1]] == pytest.approx(0.0)


def test_draw_value_is_validated():
    import pytest

    from keisei.search import SearchConfig

    with pytest.raises(ValueError, match="search.draw_value"):
        SearchConfig(draw_value=-2.0)
