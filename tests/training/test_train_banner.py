"""What a run says about itself: seed and threads at start, metric lines in train.log under a TTY too, the
effective config in TensorBoard, and --seed."""

import os
import pty
import subprocess
import sys
import threading
import tomllib

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from training_helpers import REPO, cli_env, run_cli, sets

from keisei.checkpoint import load_checkpoint
from keisei.run.threads import parse_line

ROLLOUT = 32


def run_in_pty(args: list[str], timeout: float = 240) -> tuple[int, str]:
    """`python -m keisei.cli ARGS` with stdout and stderr on a pseudo-terminal (isatty() is true)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "keisei.cli", *args], cwd=REPO, env=cli_env(),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=10)
        os.close(master)
    return rc, b"".join(chunks).decode("utf-8", "replace")


def test_under_a_tty_the_rich_panel_shows_and_train_log_still_gets_metric_lines(tmp_path):
    run = tmp_path / "run"
    rc, screen = run_in_pty(["train", "--preset", "tiny", "--run-dir", str(run), "--seed", "11",
                             *sets(f"training.total_timesteps={3 * ROLLOUT}", "display.mode=auto",
                                   "display.log_every_seconds=0.001")])
    assert rc == 0, screen
    assert "seed:          11" in screen
    banner = parse_line(screen)
    assert banner is not None and banner.torch_threads == 1 and banner.interop_threads == 1
    assert banner.wait_policy == "PASSIVE" and banner.wait_policy_source == "set by keisei"
    assert "\x1b[" in screen  # rich drew its panel (escape sequences): stdout really was a terminal
    log = (run / "train.log").read_text()
    steps = [line for line in log.splitlines() if "keisei.training.display: steps " in line]
    assert [line.split("steps ")[1].split("/")[0] for line in steps] == ["32", "64", "96"]
    assert "threads: torch 1, inter-op 1, OMP_WAIT_POLICY=PASSIVE (set by keisei)" in log
    assert "(seed 11)" in log


@pytest.mark.slow
def test_seed_is_stored_and_reproduces_the_run_and_the_config_is_in_tensorboard(tmp_path):
    weights = {}
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        run = tmp_path / name
        res = run_cli("train", "--preset", "tiny", "--run-dir", str(run), "--seed", seed,
                      *sets(f"training.total_timesteps={ROLLOUT}"))
        assert res.returncode == 0, res.stderr
        assert f"seed:          {seed}\n" in res.stdout
        assert tomllib.loads((run / "config.toml").read_text())["training"]["seed"] == int(seed)
        payload = load_checkpoint(run / "checkpoints" / "ckpt_32.pt")
        assert payload["config"]["training"]["seed"] == int(seed)
        weights[name] = payload["model_state"]
    same = all(torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    differs = any(not torch.equal(weights["a"][k], weights["c"][k]) for k in weights["a"])
    assert same and differs

    acc = EventAccumulator(str(tmp_path / "a"), size_guidance={"tensors": 0})
    acc.Reload()
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "    seed = 5" in text and "    [training]" in text
    hparams = acc.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in hparams
    start_info = hparams["_hparams_/session_start_info"]
    assert b"training.seed" in start_info and b"threads.torch" in start_info and b"model.channels" in start_info


def test_seed_with_resume_or_negative_is_a_usage_error(tmp_path):
    res = run_cli("train", "--preset", "tiny", "--resume", "latest", "--run-dir", str(tmp_path / "r"),
                  "--seed", "3")
    assert res.returncode == 2
    assert res.stderr.strip() == ("keisei train: error: --seed starts a new run; a resumed run continues the "
                                  "random state of its checkpoint")
    res = run_cli("train", "--preset", "tiny", "--run-dir", str(tmp_path / "n"), "--seed", "-1")
    assert res.returncode == 2 and res.stderr.strip() == "keisei train: error: --seed must be >= 0, got -1"
    assert not (tmp_path / "n").exists()


@pytest.mark.slow
def test_resume_from_a_corrupt_latest_names_the_valid_checkpoints_left(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "--preset", "tiny", "--run-dir", str(run),
                  *sets(f"training.total_timesteps={2 * ROLLOUT}", f"training.checkpoint_interval_timesteps={ROLLOUT}",
                        "training.keep_checkpoints=5"))
    assert res.returncode == 0, res.stderr
    ckdir = run / "checkpoints"
    bad = ckdir / "ckpt_64.pt"
    bad.write_bytes(bad.read_bytes()[:1000])  # cut short, as by a crash of the disk or a copy
    res = run_cli("train", "--resume", "latest", "--run-dir", str(run), "--set", f"training.total_timesteps={3 * ROLLOUT}")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        (f"keisei train: error: checkpoint {bad}: file is corrupt or truncated (RuntimeError: PytorchStreamReader "
         f"failed reading zip archive: failed finding central directory); valid checkpoints in {ckdir}: ckpt_32.pt")]
    assert "weights_only" not in res.stderr
