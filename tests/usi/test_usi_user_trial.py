"""What a second round of users met with `keisei usi` (issue 18), each provoked through the real engine: a
network that cannot load, the options tournament managers expect, `go mate` variants, explicit limits with
`infinite`, the engine's identity, and a run's `latest` pointer accepted as a checkpoint."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from usi_helpers import EngineProcess, InProcessEngine, tiny_checkpoint

from keisei.engine.thinker import build_thinker

pytestmark = pytest.mark.timeout(180)

MATE_IN_3 = "7kl/9/7PP/9/9/9/9/9/K8 b GS 1"  # not used for timing: only that a checkmate line comes
MATE_IN_1 = "8k/9/8P/9/9/9/9/9/K8 b G 1"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keisei.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_the_launcher_refuses_a_file_that_is_not_a_checkpoint_and_writes_nothing(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    launcher = tmp_path / "L"
    proc = _cli("usi", "--checkpoint", str(notes), "--write-launcher", str(launcher))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "notes.txt: not a Keisei checkpoint" in lines[0], proc.stderr
    assert not launcher.exists() and "wrote" not in proc.stdout


def test_an_engine_without_a_network_never_says_readyok_and_exits_nonzero(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    engine = EngineProcess([sys.executable, "-m", "keisei.cli", "usi", "--checkpoint", str(notes)])
    try:
        engine.send("usi")
        engine.read_until("usiok")
        engine.send("isready")
        lines = engine.drain(60.0)
        assert engine.proc.wait(timeout=30) == 2
    finally:
        if engine.proc.poll() is None:
            engine.proc.kill()
    assert "readyok" not in lines
    assert any(line.startswith("info string error: could not load the network") for line in lines), lines
    assert any("not a Keisei checkpoint" in line for line in engine.stderr), engine.stderr


def test_declared_options_identity_and_the_latest_pointer(tmp_path: Path) -> None:
    run = tmp_path / "run" / "checkpoints"
    net = tiny_checkpoint(run / "ckpt_20480.pt")
    (run / "latest").write_text("ckpt_20480.pt\n")
    engine = EngineProcess([sys.executable, "-m", "keisei.cli", "usi", "--checkpoint", str(run / "latest"),
                            "--option", "Threads=1"])
    try:
        engine.send("usi")
        lines = engine.read_until("usiok")
        [name] = [line for line in lines if line.startswith("id name ")]
        from keisei import __version__
        from keisei.checkpoint_path import file_sha256

        assert name == f"id name Keisei {__version__} ckpt_20480 {file_sha256(net)[:6]}"
        for option in ("USI_Hash type spin", "USI_Ponder type check", "MaxMovesToDraw type spin",
                       "Draw_Ply type spin"):
            assert any(line.startswith(f"option name {option}") for line in lines), option
        engine.send("setoption name MaxMovesToDraw value 256")
        engine.send("setoption name Draw_Ply value 256")
        engine.send("isready")
        ready = engine.read_until("readyok")
        assert not [line for line in ready if "ignored" in line], ready
        engine.send("position startpos")
        engine.send("go nodes 8 infinite")  # the explicit limit ends it: no stop needed
        assert engine.read_until("bestmove", timeout=60)[-1].startswith("bestmove ")
        engine.send("quit")
        assert engine.proc.wait(timeout=30) == 0
    finally:
        if engine.proc.poll() is None:
            engine.proc.kill()
    # analyse and play take the pointer too
    analysed = _cli("analyse", "--checkpoint", str(run / "latest"), "--sfen", "startpos", "--nodes", "4")
    assert analysed.returncode == 0, analysed.stderr


@pytest.fixture
def engine(tmp_path: Path):
    eng = InProcessEngine(build_thinker, model_file=str(tiny_checkpoint(tmp_path / "net.pt")))
    eng.send("usi")
    eng.read_until("usiok")
    eng.send("setoption name Threads value 1")
    eng.send("isready")
    eng.read_until("readyok")
    yield eng
    eng.close()


@pytest.mark.parametrize("go", ["go mate nodes 100000", "go mate infinite nodes 100000", "go mate 5000 nodes 100000",
                                "go mate", "go mate depth 5", "go mate movetime 5000"])
def test_go_mate_variants_always_end_with_a_checkmate_line(engine, go: str) -> None:
    engine.send(f"position sfen {MATE_IN_1}")
    engine.send(go)
    lines = engine.read_until("checkmate", timeout=60)
    assert lines[-1] == "checkmate G*1b", lines
    assert not [line for line in lines if line.startswith("bestmove") or "go: go:" in line], lines


def test_a_bad_go_mate_word_is_named_once_and_still_answered_with_checkmate(engine) -> None:
    engine.send(f"position sfen {MATE_IN_1}")
    engine.send("go mate nodes x")
    lines = engine.read_until("checkmate", timeout=60)
    assert lines[-1] == "checkmate G*1b"
    [info] = [line for line in lines if line.startswith("info string")]
    assert info.startswith("info string go: nodes must be an integer, got 'x'"), info


def test_explicit_limits_end_an_infinite_search_but_a_plain_infinite_waits_for_stop(engine) -> None:
    engine.send("position startpos")
    engine.send("go depth 3 infinite")
    assert engine.read_until("bestmove", timeout=60)[-1].startswith("bestmove ")
    engine.send("go infinite")
    time.sleep(0.5)
    assert not [line for line in engine.drain(0.5) if line.startswith("bestmove")]
    engine.send("stop")
    assert engine.read_until("bestmove", timeout=30)[-1].startswith("bestmove ")


def test_score_mate_minus_n_carries_the_whole_mating_line(engine) -> None:
    engine.send("position sfen 7sk/9/7PP/9/9/9/9/9/K8 w G 1")  # every white move allows a mate in 1
    engine.send("go nodes 200")
    lines = engine.read_until("bestmove", timeout=60)
    [final] = [line for line in lines if " score mate -2 " in line][-1:]
    pv = final.split(" pv ", 1)[1].split()
    assert len(pv) == 2, final  # our move and the mating reply, not one move
    from keisei.shogi import Game

    game = Game("7sk/9/7PP/9/9/9/9/9/K8 w G 1")
    for move in pv:
        game.push_usi(move)
    assert game.result is not None and game.result.winner == "black" and game.result.reason == "checkmate"


def test_go_mate_after_a_refused_position_claims_no_proof(engine) -> None:
    engine.send("position sfen this-is-not-a-position b - 1")
    engine.send("go mate 1000")
    lines = engine.read_until("checkmate", timeout=30)
    assert lines[-1] == "checkmate timeout", lines  # never "nomate" for a position it never accepted
    assert any("no position to search" in line for line in lines), lines


def test_random_opening_plies_give_variety_at_fixed_nodes_and_are_off_by_default(engine) -> None:
    def first_moves(plies: int) -> set[tuple[str, ...]]:
        seen = set()
        for _ in range(6):
            engine.send("usinewgame")
            moves: list[str] = []
            for _ in range(plies):
                engine.send("position startpos" + (" moves " + " ".join(moves) if moves else ""))
                engine.send("go nodes 16")
                moves.append(engine.read_until("bestmove", timeout=60)[-1].split()[1])
            seen.add(tuple(moves))
        return seen

    assert len(first_moves(2)) == 1  # deterministic at fixed nodes by default
    engine.send("setoption name RandomOpeningPly value 2")
    engine.send("isready")
    engine.read_until("readyok")
    assert len(first_moves(2)) > 1  # the first two plies are drawn from the visits
    engine.send("setoption name SearchAlgorithm value policy")  # the raw policy samples too
    engine.send("isready")
    engine.read_until("readyok")
    assert len(first_moves(2)) > 1
