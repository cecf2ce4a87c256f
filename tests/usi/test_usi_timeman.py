"""Time management and `go` parsing: the rule of keisei.usi.timeman, case by case (hand arithmetic)."""

import pytest

from keisei.usi.timeman import GoLimits, parse_go, think_time_ms


def ms(words: str, turn: str = "black", byoyomi_margin: int = 200, time_margin: int = 500) -> int | None:
    return think_time_ms(parse_go(words.split()), turn, byoyomi_margin=byoyomi_margin, time_margin=time_margin)


def test_parse_go_reads_every_limit() -> None:
    words = ["ponder", "btime", "1000", "wtime", "2000", "byoyomi", "300", "binc", "10", "winc", "20", "nodes", "7"]
    limits = parse_go(words)
    assert limits == GoLimits(btime=1000, wtime=2000, byoyomi=300, binc=10, winc=20, nodes=7, ponder=True)
    assert parse_go(["infinite"]).infinite and not parse_go([]).has_clock
    assert parse_go(["mate", "1500"]) == GoLimits(mate=1500, is_mate=True)
    assert parse_go(["mate", "infinite"]) == GoLimits(mate=-1, is_mate=True)
    assert parse_go(["btime", "-20"]).btime == 0  # a slightly negative clock from a GUI is 0


@pytest.mark.parametrize("words, message", [("btime", "btime needs a value"), ("byoyomi x", "integer"),
                                            ("searchmoves 7g7f", "unknown argument 'searchmoves'")])
def test_parse_go_errors_name_the_word(words: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_go(words.split())


def test_byoyomi_only_uses_it_less_the_margin() -> None:
    assert ms("btime 0 wtime 0 byoyomi 1000") == 800
    assert ms("btime 0 wtime 0 byoyomi 100") == 50  # the margin never takes more than half
    assert ms("btime 0 wtime 0 byoyomi 100", byoyomi_margin=20) == 80


def test_main_time_is_shared_out_and_capped_by_the_hard_limit() -> None:
    assert ms("btime 60000 wtime 1000 byoyomi 1000") == 60000 // 30 + 1000
    assert ms("btime 1000 wtime 60000 byoyomi 1000", turn="white") == 60000 // 30 + 1000
    assert ms("btime 300 wtime 0 byoyomi 0") == 10  # sudden death: a 30th of what is left
    assert ms("btime 300 wtime 0 byoyomi 0", time_margin=295) == 10  # the hard limit 300 - 150 is not reached
    assert ms("btime 30000 wtime 0") == 1000


def test_increment_counts_for_this_move() -> None:
    assert ms("btime 0 wtime 0 binc 100 winc 100") == 50
    assert ms("btime 9000 wtime 0 binc 2000 winc 0") == 9000 // 30 + 2000
    assert ms("btime 0 wtime 0 binc 2000 winc 0") == 1500


def test_movetime_no_clock_and_nothing_left() -> None:
    assert ms("movetime 1000") == 800
    assert ms("nodes 100") is None and ms("infinite") is None and ms("") is None
    assert ms("btime 0 wtime 0 byoyomi 0") == 1  # nothing left: stop at the first check (one simulation)
