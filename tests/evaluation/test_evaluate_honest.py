"""`keisei evaluate` tells the truth: exit 3 when an opponent had no completed game, progress while it plays,
the seed printed and stored, and the agent's rating added to the run's history for `keisei ratings`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engines import fake_engine, require_engine
from eval_helpers import tiny_config, tiny_model, write_checkpoint
from rich.console import Console

from keisei.commands.evaluate import no_games_exit, print_table
from keisei.errors import EXIT_NO_GAMES
from keisei.evaluation.manager import EvaluationManager
from keisei.evaluation.progress import EvalProgress
from keisei.evaluation.result import EvaluationResult, GameRecord, summarise
from keisei.evaluation.store import GameStore

REPO = Path(__file__).resolve().parents[2]
TINY = ["--set", "model.blocks=1", "--set", "model.channels=16", "--set", "model.value_hidden=16",
        "--set", "evaluation.max_plies=20", "--set", "evaluation.engine_start_timeout=10"]


def _keisei(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "keisei.cli", *args], capture_output=True, text=True, timeout=300,
                          check=False, env=env)


def test_an_opponent_with_only_errors_exits_3_and_the_rest_is_still_reported(tmp_path):
    ckpt = write_checkpoint(tmp_path / "ckpt_000010.pt", tiny_model(2), model_version=4, timesteps=400)
    broken = fake_engine(tmp_path, name="dead-engine", startup="crash")  # cannot start: its games are errors
    run_dir, out = tmp_path / "run", tmp_path / "result.json"
    proc = _keisei("evaluate", "--checkpoint", str(ckpt), "--opponent", "random", "--opponent", broken,
                   "--games", "2", "--seed", "5", "--json", str(out), "--run-dir", str(run_dir), *TINY)
    assert proc.returncode == EXIT_NO_GAMES == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "keisei evaluate: error: no completed game against dead-engine (2 of 2 games errored)"
    stdout = proc.stdout
    assert "evaluate: 4 games against 2 opponent(s)" in stdout  # plain progress (stdout is not a TTY)
    assert "evaluate: 4/4 games | 2 of 2 opponents done | 2 errors | ETA 0 s" in stdout
    assert "seed 5" in stdout and "dead-engine could not be started" in stdout  # the table title, the errors
    data = json.loads(out.read_text())
    assert data["seed"] == 5
    random_row, dead = data["opponents"]
    assert (dead["name"], dead["errors"], dead["wins"] + dead["draws"] + dead["losses"]) == ("dead-engine", 2, 0)
    assert random_row["errors"] == 0 and random_row["wins"] + random_row["draws"] + random_row["losses"] == 2
    assert random_row["draws"] == random_row["draws_rule"] + random_row["draws_max_plies"]
    with GameStore(run_dir / "evaluation.sqlite", readonly=True) as store:
        rows, history = store.games(), store.rating_history()
    assert len(rows) == 4 and all(r.extra["seed"] == 5 for r in rows)
    assert [(p.player, p.timestep, p.games) for p in history] == [("ckpt:ckpt_000010", 400, 2)]
    assert "rating of ckpt:ckpt_000010 at 400 timesteps" in stdout and f"keisei ratings {run_dir}" in stdout

    ratings = _keisei("ratings", str(run_dir))
    assert ratings.returncode == 0, ratings.stderr
    assert "rating plot (1 points, 1 reference lines)" in ratings.stdout
    assert (run_dir / "ratings.png").read_bytes()[:4] == b"\x89PNG"


def _records(opponent: str, results: list[str]) -> list[GameRecord]:
    return [GameRecord(opponent=opponent, agent_color="black", result=r, reason="error" if r == "error" else
                       "checkmate", plies=10, opening="v1-00", error="EngineUnavailableError: x" if r == "error" else None)
            for r in results]


def test_partial_errors_are_counted_and_exit_0(capsys):
    games = _records("a", ["win", "error", "loss", "win"]) + _records("b", ["draw", "draw"])
    result = EvaluationResult(summarise(games, ["a", "b"]), games, errors=["agent vs a: boom"], seed=1)
    assert no_games_exit(result) == 0
    console = Console(file=io.StringIO(), width=120)
    print_table(result, console)
    text = console.file.getvalue()
    assert "2/0/1" in text and " 1 " in text and "error: agent vs a: boom" in text
    assert "note: no decisive game against b (2 draws)" in text and "against a" not in text
    games += _records("c", ["error", "error"])
    result = EvaluationResult(summarise(games, ["a", "b", "c"]), games, errors=[])
    assert no_games_exit(result) == EXIT_NO_GAMES
    assert capsys.readouterr().err.strip() == "keisei evaluate: error: no completed game against c (2 of 2 games errored)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_prints_each_tenth_with_a_duration_eta():
    out, clock = io.StringIO(), FakeClock()
    progress = EvalProgress(out, rich=False, every_s=1e9, clock=clock)
    progress.start([("random", 10), ("fairy-stockfish[nodes=10]", 10)])
    for k in range(20):
        clock.now += 10.0  # ten seconds a game
        progress.game_done(k % 2, "error" if k == 3 else "win")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "evaluate: 20 games against 2 opponent(s)"
    assert len(lines) == 11  # the start, then one per tenth (the close adds nothing after 20/20)
    assert lines[1] == "evaluate: 2/20 games | random 1/10, fairy-stockfish[nodes=10] 1/10 | ETA 3 min 00 s"
    assert lines[5] == ("evaluate: 10/20 games | random 5/10, fairy-stockfish[nodes=10] 5/10 | 1 error | "
                        "ETA 1 min 40 s")
    assert lines[-1].startswith("evaluate: 20/20 games") and lines[-1].endswith("ETA 0 s")


def test_plain_progress_also_prints_after_every_s_and_rich_progress_renders():
    out, clock = io.StringIO(), FakeClock()
    progress = EvalProgress(out, rich=False, every_s=30.0, clock=clock)
    progress.start([("greedy", 100)])
    clock.now = 31.0
    progress.game_done(0, "win")  # 1% done, but 31 s since the last line
    assert out.getvalue().splitlines()[-1] == "evaluate: 1/100 games | greedy 1/100 | ETA 51 min 09 s"
    rich_out = io.StringIO()
    fancy = EvalProgress(rich_out, rich=True)
    fancy.start([("gpsusi[byoyomi=100]", 2)])
    fancy.game_done(0, "win")
    fancy.game_done(0, "loss")
    fancy.close()
    text = rich_out.getvalue()
    assert "gpsusi[byoyomi=100]" in text and "all opponents" in text and "2/2" in text and "ETA 0 s" in text


def test_manager_reports_every_game_to_the_progress_sink_and_the_seed_decides_the_games(tmp_path):
    class Sink:
        def __init__(self) -> None:
            self.rows, self.done, self.closed = None, [], False

        def start(self, rows):
            self.rows = rows

        def game_done(self, index, result):
            self.done.append((index, result))

        def close(self):
            self.closed = True

    sink = Sink()
    model = tiny_model(1)
    first = EvaluationManager(tiny_config(seed=3)).evaluate_current_agent(model, ["random", "greedy"])
    path = write_checkpoint(tmp_path / "c.pt", model)
    ckpt_result = EvaluationManager(tiny_config(seed=3)).evaluate_checkpoint(path, ["random", "greedy"], progress=sink)
    other = EvaluationManager(tiny_config(seed=4)).evaluate_checkpoint(path, ["random", "greedy"])
    assert sink.rows == [("random", 4), ("greedy", 4)] and sink.closed
    assert sorted(i for i, _ in sink.done) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert first.seed == ckpt_result.seed == 3 and other.seed == 4
    assert [g.moves for g in first.games] == [g.moves for g in ckpt_result.games]  # same seed, same games
    assert [g.moves for g in other.games] != [g.moves for g in ckpt_result.games]
    assert EvaluationManager(tiny_config()).seed == tiny_config().training.seed  # unset: training.seed


@pytest.mark.slow  # gpsusi starts twice (check, then play) and thinks 100 ms a move: about 40 s on 2 busy cores
def test_gpsshogi_byoyomi_spec_plays_and_keeps_its_brackets_in_both_tables(tmp_path):
    require_engine("gpsusi")
    ckpt = write_checkpoint(tmp_path / "ckpt_000020.pt", tiny_model(3), model_version=2, timesteps=800)
    run_dir = tmp_path / "run"
    proc = _keisei("evaluate", "--checkpoint", str(ckpt), "--opponent", "usi:gpsusi?byoyomi=100", "--opponent",
                   "random", "--games", "2", "--run-dir", str(run_dir), "--json", str(tmp_path / "r.json"),
                   *TINY[:-2], "--set", "evaluation.max_plies=60")
    assert proc.returncode == 0, proc.stderr
    assert "gpsusi[byoyomi=100]" in proc.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    gps = data["opponents"][0]
    assert gps["name"] == "gpsusi[byoyomi=100]" and gps["errors"] == 0 and gps["games"] == 2
    assert all(g["reason"] in ("checkmate", "resign", "max_plies", "repetition", "impasse", "illegal_move", "time")
               for g in data["games"])
    ratings = _keisei("ratings", str(run_dir))
    assert ratings.returncode == 0, ratings.stderr
    assert "gpsusi[byoyomi=100]" in ratings.stdout  # not eaten as rich markup


def test_two_long_fairy_stockfish_settings_stay_apart_in_an_80_column_table(tmp_path):
    fsf = require_engine("fairy-stockfish")
    ckpt = write_checkpoint(tmp_path / "ckpt_000000000030.pt", tiny_model(4), model_version=3, timesteps=300)
    base = f"usi:{fsf}?Skill Level=-20&Move Overhead=10&Slow Mover=100&Threads=1&USI_Hash=16&nodes="
    names = ["fairy-stockfish[Move Overhead=10,Skill Level=-20,Slow Mover=100,Threads=1,USI_Hash=16,nodes=50]",
             "fairy-stockfish[Move Overhead=10,Skill Level=-20,Slow Mover=100,Threads=1,USI_Hash=16,nodes=60]"]
    env_columns = {"COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "keisei.cli", "evaluate", "--checkpoint", str(ckpt), "--opponent", base + "50",
         "--opponent", base + "60", "--games", "2", *TINY], capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env_columns, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
             "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    table = [line for line in proc.stdout.splitlines() if line.startswith(("┃", "│", "┏", "└"))]
    assert table and max(len(line) for line in table) <= 80
    column = "".join(line.split("│")[1] for line in table if line.startswith("│")).replace(" ", "")
    for name in names:
        assert name.replace(" ", "") in column, proc.stdout
    assert "…" not in "\n".join(table)


def test_eta_waits_for_the_slowest_opponent():
    out, clock = io.StringIO(), FakeClock()
    progress = EvalProgress(out, rich=False, every_s=1e9, clock=clock)
    progress.start([("random", 4), ("gpsusi[byoyomi=100]", 4)])
    clock.now = 4.0
    for _ in range(4):
        progress.game_done(0, "win")  # the fast opponent is done; the engine has not finished a game
    assert out.getvalue().splitlines()[-1] == ("evaluate: 4/8 games | gpsusi[byoyomi=100] 0/4 | "
                                               "1 of 2 opponents done | ETA ?")
    clock.now = 60.0
    progress.game_done(1, "loss")  # 60 s a game against the engine: 3 more games, 3 min
    assert progress.eta() == "3 min 00 s"
