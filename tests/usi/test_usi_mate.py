"""df-pn for `go mate` and the root check: mates found with legal mating lines, no-mate proved, timeouts."""

import cshogi

from keisei.shogi import Game
from keisei.usi.mate import root_mate, search_mate

MATE_IN_1 = "8k/9/8P/9/9/9/9/9/K8 b G 1"
NO_MATE = "6snl/7k1/6ppp/9/9/9/9/9/K8 b RG 1"  # df-pn needs more than 100 nodes to prove it


def is_mating_line(sfen: str, pv: tuple[str, ...] | list[str]) -> bool:
    board = cshogi.Board(sfen)
    for usi in pv:
        move = board.move_from_usi(usi)
        assert board.is_legal(move), usi
        board.push(move)
    return board.is_game_over() and len(pv) % 2 == 1


def test_finds_mate_in_one_and_three() -> None:
    outcome = search_mate(Game(MATE_IN_1), lambda: False)
    assert outcome.status == "checkmate" and outcome.pv == ("G*1b",)
    three = "7k1/9/8G/7Sl/9/9/9/9/K8 b RS 1"  # R*2b 2a1a S*1b
    outcome = search_mate(Game(three), lambda: False)
    assert outcome.status == "checkmate" and len(outcome.pv) >= 3
    assert is_mating_line(three, outcome.pv)


def test_no_mate_is_proved_and_a_small_budget_times_out() -> None:
    assert search_mate(Game(), lambda: False).status == "nomate"
    assert search_mate(Game(NO_MATE), lambda: False).status == "nomate"
    assert search_mate(Game(NO_MATE), lambda: False, max_nodes=100).status == "timeout"
    assert search_mate(Game(NO_MATE), lambda: True, max_nodes=10**9).status in ("nomate", "timeout")


def test_root_mate_returns_only_mates() -> None:
    assert root_mate(Game(MATE_IN_1), 1000, lambda: False) == ["G*1b"]
    assert root_mate(Game(), 1000, lambda: False) is None
