"""The USI server in this process over real pipes, with the real network thinker on a tiny checkpoint."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from usi_helpers import InProcessEngine, tiny_checkpoint

from keisei.engine.thinker import build_thinker
from keisei.shogi import Game

pytestmark = pytest.mark.timeout(120)

ENTERING_KING_WIN = "9/4K3G/PPPPPPPPP/9/9/9/9/9/k8 b 2R2B 1"  # 30 points, king and 10 pieces in camp
MATED = "8k/8G/8P/9/9/9/9/9/K8 w - 1"  # white to move is checkmated
MATE_IN_1 = "8k/9/8P/9/9/9/9/9/K8 b G 1"


class CountingFactory:
    """The real thinker factory, recording the options of every build."""

    def __init__(self) -> None:
        self.builds: list[dict[str, object]] = []

    def __call__(self, options: Mapping[str, object]):
        self.builds.append(dict(options))
        return build_thinker(options)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return tiny_checkpoint(tmp_path / "tiny net.pt")


@pytest.fixture
def engine(checkpoint: Path):
    factory = CountingFactory()
    eng = InProcessEngine(factory, model_file=str(checkpoint))
    eng.factory = factory  # type: ignore[attr-defined]
    yield eng
    eng.close()


def ready(engine: InProcessEngine, *setoptions: str) -> None:
    engine.send("usi")
    engine.read_until("usiok")
    for line in ("setoption name Threads value 1", *setoptions):
        engine.send(line)
    engine.send("isready")
    engine.read_until("readyok")


def bestmove(engine: InProcessEngine, position: str, go: str = "go btime 0 wtime 0 byoyomi 200") -> tuple[str, list]:
    engine.send(position)
    engine.send(go)
    lines = engine.read_until("bestmove")
    return lines[-1].split()[1], lines


def info_fields(line: str) -> dict[str, str]:
    words = line.split()
    assert words[0] == "info"
    fields = {}
    i = 1
    while i < len(words):
        if words[i] == "pv":
            fields["pv"] = " ".join(words[i + 1:])
            break
        if words[i] == "score":
            fields["score"] = f"{words[i + 1]} {words[i + 2]}"
            i += 3
            continue
        fields[words[i]] = words[i + 1]
        i += 2
    return fields


def test_usi_answers_before_any_network_is_built_and_isready_builds_it(engine) -> None:
    engine.send("usi")
    lines = engine.read_until("usiok")
    assert lines[:2] == ["id name Keisei", "id author Keisei developers"]
    assert any(line.startswith("option name ModelFile type filename default ") for line in lines)
    assert engine.factory.builds == []
    engine.send("isready")
    engine.read_until("readyok")
    assert len(engine.factory.builds) == 1
    engine.send("isready")
    engine.read_until("readyok")
    assert len(engine.factory.builds) == 1  # nothing changed: no reload
    engine.send("setoption name SearchAlgorithm value policy")
    engine.send("isready")
    engine.read_until("readyok")
    assert len(engine.factory.builds) == 2 and engine.factory.builds[-1]["SearchAlgorithm"] == "policy"


def test_legal_moves_info_lines_and_the_stated_fields(engine) -> None:
    ready(engine)
    game = Game()
    for _ in range(4):
        position = "position startpos" + (f" moves {' '.join(game.moves)}" if game.moves else "")
        move, lines = bestmove(engine, position)
        infos = [info_fields(line) for line in lines if line.startswith("info") and " pv " in line]
        assert infos, lines
        final = infos[-1]
        for key in ("depth", "seldepth", "nodes", "nps", "time", "score", "pv"):
            assert key in final, (key, lines)
        assert final["pv"].split()[0] == move
        assert final["score"].split()[0] in ("cp", "mate")
        game.push_usi(move)  # raises unless legal


def test_bad_positions_are_named_not_applied_and_the_engine_keeps_running(engine) -> None:
    ready(engine)
    engine.send("position startpos moves 7g7f 3c3d 9z9z")
    line = engine.read_until("info")[-1]
    assert line.startswith("info string position not applied: move 3 '9z9z'")
    engine.send("go btime 0 wtime 0 byoyomi 100")
    assert engine.read_until("bestmove")[-1] == "bestmove resign"  # no position to play in
    engine.send("position startpos moves 7g7f 7g7f")
    assert "move 2 '7g7f' is illegal" in engine.read_until("info")[-1]
    engine.send("position sfen lnsgkgsnl/9/ppppppppp b - 1")
    assert "malformed sfen" in engine.read_until("info")[-1]
    engine.send("position nonsense")
    assert "expected 'startpos' or 'sfen" in engine.read_until("info")[-1]
    move, _ = bestmove(engine, "position startpos moves 7g7f")  # a good position is accepted again
    assert move in Game("lnsgkgsnl/1r5b1/ppppppppp/9/9/2P6/PP1PPPPPP/1B5R1/LNSGKGSNL w - 2").legal_moves()


def test_unknown_commands_and_options_get_an_info_string(engine) -> None:
    engine.send("usi")
    engine.read_until("usiok")
    engine.send("foo bar")
    assert engine.read_until("info")[-1] == "info string unknown command ignored: foo bar"
    engine.send("setoption name NoSuchOption value 3")
    assert engine.read_until("info")[-1] == "info string unknown option ignored: NoSuchOption"
    engine.send("setoption name MultiPV value 99")
    assert "outside [1, 20]" in engine.read_until("info")[-1]
    engine.send("setoption name USI_Hash value 1024")  # undeclared, still accepted silently
    engine.send("setoption name USI_Ponder value true")
    engine.send("isready")
    assert engine.read_until("readyok") == ["readyok"]


def test_model_file_with_spaces_and_a_bad_model_file(engine, tmp_path: Path) -> None:
    other = tiny_checkpoint(tmp_path / "dir with spaces" / "other net.pt", seed=3)
    ready(engine, f"setoption name ModelFile value {other}")
    assert engine.factory.builds[-1]["ModelFile"] == str(other)
    engine.send(f"setoption name ModelFile value {tmp_path / 'missing net.pt'}")
    engine.send("isready")
    engine.thread.join(timeout=30)  # no network: no readyok, the engine exits (issue 18)
    assert not engine.thread.is_alive() and engine.server.exit_code == 2 and engine.rc == 2
    lines = engine.drain(2.0)
    assert "readyok" not in lines
    assert any("could not load the network" in line and "missing net.pt" in line for line in lines), lines


def test_win_declaration_resign_when_mated_and_mate_found_at_the_root(engine) -> None:
    ready(engine)
    assert bestmove(engine, f"position sfen {ENTERING_KING_WIN}")[0] == "win"
    assert bestmove(engine, f"position sfen {MATED}")[0] == "resign"
    move, lines = bestmove(engine, f"position sfen {MATE_IN_1}")
    assert move == "G*1b" and "score mate 1" in lines[-2]
    engine.send("setoption name EnteringKingRule value NoEnteringKing")
    engine.send("isready")
    engine.read_until("readyok")
    assert bestmove(engine, f"position sfen {ENTERING_KING_WIN}")[0] in Game(ENTERING_KING_WIN).legal_moves()


def test_resign_below_the_threshold(tmp_path: Path) -> None:
    losing = tiny_checkpoint(tmp_path / "losing.pt", value_bias=-20.0)  # the value head says -1 everywhere
    engine = InProcessEngine(build_thinker, model_file=str(losing))
    try:
        ready(engine, "setoption name SearchAlgorithm value policy")
        assert bestmove(engine, "position startpos")[0] == "resign"
        engine.send("setoption name ResignValue value 0")  # 0 = never resign
        move, lines = bestmove(engine, "position startpos")
        assert move in Game().legal_moves() and "score cp -30000" in lines[-2]
    finally:
        engine.close()


def test_stop_during_infinite_gives_exactly_one_bestmove(engine) -> None:
    ready(engine)
    engine.send("position startpos")
    engine.send("go infinite")
    before = engine.read_until("info")  # thinking: it reports (the heartbeat at the latest)
    before += engine.drain(0.7)
    assert not any(line.startswith("bestmove") for line in before)
    engine.send("stop")
    assert engine.read_until("bestmove")[-1].split()[1] in Game().legal_moves()
    engine.send("stop")  # a stop with no search: ignored
    engine.send("isready")
    assert engine.read_until("readyok") == ["readyok"]


def test_ponder_then_ponderhit_and_ponder_then_stop(engine) -> None:
    ready(engine, "setoption name USI_Ponder value true")
    engine.send("position startpos moves 7g7f 3c3d")
    engine.send("go ponder btime 0 wtime 0 byoyomi 200")
    assert not any(line.startswith("bestmove") for line in engine.drain(0.5))
    engine.send("ponderhit")
    line = engine.read_until("bestmove")[-1]
    game = Game()
    for move in ("7g7f", "3c3d"):
        game.push_usi(move)
    assert line.split()[1] in game.legal_moves()
    engine.send("go ponder btime 0 wtime 0 byoyomi 200")
    engine.send("stop")
    assert engine.read_until("bestmove")[-1].split()[1] in game.legal_moves()


def test_a_new_command_stops_the_search_and_still_answers_its_go(engine) -> None:
    ready(engine)
    engine.send("position startpos")
    engine.send("go infinite")
    engine.read_until("info")
    engine.send("gameover lose")  # e.g. the opponent's flag fell during our ponder
    engine.send("isready")
    lines = engine.read_until("readyok")
    assert sum(line.startswith("bestmove") for line in lines) == 1


def test_go_mate_answers_checkmate_nomate(engine) -> None:
    ready(engine)
    engine.send(f"position sfen {MATE_IN_1}")
    engine.send("go mate 1000")
    assert engine.read_until("checkmate")[-1] == "checkmate G*1b"
    engine.send("position startpos")
    engine.send("go mate infinite")
    assert engine.read_until("checkmate")[-1] == "checkmate nomate"


def test_multipv_lines_are_distinct_legal_moves(engine) -> None:
    ready(engine, "setoption name MultiPV value 3", "setoption name NodesLimit value 64")
    move, lines = bestmove(engine, "position startpos", "go btime 0 wtime 0 byoyomi 2000")
    final = [info_fields(line) for line in lines[-4:-1]]
    assert [f["multipv"] for f in final] == ["1", "2", "3"]
    moves = [f["pv"].split()[0] for f in final]
    assert len(set(moves)) == 3 and set(moves) <= set(Game().legal_moves()) and moves[0] == move
    for f in final:  # every line is its own legal variation with its own score
        line = Game()
        for usi in f["pv"].split():
            line.push_usi(usi)
        assert f["score"].split()[0] in ("cp", "mate")
    assert any(len(f["pv"].split()) > 1 for f in final[1:]), final


def test_games_in_one_process_keep_the_thread_count(engine) -> None:
    ready(engine)
    counts = []
    for _ in range(3):
        engine.send("usinewgame")
        game = Game()
        for _ in range(3):
            position = "position startpos" + (f" moves {' '.join(game.moves)}" if game.moves else "")
            game.push_usi(bestmove(engine, position, "go btime 0 wtime 0 byoyomi 100")[0])
        engine.send("gameover draw")
        engine.send("isready")
        engine.read_until("readyok")
        counts.append(threading.active_count())
    assert counts[0] == counts[1] == counts[2]
    engine.send("quit")
    engine.thread.join(timeout=10)
    assert engine.rc == 0
