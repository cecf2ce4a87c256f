"""The USI server's limits and protocol edges over real pipes: what reaches the thinker (node limits, clock
budgets with margins and increments, DrawPly, Threads/BatchSize), `go mate` timeouts, one `bestmove` per
`go` under any interleaving, commands answered while thinking, `info` fields while thinking.

``RecordingThinker`` is a fake ``Thinker`` (no network): it plays the first legal move after "searching" in
5 ms steps until ``should_stop`` or its node limit, and records every request. Tests that need the real
search use ``build_thinker`` on a tiny checkpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from usi_helpers import InProcessEngine, tiny_checkpoint

from keisei.engine.thinker import build_thinker
from keisei.shogi import Game
from keisei.usi.thinking import ThinkLine, ThinkReport, ThinkRequest

pytestmark = pytest.mark.timeout(120)

# Black has every piece type in hand against a bare king: df-pn neither proves nor disproves a mate within
# 200,000 nodes (measured: 1.5 s), so a short `go mate` runs out of time.
MATE_UNDECIDED = "4k4/9/9/9/9/9/9/9/4K4 b RBGSNLPrbgsnlp 1"
PROTOCOL_WORDS = ("id", "option", "usiok", "readyok", "info", "bestmove", "checkmate")


class RecordingThinker:
    """A fake thinker: first legal move, one "node" per 5 ms, interim reports, every request kept."""

    def __init__(self) -> None:
        self.requests: list[ThinkRequest] = []
        self.new_games = 0
        self.closed = 0

    def think(self, request: ThinkRequest) -> ThinkReport:
        self.requests.append(request)
        move = request.game.legal_moves()[0]
        nodes = 0
        while not request.should_stop() and (request.nodes is None or nodes < request.nodes):
            time.sleep(0.005)
            nodes += 1
            if nodes % 20 == 0:
                request.on_progress(ThinkReport((ThinkLine(move, 0.1, (move,)),), nodes=nodes, depth=1, seldepth=1))
        return ThinkReport((ThinkLine(move, 0.1, (move,)),), nodes=max(1, nodes), depth=1, seldepth=1)

    def new_game(self) -> None:
        self.new_games += 1

    def close(self) -> None:
        self.closed += 1


class FakeFactory:
    def __init__(self) -> None:
        self.thinkers: list[RecordingThinker] = []
        self.options: list[dict[str, object]] = []

    def __call__(self, options: Mapping[str, object]) -> RecordingThinker:
        self.options.append(dict(options))
        self.thinkers.append(RecordingThinker())
        return self.thinkers[-1]

    @property
    def requests(self) -> list[ThinkRequest]:
        return self.thinkers[-1].requests


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(1)


@pytest.fixture
def fake():
    factory = FakeFactory()
    engine = InProcessEngine(factory, model_file="unused.pt")
    engine.factory = factory  # type: ignore[attr-defined]
    yield engine
    engine.close()


@pytest.fixture
def real(tmp_path: Path):
    engine = InProcessEngine(build_thinker, model_file=str(tiny_checkpoint(tmp_path / "tiny net.pt")))
    yield engine
    engine.close()


def ready(engine: InProcessEngine, *setoptions: str) -> None:
    engine.send("usi")
    engine.read_until("usiok")
    for line in ("setoption name Threads value 1", "setoption name MateSearchNodes value 0", *setoptions):
        engine.send(line)
    engine.send("isready")
    engine.read_until("readyok")


def go(engine: InProcessEngine, go_line: str, position: str = "position startpos") -> list[str]:
    engine.send(position)
    engine.send(go_line)
    return engine.read_until("bestmove")


def test_node_limits_reach_the_thinker_and_need_no_clock(fake) -> None:
    ready(fake)
    go(fake, "go nodes 30")
    request = fake.factory.requests[-1]
    assert request.nodes == 30 and request.time_budget_s is None  # no clock: nodes alone end the search
    fake.send("setoption name NodesLimit value 50")
    go(fake, "go btime 0 wtime 0 byoyomi 5000")
    request = fake.factory.requests[-1]
    assert request.nodes == 50 and request.time_budget_s is not None and request.time_budget_s <= 4.8
    go(fake, "go nodes 7")  # a go limit overrides the option
    assert fake.factory.requests[-1].nodes == 7
    assert len(fake.factory.thinkers) == 1  # NodesLimit is read per go: no reload


def test_margins_and_increments_make_the_clock_budget(fake) -> None:
    ready(fake, "setoption name ByoyomiMargin value 300", "setoption name TimeMargin value 100")
    go(fake, "go btime 0 wtime 0 byoyomi 1000")
    assert 0.5 < fake.factory.requests[-1].time_budget_s <= 0.7  # 1000 - 300 ms
    go(fake, "go btime 0 wtime 0 binc 1000 winc 400")
    assert 0.7 < fake.factory.requests[-1].time_budget_s <= 0.9  # black's increment 1000 - 100 ms
    go(fake, "go btime 0 wtime 0 binc 1000 winc 400", "position startpos moves 7g7f")
    assert 0.1 < fake.factory.requests[-1].time_budget_s <= 0.3  # white's increment 400 - 100 ms
    go(fake, "go btime 0 wtime 0 byoyomi 100")
    assert 0 < fake.factory.requests[-1].time_budget_s <= 0.05  # the margin never takes more than half


def test_draw_ply_limits_the_searched_game(fake) -> None:
    ready(fake, "setoption name DrawPly value 10")
    go(fake, "go nodes 1", "position startpos moves 7g7f 3c3d 2g2f 8c8d")
    assert fake.factory.requests[-1].game.max_plies == 10  # counted from move 1 of the game
    # a position given as SFEN at move 7 has 6 plies behind it: 4 more reach ply 10
    go(fake, "go nodes 1", "position sfen lnsgkgsnl/1r5b1/ppppppppp/9/9/9/PPPPPPPPP/1B5R1/LNSGKGSNL b - 7")
    assert fake.factory.requests[-1].game.max_plies == 4
    fake.send("setoption name DrawPly value 0")  # 0: no draw by length
    go(fake, "go nodes 1")
    assert fake.factory.requests[-1].game.max_plies >= 100_000


def test_draw_ply_makes_the_real_search_score_every_move_a_draw(real) -> None:
    ready(real, "setoption name DrawPly value 2", "setoption name NodesLimit value 40")
    lines = go(real, "go btime 0 wtime 0 byoyomi 5000", "position startpos moves 7g7f")
    assert lines[-1].split()[1] in Game("lnsgkgsnl/1r5b1/ppppppppp/9/9/2P6/PP1PPPPPP/1B5R1/LNSGKGSNL w - 2").legal_moves()
    assert " score cp 0 " in lines[-2], lines[-2]  # every reply reaches ply 2: a draw, whatever the net says


def worker_threads(engine: InProcessEngine) -> int:
    """torch's intra-op thread count as seen by the server's search thread (it is kept per OS thread)."""
    seen: list[int] = []
    done = threading.Event()
    engine.server._jobs.put(lambda: (seen.append(torch.get_num_threads()), done.set()))
    assert done.wait(10)
    return seen[0]


def test_threads_and_batch_size_reach_the_network_thinker(real) -> None:
    ready(real, "setoption name BatchSize value 4")
    assert real.server.thinker._mcts.config.batch_size == 4
    real.send("setoption name Threads value 2")
    real.send("setoption name BatchSize value 32")
    real.send("isready")
    real.read_until("readyok")
    assert real.server.thinker._mcts.config.batch_size == 32
    go(real, "go nodes 8")
    assert worker_threads(real) == 2  # the thread that searches, not only the one that loaded the net
    real.send("setoption name Threads value 1")
    real.send("isready")
    real.read_until("readyok")
    go(real, "go nodes 8")
    assert worker_threads(real) == 1


def test_real_node_limits_cap_the_simulations(real) -> None:
    ready(real, "setoption name NodesLimit value 40", "setoption name BatchSize value 8")
    real.send("usinewgame")
    final = go(real, "go btime 0 wtime 0 byoyomi 10000")[-2]  # a fresh tree: nodes are this search's
    nodes = int(final.split(" nodes ")[1].split()[0])
    assert 40 <= nodes <= 48, final  # at most one batch of virtual-loss leaves beyond the limit
    real.send("usinewgame")
    final = go(real, "go nodes 12")[-2]
    assert 12 <= int(final.split(" nodes ")[1].split()[0]) <= 20, final


def test_go_mate_times_out_on_an_undecided_position_and_says_so(fake) -> None:
    ready(fake)
    fake.send(f"position sfen {MATE_UNDECIDED}")
    fake.send("go mate 300")
    assert fake.read_until("checkmate")[-1] == "checkmate timeout"
    fake.send("go mate infinite")  # only stop ends it
    assert not [line for line in fake.drain(0.5) if line.startswith("checkmate")]
    fake.send("stop")
    assert fake.read_until("checkmate")[-1] == "checkmate timeout"
    assert fake.factory.requests == []  # go mate never asks the thinker


def test_malformed_go_is_named_and_still_answered(fake) -> None:
    ready(fake)
    lines = go(fake, "go btime x wtime 0 byoyomi 100")
    assert any(line.startswith("info string go: btime must be an integer, got 'x'") for line in lines), lines
    assert lines[-1].split()[1] in Game().legal_moves()
    lines = go(fake, "go searchmoves 7g7f")
    assert any("unknown argument 'searchmoves'" in line for line in lines) and lines[-1].startswith("bestmove ")


def test_one_bestmove_for_every_go_under_any_interleaving(fake) -> None:
    ready(fake, "setoption name USI_Ponder value true")
    scripts = [
        ["go btime 0 wtime 0 byoyomi 40"],
        ["go infinite", "stop"],
        ["go infinite", "stop", "stop"],
        ["go ponder btime 0 wtime 0 byoyomi 40", "ponderhit"],
        ["go ponder btime 0 wtime 0 byoyomi 40", "stop"],
        ["go ponder btime 0 wtime 0 byoyomi 40", "ponderhit", "stop"],
        ["go infinite", "position startpos moves 7g7f"],  # a new position ends the search: its bestmove first
        ["go infinite", "go btime 0 wtime 0 byoyomi 40"],  # two go: two bestmoves
        ["go nodes 3", "isready"],
        ["go infinite", "usinewgame"],
        ["go infinite", "gameover lose"],
    ]
    gos = 0
    for round_number in range(3):
        for script in scripts:
            fake.send("position startpos")
            for line in script:
                fake.send(line)
                gos += line.startswith("go ")
                if round_number == 1:
                    time.sleep(0.03)  # also let searches get under way before the next command
            fake.send("stop")  # ends the second search of "go infinite, go ..." if still held
    fake.send("isready")
    fake.read_until("readyok", timeout=30)
    fake.drain(0.3)  # nothing more may come
    answers = [line for line in fake.transcript if line.startswith("bestmove")]
    assert len(answers) == gos, (len(answers), gos)
    legal = set(Game().legal_moves()) | set(Game("lnsgkgsnl/1r5b1/ppppppppp/9/9/2P6/PP1PPPPPP/1B5R1/LNSGKGSNL w - 2")
                                            .legal_moves())
    assert all(line.split()[1] in legal for line in answers), answers


def test_isready_setoption_and_unknown_lines_are_answered_while_thinking(fake) -> None:
    ready(fake)
    fake.send("position startpos")
    fake.send("go infinite")
    fake.send("isready")
    fake.send("setoption name MultiPV value 2")
    fake.send("hello")
    lines = fake.read_until("readyok")
    lines += fake.read_until("info")
    while "unknown command" not in lines[-1]:
        lines += fake.read_until("info")
    assert not [line for line in lines if line.startswith("bestmove")]  # still thinking
    fake.send("stop")
    assert sum(line.startswith("bestmove") for line in fake.read_until("bestmove")) == 1


def test_info_lines_while_thinking_carry_the_stated_fields(real) -> None:
    ready(real)
    real.send("position startpos")
    real.send("go infinite")
    lines = real.drain(1.6)  # the engine promises a line at least every 0.5 s
    real.send("stop")
    lines += real.read_until("bestmove")
    thinking = [line for line in lines if line.startswith("info") and " pv " in line]
    assert len(thinking) >= 3, lines  # interim lines, then the final one
    for line in thinking:
        words = line.split()
        for key in ("depth", "seldepth", "nodes", "nps", "time", "score", "pv"):
            assert key in words, (key, line)
        assert words[words.index("score") + 1] in ("cp", "mate")
    assert thinking[-1].split(" pv ")[1].split()[0] == lines[-1].split()[1]
    assert all(line.split()[0] in PROTOCOL_WORDS for line in lines)


def test_a_hundred_searches_leave_no_thread_behind(fake) -> None:
    ready(fake)
    before = threading.active_count()
    for _ in range(100):
        go(fake, "go nodes 1")
    fake.send("usinewgame")
    fake.send("isready")
    fake.read_until("readyok")
    assert threading.active_count() == before


class ReusingThinker(RecordingThinker):
    """Reports a big reused tree (nodes) of which this search ran only a few simulations."""

    def think(self, request: ThinkRequest) -> ThinkReport:
        time.sleep(0.05)
        move = request.game.legal_moves()[0]
        return ThinkReport((ThinkLine(move, 0.0, (move,)),), nodes=100_000, depth=1, seldepth=1, searched=10)


def test_nps_counts_this_searchs_simulations_not_the_reused_tree() -> None:
    engine = InProcessEngine(lambda options: ReusingThinker(), model_file="unused.pt")
    try:
        ready(engine)
        final = go(engine, "go nodes 10")[-2]
        words = final.split()
        assert words[words.index("nodes") + 1] == "100000"
        assert int(words[words.index("nps") + 1]) <= 10 * 1000 // 50  # 10 simulations in >= 50 ms
    finally:
        engine.close()


def test_entering_king_rules_decide_bestmove_win(fake) -> None:
    thirty = "9/4K3G/PPPPPPPPP/9/9/9/9/9/k8 b 2R2B 1"  # king and 10 pieces in camp, 30 points
    thirty_one = "9/4K3G/PPPPPPPPP/9/9/9/9/9/k8 b 2R2BG 1"
    ready(fake)  # CSARule27: black wins with 28 points
    assert go(fake, "go nodes 1", f"position sfen {thirty}")[-1] == "bestmove win"
    ready(fake, "setoption name EnteringKingRule value CSARule24")  # 24-30 points: only a draw, so play on
    assert go(fake, "go nodes 1", f"position sfen {thirty}")[-1].split()[1] in Game(thirty).legal_moves()
    assert go(fake, "go nodes 1", f"position sfen {thirty_one}")[-1] == "bestmove win"


def test_ponderhit_may_bring_the_clock_as_it_is_now(fake) -> None:
    ready(fake, "setoption name USI_Ponder value true")
    fake.send("position startpos")
    fake.send("go ponder btime 0 wtime 0 byoyomi 60000")
    fake.send("ponderhit btime 0 wtime 0 byoyomi 300")  # YaneuraOu / ShogiHome early ponder: the new clock
    assert fake.read_until("bestmove", timeout=20)[-1].split()[1] in Game().legal_moves()  # not after 60 s
    fake.send("go ponder btime 0 wtime 0 byoyomi 300")
    fake.send("ponderhit btime x")
    lines = fake.read_until("bestmove", timeout=20)
    assert any("ponderhit: btime must be an integer" in line for line in lines)
