"""The versioned opening suite: validated, distinct, cycled in order."""

import pytest

from keisei.evaluation.openings import load_suite, schedule, start_game, suite_names
from keisei.shogi import STARTPOS_SFEN


def test_v1_has_sixteen_distinct_legal_openings():
    suite = load_suite("v1")
    assert len(suite) == 16
    assert [o.id for o in suite] == [f"v1-{i:02d}" for i in range(1, 17)]
    positions = set()
    for opening in suite:
        assert 2 <= len(opening.moves) <= 6
        game = start_game(opening)
        assert game.result is None and game.ply == len(opening.moves)
        assert game.start_sfen == STARTPOS_SFEN
        positions.add(" ".join(game.sfen().split()[:3]))  # board, side to move, hands
    assert len(positions) == 16


def test_schedule_cycles_through_the_suite():
    suite = load_suite("v1")
    pairs = schedule("v1", 20)
    assert [o.id for o in pairs[:16]] == [o.id for o in suite]
    assert [o.id for o in pairs[16:]] == ["v1-01", "v1-02", "v1-03", "v1-04"]


def test_unknown_suite_is_a_clear_error():
    assert "v1" in suite_names()
    with pytest.raises(ValueError, match="unknown opening suite 'v9'"):
        load_suite("v9")


def test_max_plies_counts_the_opening():
    game = start_game(load_suite("v1")[7], max_plies=6)  # a 6-ply opening
    assert game.result is not None and game.result.reason == "max_plies"
