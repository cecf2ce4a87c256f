"""A durable write that fails stops training with one line and exit 4; `latest` keeps the last valid checkpoint.

Real faults: a full tmpfs (skips with the reason where mounting is not allowed), RLIMIT_FSIZE in the trainer
process (a real EFBIG on every file past the limit; needs no mount) and a read-only tmpfs.
"""

import pytest
from training_helpers import fill_disk, fsize_limit, remount_read_only, run_cli, sets, tmpfs

from keisei.checkpoint import load_checkpoint
from keisei.errors import EXIT_WRITE_FAILED, DurableWriteError
from keisei.evaluation.pool import OpponentPool
from keisei.run.checkpoints import CheckpointManager

ROLLOUT = 32


def first_run(run) -> None:
    """64 steps with a checkpoint: the last valid state a failed save must not lose."""
    res = run_cli("train", "--preset", "tiny", *sets(f"training.total_timesteps={2 * ROLLOUT}"), "--run-dir", str(run))
    assert res.returncode == 0, res.stderr
    assert (run / "checkpoints" / "latest").read_text().strip() == "ckpt_64.pt"


def resume_failing(run, preexec_fn=None):
    return run_cli("train", "--resume", "latest", "--run-dir", str(run),
                   "--set", f"training.total_timesteps={6 * ROLLOUT}",
                   "--set", f"training.checkpoint_interval_timesteps={ROLLOUT}", preexec_fn=preexec_fn)


def assert_stopped_cleanly(res, run, os_error: str) -> None:
    assert res.returncode == EXIT_WRITE_FAILED, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    ckpt = run / "checkpoints" / "ckpt_96.pt"
    assert lines[0] == (f"keisei train: error: cannot write {ckpt}: {os_error}; training stopped at 96 steps; "
                        "latest checkpoint: ckpt_64.pt")
    ckdir = run / "checkpoints"
    assert (ckdir / "latest").read_text().strip() == "ckpt_64.pt"
    assert load_checkpoint(ckdir / "ckpt_64.pt")["counters"]["timesteps"] == 64
    assert sorted(p.name for p in ckdir.iterdir()) == ["ckpt_64.pt", "latest"]  # no temp file, no partial file
    assert "done:" not in res.stdout  # it stopped at the first failed save instead of training on


def test_full_disk_stops_training_at_the_first_failed_checkpoint(tmp_path):
    with tmpfs(tmp_path / "disk", "6m") as disk:
        run = disk / "run"
        first_run(run)
        fill_disk(disk, leave_bytes=128 * 1024)  # room for config/log lines, not for a ~440 KB checkpoint
        res = resume_failing(run)
        assert_stopped_cleanly(res, run, "No space left on device")
        assert "training stopped: cannot write" in (run / "train.log").read_text()


def test_file_size_limit_stops_training_without_a_mount(tmp_path):
    run = tmp_path / "run"
    first_run(run)
    res = resume_failing(run, preexec_fn=fsize_limit(200 * 1024))
    assert_stopped_cleanly(res, run, "File too large")


def test_config_that_cannot_be_written_is_fatal_before_training(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "--preset", "tiny", *sets("training.total_timesteps=64"), "--run-dir", str(run),
                  preexec_fn=fsize_limit(512))  # config.toml is ~1.5 KB; the lock file's ~150 bytes fit
    assert res.returncode == EXIT_WRITE_FAILED, res.stderr
    assert res.stderr.strip().splitlines() == [f"keisei train: error: cannot write {run / 'config.toml'}: File too large"]
    assert not (run / "config.toml").exists() and not list(run.glob(".config.toml.*"))


def test_opponent_pool_that_cannot_be_written_fails_the_checkpoint_save(tmp_path, tiny_cfg):
    from keisei.models import build_model

    payload = {"model_name": "resnet", "model_arch": tiny_cfg.model_dump(), "model_state": build_model(tiny_cfg).state_dict(),
               "model_version": 1, "counters": {"timesteps": 32, "updates": 1, "games": 0}}
    manager = CheckpointManager(tmp_path / "run", keep_last=2)
    with tmpfs(tmp_path / "ro", "1m") as ro:
        (ro / "run").mkdir()
        remount_read_only(ro)
        pool = OpponentPool(ro / "run")  # the pool's files on a read-only file system
        manager.add_listener(pool.add_checkpoint)
        with pytest.raises(DurableWriteError, match=rf"cannot write {ro / 'run' / 'opponent_pool'}: Read-only file system"):
            manager.save(payload, 32)
        with pytest.raises(DurableWriteError, match=rf"cannot write {ro / 'run' / 'opponent_pool.json'}: "
                                                    "Read-only file system"):
            pool.save()
    assert manager.latest().name == "ckpt_32.pt"  # the checkpoint itself was complete before the pool failed
