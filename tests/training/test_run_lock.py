"""One trainer per run directory: real `keisei train` processes competing for the same --run-dir."""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from training_helpers import REPO, cli_env, run_cli, sets

from keisei.run.lock import LOCK_FILE, RunLock, RunLockedError


def start_trainer(run, *items: str) -> subprocess.Popen:
    """A long `keisei train` on `run`; returns once it prints its TensorBoard line (the lock is held)."""
    cmd = [sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny",
           *sets("training.total_timesteps=100000000", *items), "--run-dir", str(run)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise AssertionError(f"train exited early: {proc.stderr.read()}")
        if line.startswith("TensorBoard:"):
            return proc


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> tuple[str, str]:
    try:
        proc.send_signal(sig)
        return proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_second_trainer_on_a_run_dir_exits_2_naming_the_directory_and_the_holder(tmp_path):
    run = tmp_path / "run"
    first = start_trainer(run)
    try:
        holder = json.loads((run / LOCK_FILE).read_text())
        assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()
        config_before = (run / "config.toml").read_bytes()
        events_before = sorted(p.name for p in run.glob("events.out.tfevents.*"))

        second = run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=64",
                                                             "ppo.learning_rate=0.01"), "--run-dir", str(run))
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert lines[0].startswith("keisei train: error: run directory ") and str(run) in lines[0]
        assert f"pid {first.pid}" in lines[0] and socket.gethostname() in lines[0]
        # the second process touched nothing of the first's
        assert (run / "config.toml").read_bytes() == config_before
        assert sorted(p.name for p in run.glob("events.out.tfevents.*")) == events_before
        resumed = run_cli("train", "--resume", "latest", "--run-dir", str(run))
        assert resumed.returncode == 2 and f"pid {first.pid}" in resumed.stderr
    finally:
        _out, err = stop(first)
    assert first.returncode == 0, err
    assert (run / LOCK_FILE).read_text() == ""  # released on exit
    assert run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=32"),
                   "--run-dir", str(run)).returncode == 0


def test_a_killed_trainers_lock_is_taken_over_with_a_warning_and_its_temp_files_removed(tmp_path):
    run = tmp_path / "run"
    first = start_trainer(run)
    stop(first, signal.SIGKILL)
    assert json.loads((run / LOCK_FILE).read_text())["pid"] == first.pid  # the dead holder's details remain
    # what a write interrupted by SIGKILL leaves behind (atomic_write's and the pool link's temp names)
    leftovers = [run / ".opponent_pool.json.k2j3h4.tmp", run / "checkpoints" / ".ckpt_64.pt.x8y9z0.tmp",
                 run / "opponent_pool" / ".ckpt_32.pt.tmp"]
    for path in leftovers:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"partial")
    keep = run / "checkpoints" / "notes.tmp"  # not a temp-file name of ours
    keep.write_text("mine")
    # the killed trainer may itself have been replacing live.json (the dashboard's view) at the SIGKILL
    killed_mid_write = list(run.glob(".live.json.*.tmp"))

    res = run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=32"), "--run-dir", str(run))
    assert res.returncode == 0, res.stderr
    assert f"took over the stale lock of pid {first.pid}" in res.stderr and "no longer running" in res.stderr
    assert f"removed {3 + len(killed_mid_write)} temp file(s)" in res.stderr
    assert not any(p.exists() for p in [*leftovers, *killed_mid_write]) and keep.exists()
    log = (run / "train.log").read_text()
    assert f"stale lock of pid {first.pid}" in log
    assert (run / LOCK_FILE).read_text() == ""


def test_lock_is_exclusive_between_open_files_and_released(tmp_path):
    first = RunLock(tmp_path).acquire()
    with pytest.raises(RunLockedError, match=rf"in use by another keisei train \(pid {os.getpid()} on host"):
        RunLock(tmp_path).acquire()
    first.release()
    first.release()  # idempotent
    with RunLock(tmp_path) as again:
        assert again.held and again.taken_over is None
