"""`keisei usi` as a real process through its launcher: lazy network load, a GUI-like session, games in one process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from usi_helpers import EngineProcess, tiny_checkpoint, tiny_launcher

from keisei.cli import main
from keisei.shogi import Game

pytestmark = pytest.mark.timeout(300)


def legal_after(moves: list[str]) -> list[str]:
    game = Game()
    for move in moves:
        game.push_usi(move)
    return game.legal_moves()


def position(moves: list[str]) -> str:
    return "position startpos" + (f" moves {' '.join(moves)}" if moves else "")


def test_write_launcher_writes_an_executable_that_answers_usiok_before_loading_torch(tmp_path: Path, capsys) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "my net.pt")
    launcher = tmp_path / "bin" / "keisei engine"
    rc = main(["usi", "--checkpoint", str(checkpoint), "--option", "Threads=1", "--write-launcher", str(launcher)])
    assert rc == 0 and str(launcher) in capsys.readouterr().out
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh\n") and sys.executable in text and str(checkpoint) in text
    assert os.access(launcher, os.X_OK)
    engine = EngineProcess([str(launcher)])
    try:
        engine.send("usi")
        lines = engine.read_until("usiok")
        assert f"option name ModelFile type filename default {checkpoint}" in lines
        assert "option name Threads type spin default 1 min 1 max 256" in lines
        assert "libtorch" not in engine.maps()  # torch is imported at isready, never before usiok
        engine.send("isready")
        engine.read_until("readyok")
        assert "libtorch" in engine.maps()
        engine.send("quit")
        assert engine.proc.wait(timeout=10) == 0
    finally:
        engine.close()


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    def keisei_usi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "keisei.cli", "usi", *args], capture_output=True, text=True,
                              timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(Path.cwd())})

    proc = keisei_usi("--checkpoint", str(tmp_path / "missing.pt"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "missing.pt: file not found" in proc.stderr
    checkpoint = tiny_checkpoint(tmp_path / "net.pt")
    proc = keisei_usi("--checkpoint", str(checkpoint), "--option", "MultiPV=0")
    assert proc.returncode == 2 and "option MultiPV: 0 is outside [1, 20]" in proc.stderr
    proc = keisei_usi("--checkpoint", str(checkpoint), "--option", "Hash=16")
    assert proc.returncode == 2 and "unknown option 'Hash'" in proc.stderr


def mate_workers(engine_pid: int) -> list[int]:
    """Live df-pn child processes of the engine (keisei/usi/mate_worker.py is started with the engine's pid)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        ours = len(argv) >= 3 and argv[1].endswith(b"mate_worker.py") and argv[2] == str(engine_pid).encode()
        if ours and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_gui_session_in_shogihome_order_then_a_second_game_then_quit(tmp_path: Path) -> None:
    engine = EngineProcess([str(tiny_launcher(tmp_path))])
    try:
        engine.send("usi")
        engine.read_until("usiok")
        engine.send("setoption name USI_Hash value 64")  # ShogiHome sends both although they are undeclared
        engine.send("setoption name USI_Ponder value true")
        engine.send("setoption name MultiPV value 1")
        engine.send("isready")
        assert engine.read_until("readyok")[-1] == "readyok"
        threads = []
        for game_number, result in enumerate(("win", "lose")):
            engine.send("usinewgame")
            moves: list[str] = []
            engine.send(position(moves))
            engine.send("go btime 10000 wtime 10000 byoyomi 300")
            answer = engine.read_until("bestmove")[-1].split()
            assert answer[1] in legal_after(moves)
            moves.append(answer[1])
            if len(answer) == 4:  # USI_Ponder: "bestmove X ponder Y", Y legal after X
                assert answer[2] == "ponder" and answer[3] in legal_after(moves)
            moves.append(legal_after(moves)[0])  # the "opponent" replies
            engine.send(position(moves))
            engine.send("go infinite")
            thinking = engine.read_until("info")
            assert not any(line.startswith("bestmove") for line in thinking)
            engine.send("stop")
            moves.append(engine.read_until("bestmove")[-1].split()[1])
            assert moves[-1] in legal_after(moves[:-1])
            guess = legal_after(moves)[0]  # ponder on a guessed reply, which then comes
            engine.send(position([*moves, guess]))
            engine.send("go ponder btime 9000 wtime 9000 byoyomi 300")
            assert not any(line.startswith("bestmove") for line in engine.drain(0.3))
            engine.send("ponderhit")
            moves.append(guess)
            moves.append(engine.read_until("bestmove")[-1].split()[1])
            assert moves[-1] in legal_after(moves[:-1])
            engine.send(f"gameover {result}")
            engine.send("isready")  # the GUI's next game starts with isready again
            engine.read_until("readyok")
            threads.append(engine.threads())
            assert game_number < 2
        assert threads[0] == threads[1], threads  # no thread is left behind by a game
        assert not [line for line in engine.transcript if line.startswith("info string")]
        engine.send("quit")
        assert engine.proc.wait(timeout=5) == 0  # exits promptly (well within the GUI's patience)
        assert not any("Traceback" in line for line in engine.stderr), engine.stderr
    finally:
        engine.close()


@pytest.mark.slow
def test_many_games_in_one_process_keep_threads_and_memory_bounded(tmp_path: Path) -> None:
    engine = EngineProcess([str(tiny_launcher(tmp_path, "NodesLimit=32"))])
    try:
        engine.send("usi")
        engine.read_until("usiok")
        samples = []
        for _ in range(5):
            engine.send("isready")
            engine.read_until("readyok")
            engine.send("usinewgame")
            game = Game(max_plies=24)
            while game.result is None:
                engine.send(position(game.moves))
                engine.send("go btime 0 wtime 0 byoyomi 1000")
                move = engine.read_until("bestmove")[-1].split()[1]
                if move == "resign":
                    break
                game.push_usi(move)
            engine.send("gameover draw")
            samples.append((engine.threads(), engine.rss_kib()))
        assert len({threads for threads, _ in samples}) == 1, samples
        assert samples[-1][1] - samples[1][1] < 64 * 1024, samples  # KiB: no growth game after game
        engine.send("quit")
        assert engine.proc.wait(timeout=5) == 0
    finally:
        engine.close()


NOISY_ENGINE = """
import sys
import cshogi
import keisei.commands.usi as usi
from keisei.cli import main

real_build = usi._build_thinker

def noisy_build(options):
    # cshogi's Board.is_ok() prints "Error! failedStep = ..." and the board with C++ std::cout (file
    # descriptor 1) on a bad position; a Python print goes to sys.stdout. Neither may reach the GUI.
    assert not cshogi.Board("4k4/4R4/9/9/9/9/9/9/4K4 b - 1").is_ok()
    print("a stray print from Python")
    return real_build(options)

usi._build_thinker = noisy_build
sys.exit(main(sys.argv[1:]))
"""
PROTOCOL = re.compile(r"(id (name|author) .+|option name \S+ type \S+ .*|usiok|readyok|info .+|"
                      r"bestmove (\S+( ponder \S+)?)|checkmate .+)")


def test_stdout_carries_only_protocol_lines_even_when_libraries_print(tmp_path: Path) -> None:
    script = tmp_path / "noisy_engine.py"
    script.write_text(NOISY_ENGINE)
    checkpoint = tiny_checkpoint(tmp_path / "tiny net.pt")
    engine = EngineProcess([sys.executable, str(script), "usi", "--checkpoint", str(checkpoint), "--option",
                            "Threads=1"], env={"PYTHONPATH": str(Path.cwd())})
    try:
        for line in ("usi", "setoption name USI_Hash value 16", "setoption name MultiPV value 2", "isready"):
            engine.send(line)
        engine.read_until("readyok")
        for line in ("usinewgame", "bogus command", "setoption name Nope value 1", "position startpos moves 1a1a",
                     "go btime 0 wtime 0 byoyomi 100", "position sfen 8k/9/8P/9/9/9/9/9/K8 b G 1", "go mate 500"):
            engine.send(line)
        engine.read_until("checkmate")
        engine.send("position startpos")
        engine.send("go infinite")
        engine.read_until("info")
        engine.send("stop")
        engine.read_until("bestmove")
        engine.send("position sfen 4k4/9/9/9/9/9/9/9/4K4 b RBGSNLPrbgsnlp 1")  # df-pn decides nothing soon
        engine.send("go mate infinite")
        engine.read_until("info")
        assert mate_workers(engine.pid)  # df-pn runs in a child process
        engine.send("quit")  # during a search: it is stopped, answered, and the process exits
        assert engine.proc.wait(timeout=5) == 0
        engine.drain(1.0)
        assert engine.transcript and all(PROTOCOL.fullmatch(line) for line in engine.transcript), [
            line for line in engine.transcript if not PROTOCOL.fullmatch(line)]
        assert engine.transcript[-1] == "checkmate timeout"  # the go mate's answer, before exiting
        stderr = "\n".join(engine.stderr)
        assert "Error! failedStep = 2" in stderr and "a stray print from Python" in stderr
        assert not mate_workers(engine.pid)  # the df-pn child ended with the engine
    finally:
        engine.close()


def test_backend_option_onnx_plays_the_moves_torch_plays(tmp_path: Path) -> None:
    """setoption Backend: onnxruntime, torch and auto give the same search (same best moves at a node limit)."""
    launcher = tiny_launcher(tmp_path, "NodesLimit=64")
    lines = [[], ["7g7f"], ["7g7f", "3c3d", "2g2f"]]
    played: dict[str, list[tuple[str, int]]] = {}
    for backend in ("torch", "onnx", "auto"):
        engine = EngineProcess([str(launcher)])
        try:
            engine.send("usi")
            assert any(line.startswith("option name Backend type combo default auto")
                       for line in engine.read_until("usiok"))
            engine.send(f"setoption name Backend value {backend}")
            engine.send("isready")
            assert engine.read_until("readyok")[-1] == "readyok"
            played[backend] = []
            for moves in lines:
                engine.send(position(moves))
                engine.send("go byoyomi 30000")
                answer = engine.read_until("bestmove")
                nodes = [int(m.group(1)) for line in answer if (m := re.search(r" nodes (\d+) ", line))]
                assert nodes and 64 <= nodes[-1] <= 80, answer  # the node limit stopped it, not the clock
                played[backend].append((answer[-1].split()[1], nodes[-1]))
            engine.send("quit")
            assert engine.proc.wait(timeout=10) == 0
        finally:
            engine.close()
    assert played["onnx"] == played["torch"] == played["auto"]
