"""`keisei play` and `keisei analyse` as real processes on a tiny checkpoint, driven by stdin scripts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from usi_helpers import tiny_checkpoint

from keisei.shogi import Game
from keisei.shogi.records import save_record

pytestmark = pytest.mark.timeout(120)

ENTERING_KING_WIN = "9/4K3G/PPPPPPPPP/9/9/9/9/9/k8 b 2R2B 1"


def keisei(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keisei.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=100, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path.cwd()), "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("play") / "tiny net.pt")


def engine_moves(out: str) -> list[str]:
    return re.findall(r"Keisei plays (\S+)", out)  # a line may start with the prompt


def test_play_a_game_with_bad_input_undo_and_resign(net: Path) -> None:
    script = "7g7f\n7g7f\nhello\nmoves\nwin\nundo\n2g2f\nresign\n"
    proc = keisei("play", "--checkpoint", str(net), "--nodes", "8", stdin=script)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert out.count("illegal move '7g7f' here") == 1  # 7g7f again: one line, then the prompt again
    assert out.count("not a move or command: 'hello'") == 1
    assert out.count("no entering-king win to declare here") == 1
    [legal] = re.findall(r"^.*legal moves: (.*)$", out, flags=re.MULTILINE)
    replies = engine_moves(out)
    assert len(replies) == 2
    after_first = Game()
    after_first.push_usi("7g7f")
    after_first.push_usi(replies[0])
    assert sorted(legal.split()) == sorted(after_first.legal_moves())
    game = Game()  # after undo the game went on from the start with 2g2f
    game.push_usi("2g2f")
    game.push_usi(replies[1])  # raises unless the engine's move is legal there
    assert out.rstrip().endswith("game over after 2 plies: white wins (resign)")
    assert "  9  8  7  6  5  4  3  2  1" in out and "ply 0, black to move" in out
    assert "Traceback" not in proc.stderr


def test_play_as_white_engine_moves_first_and_input_may_end(net: Path) -> None:
    proc = keisei("play", "--checkpoint", str(net), "--nodes", "8", "--color", "white", stdin="")
    assert proc.returncode == 0, proc.stderr
    [first] = engine_moves(proc.stdout)
    assert first in Game().legal_moves()
    assert "input ended: game abandoned" in proc.stdout


def test_play_declarations_and_a_resigning_engine(net: Path, tmp_path: Path) -> None:
    proc = keisei("play", "--checkpoint", str(net), "--nodes", "8", "--sfen", ENTERING_KING_WIN, stdin="win\n")
    assert proc.returncode == 0 and "black wins (impasse)" in proc.stdout, proc.stdout
    losing = tiny_checkpoint(tmp_path / "losing.pt", value_bias=-20.0)  # its value head says -1 everywhere
    proc = keisei("play", "--checkpoint", str(losing), "--algorithm", "policy", stdin="7g7f\n")
    assert proc.returncode == 0 and "Keisei resigns (cp -30000)" in proc.stdout, proc.stdout
    assert "black wins (resign)" in proc.stdout
    proc = keisei("play", "--checkpoint", str(net), "--sfen", "9/9/9 b - 1")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--sfen" in proc.stderr


def test_analyse_a_kif_record_move_by_move(net: Path, tmp_path: Path) -> None:
    game = Game()
    for move in ("7g7f", "3c3d", "8h2b+", "3a2b"):
        game.push_usi(move)
    record = save_record(game, tmp_path / "my game.kif", names=("me", "you"))
    out_json = tmp_path / "analysis.json"
    proc = keisei("analyse", "--checkpoint", str(net), "--nodes", "16", str(record), "--json", str(out_json))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out_json.read_text())
    assert [r["played"] for r in rows] == [*game.moves, None]  # and the final position
    replay = Game()
    for row in rows:
        assert row["best"] in replay.legal_moves() and row["pv"][0] == row["best"]
        assert row["turn"] == replay.turn and re.fullmatch(r"cp -?\d+|mate -?\d+", row["score"])
        if row["played"]:
            replay.push_usi(row["played"])
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["ply", "played", "best", "score"] and len(lines) == 1 + len(rows)
    assert lines[3].split()[:2] == ["3", "8h2b+"]


def test_analyse_a_sfen_with_multipv_and_a_mate(net: Path) -> None:
    proc = keisei("analyse", "--checkpoint", str(net), "--sfen", "8k/9/8P/9/9/9/9/9/K8 b G 1")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^  1\. G\*1b +mate 1 +pv G\*1b$", proc.stdout, flags=re.MULTILINE), proc.stdout
    proc = keisei("analyse", "--checkpoint", str(net), "--nodes", "48", "--multipv", "3", "--sfen",
                  "startpos moves 7g7f")
    assert proc.returncode == 0, proc.stderr
    best = re.findall(r"^ +\d\. (\S+) +(?:cp|mate) -?\d+ +pv (.*)$", proc.stdout, flags=re.MULTILINE)
    assert len(best) == 3 and len({move for move, _ in best}) == 3
    for move, pv in best:
        line = Game()
        line.push_usi("7g7f")
        assert pv.split()[0] == move
        for usi in pv.split():
            line.push_usi(usi)


def test_analyse_usage_errors_are_one_line_exit_2(net: Path, tmp_path: Path) -> None:
    for args, message in [((), "give either a RECORD file or --sfen"),
                          (("--sfen", "startpos moves 7g7f 7g7f"), "move 2 '7g7f' is not legal"),
                          ((str(tmp_path / "missing.kif"),), "missing.kif"),
                          (("--sfen", "startpos", "--nodes", "0"), "--nodes 0 needs --seconds")]:
        proc = keisei("analyse", "--checkpoint", str(net), *args)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, (args, proc.stderr)


def test_analyse_checks_its_json_output_before_the_work_and_names_a_record_once(net: Path, tmp_path: Path) -> None:
    record = tmp_path / "g.kif"
    game = Game()
    for move in ("7g7f", "3c3d"):
        game.push_usi(move)
    save_record(game, record, fmt="kif")
    missing_dir = tmp_path / "missing" / "out.json"
    proc = keisei("analyse", "--checkpoint", str(net), str(record), "--nodes", "4", "--json", str(missing_dir))
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"keisei analyse: error: {missing_dir}: No such file or directory")
    assert "ply" not in proc.stdout  # refused before any move was analysed
    missing = tmp_path / "nothere.kif"
    proc = keisei("analyse", "--checkpoint", str(net), str(missing))
    assert proc.returncode == 2 and proc.stderr.count(str(missing)) == 1, proc.stderr
