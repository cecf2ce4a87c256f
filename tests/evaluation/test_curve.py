"""`keisei curve RUN_DIR`: every kept checkpoint of a real run against the same anchors (issue 20, item 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from training_helpers import run_cli, sets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_curve_plays_every_kept_checkpoint_colour_balanced_with_intervals(tmp_path):
    run = tmp_path / "run"
    trained = run_cli("train", "--preset", "tiny", "--run-dir", str(run),
                      *sets("training.total_timesteps=96", "training.checkpoint_interval_timesteps=32"))
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "curve.json"
    proc = run_cli("curve", str(run), "--games", "4", "--json", str(out), "--set", "evaluation.max_plies=30")
    assert proc.returncode == 0, proc.stderr
    points = json.loads(out.read_text())
    kept = sorted(p.name for p in (run / "checkpoints").glob("ckpt_*.pt"))
    assert sorted({Path(p["checkpoint"]).name for p in points}) == kept and len(kept) >= 2
    assert {p["opponent"] for p in points} == {"random", "greedy"}
    for p in points:
        assert p["games"] == 4 and p["wins"] + p["draws"] + p["losses"] + p["errors"] == 4
        assert p["low"] <= p["score"] <= p["high"]
    assert [p["timesteps"] for p in points] == sorted(p["timesteps"] for p in points)
    assert (run / "curve.png").read_bytes()[:8] == PNG_MAGIC
    assert "curve of" in proc.stdout


def test_curve_usage_errors_are_one_line(tmp_path):
    proc = run_cli("curve", str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stderr.strip().endswith(f"no run directory {tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    proc = run_cli("curve", str(tmp_path / "empty"))
    assert proc.returncode == 2 and "no checkpoint to play" in proc.stderr
