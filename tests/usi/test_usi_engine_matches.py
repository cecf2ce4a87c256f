"""`keisei usi` (through its launcher) in real matches against Fairy-Stockfish, driven by real clients:
Keisei's own ``UsiEngine``, ``python -m cshogi.cli`` (a client Keisei did not write) and ``keisei evaluate``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from engines import require_engine
from usi_helpers import tiny_checkpoint, tiny_launcher

from keisei.shogi import Game
from keisei.usi import EngineSpec, UsiEngine

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(600)]


def test_own_client_games_against_fairy_stockfish_complete_without_faults(tmp_path: Path) -> None:
    fsf = require_engine("fairy-stockfish")
    launcher = tiny_launcher(tmp_path)

    async def play() -> list[Game]:
        # move_timeout_margin 1.0: a move later than byoyomi + 1 s raises EngineTimeout (a time forfeit)
        keisei = UsiEngine(EngineSpec.parse(f"usi:{launcher}?byoyomi=300"), start_timeout=60, move_timeout_margin=1.0)
        stockfish = UsiEngine(EngineSpec.parse(f"usi:{fsf}?Skill Level=-20&nodes=200"))
        games = []
        async with keisei, stockfish:
            for number in range(2):
                sides = (keisei, stockfish) if number == 0 else (stockfish, keisei)
                for engine in sides:
                    await engine.new_game()
                game = Game(max_plies=60)
                while game.result is None:
                    mover = sides[0] if game.turn == "black" else sides[1]
                    answer = await mover.bestmove(game.start_sfen, game.moves)
                    if answer == "resign":
                        game.adjudicate("white" if game.turn == "black" else "black", "resign")
                    elif answer == "win":
                        assert game.declare_win()
                    else:
                        game.push_usi(answer)  # IllegalMoveError unless legal
                keisei_color = "black" if number == 0 else "white"
                winner = game.result.winner
                await keisei.game_over("draw" if winner is None else "win" if winner == keisei_color else "lose")
                games.append(game)
            assert re.fullmatch(r"Keisei \d+\.\d+\.\d+\S* \S.* [0-9a-f]{6}", keisei.engine_id), keisei.engine_id
        return games

    games = asyncio.run(play())
    assert len(games) == 2 and all(g.result is not None and g.ply > 4 for g in games)


def _cshogi_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cshogi.cli", *args], capture_output=True, text=True, timeout=540,
                          check=False, cwd=os.getcwd())


def _faults(out: str) -> list[tuple[str, str]]:
    """(engine, fault) for every game cshogi.cli ended by a time forfeit or an illegal move."""
    faults, black, white = [], "", ""
    for line in out.splitlines():
        if match := re.fullmatch(r"(.+) vs (.+) start\.", line):
            black, white = match.groups()
        elif match := re.fullmatch(r"まで\d+手で(先手|後手)の(切れ負け|反則負け)", line):
            faults.append((black if match[1] == "先手" else white, match[2]))
    return faults


@pytest.mark.parametrize("clock", [["--byoyomi", "300", "100"], ["--time", "3000", "--inc", "200"]],
                         ids=["byoyomi", "increment"])
def test_cshogi_cli_plays_keisei_against_fairy_stockfish(tmp_path: Path, clock: list[str]) -> None:
    fsf = require_engine("fairy-stockfish")
    launcher = tiny_launcher(tmp_path)
    # Fairy-Stockfish spends ~1 s a move of 3 s + 200 ms and can lose on time itself: make it spend less
    proc = _cshogi_cli(str(launcher), fsf, "--games", "2", "--draw", "80", "--csa", str(tmp_path / "csa"),
                       "--options2", "Skill Level:-20,Slow Mover:10,Move Overhead:100", *clock)
    out = proc.stdout
    assert proc.returncode == 0, (out, proc.stderr)  # an engine that broke the protocol ends cshogi.cli with EOF
    assert "2 of 2 games finished." in out, out
    keisei = re.search(r"^(Keisei \S+ .+ [0-9a-f]{6}) vs ", out, re.MULTILINE)  # id name: version, checkpoint, hash
    assert keisei, out
    name = keisei[1]
    assert f"{name} vs " in out and f" vs {name} start." in out  # both colours
    assert not [fault for fault in _faults(out) if fault[0] == name], out  # no Keisei forfeit or illegal move
    assert len(list((tmp_path / "csa").glob("*.csa"))) == 2


def test_keisei_evaluate_plays_the_keisei_engine_as_a_usi_opponent(tmp_path: Path) -> None:
    launcher = tiny_launcher(tmp_path)
    agent = tiny_checkpoint(tmp_path / "agent.pt", seed=5)
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "keisei.cli", "evaluate", "--checkpoint", str(agent),
         "--opponent", f"usi:{launcher}?nodes=16", "--games", "2", "--json", str(out),
         "--set", "evaluation.max_plies=30", "--set", "evaluation.engine_start_timeout=60"],
        capture_output=True, text=True, timeout=540, check=False, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    [opponent] = data["opponents"]
    assert opponent["name"] == "keisei-engine[nodes=16]"
    assert opponent["games"] == 2 and opponent["errors"] == 0 and data.get("errors", []) == []
    for record in data["games"]:
        assert record["result"] in ("win", "draw", "loss") and record["plies"] > 2


def test_the_fault_reader_understands_cshogi_cli_output() -> None:
    out = "Keisei vs FSF start.\nまで14手で先手の切れ負け\nFSF vs Keisei start.\nまで9手で後手の反則負け\nまで3手で後手の勝ち"
    assert _faults(out) == [("Keisei", "切れ負け"), ("Keisei", "反則負け")]
