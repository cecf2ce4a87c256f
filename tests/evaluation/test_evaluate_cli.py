"""`keisei evaluate` as a subprocess: the JSON object, saved games, store rows, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from engines import require_engine
from eval_helpers import tiny_model, write_checkpoint

from keisei.evaluation.store import GameStore

OPPONENT_KEYS = {"name", "games", "wins", "draws", "losses", "errors", "score", "elo", "elo_low", "elo_high", "los"}
GAME_KEYS = {"opponent", "agent_color", "result", "reason", "plies", "opening"}


def _keisei(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "keisei.cli", "evaluate", *args], capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_evaluate_writes_json_games_and_store(tmp_path):
    fsf = require_engine("fairy-stockfish")
    ckpt = write_checkpoint(tmp_path / "ckpt_000010.pt", tiny_model(2), model_version=4, timesteps=400)
    out = tmp_path / "result.json"
    proc = _keisei(
        "--checkpoint", str(ckpt), "--opponent", "random", "--opponent", f"usi:{fsf}?Skill Level=-20&nodes=50",
        "--games", "2", "--json", str(out), "--save-games", str(tmp_path / "games"), "--sprt",
        "--set", "evaluation.max_plies=30", "--set", "logging.game_format=csa", "--run-dir", str(tmp_path / "run"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "fairy-stockfish[Skill Level=-20,nodes=50]" in proc.stdout and "SPRT" in proc.stdout  # the table
    data = json.loads(out.read_text())
    assert {"checkpoint", "model_version", "opponents", "games"} <= set(data)
    assert data["checkpoint"] == str(ckpt) and data["model_version"] == 4 and data["timestep"] == 400
    assert [o["name"] for o in data["opponents"]] == ["random", "fairy-stockfish[Skill Level=-20,nodes=50]"]
    for o in data["opponents"]:
        assert OPPONENT_KEYS <= set(o) and o["games"] == 2
    assert len(data["games"]) == 4
    for g in data["games"]:
        assert GAME_KEYS <= set(g) and g["result"] in ("win", "draw", "loss")
    assert set(data["sprt"]["opponents"]) == {o["name"] for o in data["opponents"]}
    assert len(list((tmp_path / "games").glob("*.csa"))) == 4
    rows = GameStore(tmp_path / "run" / "evaluation.sqlite").games()
    assert len(rows) == 4 and {r.timestep for r in rows} == {400}
    assert all("ckpt:ckpt_000010" in (r.black, r.white) for r in rows)


def test_bad_spec_and_corrupt_checkpoint_exit_2_with_one_line(tmp_path):
    ckpt = write_checkpoint(tmp_path / "ok.pt", tiny_model())
    proc = _keisei("--checkpoint", str(ckpt), "--opponent", "stockfish!")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown opponent spec 'stockfish!'" in proc.stderr
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\0" * 100)
    proc = _keisei("--checkpoint", str(bad), "--opponent", "random")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "bad.pt" in proc.stderr
