"""`keisei train` through real subprocesses: a short run, resume, SIGTERM, and config errors."""

import signal
import subprocess
import sys
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from training_helpers import REPO, cli_env, run_cli, sets

from keisei.checkpoint import load_checkpoint

ROLLOUT = 32


def test_short_cli_run_writes_config_checkpoints_and_tensorboard_then_resumes(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "--preset", "tiny", *sets(f"training.total_timesteps={3 * ROLLOUT}"),
                  "--run-dir", str(run))
    assert res.returncode == 0, res.stderr
    assert f"tensorboard --logdir {run}" in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith("done: 96 steps, 3 updates")
    assert (run / "config.toml").is_file()
    assert (run / "checkpoints" / "latest").read_text().strip() == "ckpt_96.pt"
    assert (run / "checkpoints" / "ckpt_96.pt").is_file()
    acc = EventAccumulator(str(run))
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    for tag in ("charts/SPS", "losses/value_loss", "losses/policy_loss", "charts/learning_rate",
                "games/finished"):
        assert tag in scalars, tag
    assert [e.step for e in acc.Scalars("losses/value_loss")] == [32, 64, 96]
    assert all(e.value > 0 for e in acc.Scalars("charts/SPS"))

    # resume: the run's own config.toml is reused; the override extends the budget
    res2 = run_cli("train", "--resume", "latest", "--run-dir", str(run),
                   "--set", f"training.total_timesteps={5 * ROLLOUT}")
    assert res2.returncode == 0, res2.stderr
    assert "resuming from:" in res2.stdout and "at 96 steps" in res2.stdout
    payload = load_checkpoint(run / "checkpoints" / "ckpt_160.pt")
    assert payload["counters"]["updates"] == 5 and payload["config"]["model"]["channels"] == 16


def test_sigterm_finishes_the_update_saves_and_exits_zero(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny",
           *sets("training.total_timesteps=100000000"), "--run-dir", str(run)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any(line.startswith("TensorBoard:") for line in lines):
            line = proc.stdout.readline()
            assert line, f"train exited early: {proc.stderr.read()}"
            lines.append(line)
        # handlers are installed before these lines print; the update in progress is finished first
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM" in err
    assert "SIGTERM received" in out.strip().splitlines()[-1]
    ckpt = (run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip())
    counters = load_checkpoint(ckpt)["counters"]
    assert counters["timesteps"] >= ROLLOUT and counters["timesteps"] % ROLLOUT == 0


def test_config_error_is_one_line_naming_the_field(tmp_path):
    res = run_cli("train", "--preset", "tiny", "--set", "ppo.learning_rate=-1", "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "ppo.learning_rate" in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "r").exists()


def test_resume_with_changed_model_through_cli_names_the_field(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "--preset", "tiny", *sets(f"training.total_timesteps={ROLLOUT}"),
                   "--run-dir", str(run)).returncode == 0
    res = run_cli("train", "--resume", "latest", "--run-dir", str(run), "--set", "model.blocks=2")
    assert res.returncode == 2
    assert "model.blocks (checkpoint 1, config 2)" in res.stderr and "Traceback" not in res.stderr
