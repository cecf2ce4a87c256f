"""df-pn for `go mate` (in a child process) and the root check: mates with legal mating lines, no-mate proved,
timeouts, a stopped search killed at once, no child left behind."""

import os
import subprocess
import sys
import time
from pathlib import Path

import cshogi

from keisei.shogi import Game
from keisei.shogi.mate import MateResult as MateOutcome
from keisei.shogi.mate import mate_search as search_mate
from keisei.usi.mate import MateProcess, root_mate

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


UNDECIDED = "4k4/9/9/9/9/9/9/9/4K4 b RBGSNLPrbgsnlp 1"  # df-pn decides nothing in 200,000 nodes


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_mate_process_finds_mates_proves_none_and_stops_at_once() -> None:
    mate = MateProcess()
    try:
        outcome = mate.search(Game(MATE_IN_1), lambda: False)
        assert outcome == MateOutcome("checkmate", ("G*1b",))
        game = Game("7k1/9/8G/7Sl/9/9/9/9/K8 b RS 1")
        outcome = mate.search(game, lambda: False)
        assert outcome.status == "checkmate" and is_mating_line(game.sfen(), outcome.pv)
        after_moves = Game()
        for move in ("7g7f", "3c3d"):
            after_moves.push_usi(move)
        assert mate.search(after_moves, lambda: False).status == "nomate"  # the position after the moves
        assert mate.search(Game(NO_MATE), lambda: False, max_nodes=100).status == "timeout"
        first = mate._proc.pid
        stop_at = time.monotonic() + 0.3
        assert mate.search(Game(UNDECIDED), lambda: time.monotonic() > stop_at) == MateOutcome("timeout", ())
        assert not alive(first)  # the busy child was killed, not left searching
        assert mate.search(Game(MATE_IN_1), lambda: False).pv == ("G*1b",)  # a fresh child answers
        second = mate._proc.pid
    finally:
        mate.close()
    assert second != first and not alive(second)


ORPHAN_SCRIPT = """
import sys, threading, time
from keisei.shogi import Game
from keisei.usi.mate import MateProcess
mate = MateProcess()
threading.Thread(target=mate.search, args=(Game(sys.argv[1]), lambda: False), daemon=True).start()
while mate._proc is None:
    time.sleep(0.01)
print(mate._proc.pid, flush=True)
time.sleep(0.3)
"""


def test_the_df_pn_child_dies_with_the_engine() -> None:
    proc = subprocess.run([sys.executable, "-c", ORPHAN_SCRIPT, UNDECIDED], capture_output=True, text=True,
                          timeout=60, check=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    child = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)  # killed with its parent, not left running a search of 2**31 nodes


def test_root_mate_keeps_to_the_time_left() -> None:
    calls: list[float] = []

    def left(values=[0.05, 0.0]) -> float:  # noqa: B006 - a little script of what the clock says
        calls.append(values[min(len(calls), len(values) - 1)])
        return calls[-1]

    assert search_mate(Game(UNDECIDED), lambda: False, time_left=left).status == "timeout"
    assert calls == [0.05, 0.0]  # one chunk of what fits in 50 ms, then no time: no second chunk
    assert search_mate(Game(MATE_IN_1), lambda: False, time_left=lambda: 0.001).status == "timeout"  # too little
    assert root_mate(Game(MATE_IN_1), 20_000, lambda: False, time_left=lambda: 1.0) == ["G*1b"]
    assert root_mate(Game(MATE_IN_1), 20_000, lambda: False, time_left=lambda: None) == ["G*1b"]
