"""CheckpointManager: keep-last-K plus best, atomic `latest` pointer, resolve(), listeners."""

import logging

import pytest
import torch
from training_helpers import tiny_config

from keisei.checkpoint import CheckpointError, load_checkpoint
from keisei.errors import DurableWriteError
from keisei.run.checkpoints import CheckpointManager
from keisei.run.metrics import MetricsManager


def payload(t: int) -> dict:
    return {"model_name": "resnet", "model_arch": {"name": "resnet"}, "model_state": {"w": torch.full((2,), float(t))},
            "model_version": t // 100, "counters": {"timesteps": t, "updates": t // 100, "games": 0}}


def names(mgr: CheckpointManager) -> list[str]:
    return [p.name for p in mgr.checkpoints()]


def test_keep_last_k_plus_best_and_latest_pointer(tmp_path):
    mgr = CheckpointManager(tmp_path, keep_last=2)
    assert mgr.latest() is None
    p100 = mgr.save(payload(100), 100)
    mgr.mark_best(p100)
    for t in (200, 300, 400, 1000):
        mgr.save(payload(t), t)
    # numeric (not lexicographic) order: 1000 is the newest
    assert names(mgr) == ["ckpt_100.pt", "ckpt_400.pt", "ckpt_1000.pt"]
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "ckpt_1000.pt"
    assert mgr.latest() == tmp_path / "checkpoints" / "ckpt_1000.pt"
    assert load_checkpoint(mgr.latest())["counters"]["timesteps"] == 1000
    assert mgr.best() == {"ckpt_100.pt"}
    leftovers = [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_best_survives_a_new_manager_and_latest_is_never_pruned(tmp_path):
    mgr = CheckpointManager(tmp_path, keep_last=1)
    mgr.mark_best(mgr.save(payload(500), 500))
    mgr.save(payload(900), 900)
    again = CheckpointManager(tmp_path, keep_last=1)
    # a run resumed from an older checkpoint keeps what it just wrote (and the newer file), latest -> it
    again.save(payload(600), 600)
    assert names(again) == ["ckpt_500.pt", "ckpt_600.pt", "ckpt_900.pt"]
    assert again.latest().name == "ckpt_600.pt"


def test_latest_pointer_write_is_atomic(tmp_path, monkeypatch):
    mgr = CheckpointManager(tmp_path, keep_last=3)
    mgr.save(payload(100), 100)
    from keisei import atomic  # the pointer is written through keisei.atomic

    def failing_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(DurableWriteError, match=r"cannot write .*ckpt_200\.pt: disk full \(simulated\)"):
        mgr.save(payload(200), 200)
    monkeypatch.undo()
    # the pointer still names the previous, complete checkpoint; the temp file is gone
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "ckpt_100.pt"
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ckpt_100.pt", "latest"]


def test_resolve(tmp_path):
    from keisei.training.resume import ResumePoint, resolve_resume

    run = tmp_path / "run"
    mgr = CheckpointManager(run, keep_last=3)
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        resolve_resume("latest", run, tmp_path).checkpoint()
    with pytest.raises(CheckpointError, match="nope.pt.*file not found"):
        resolve_resume(tmp_path / "nope.pt", run, tmp_path).checkpoint()
    path = mgr.save(payload(100), 100)
    assert resolve_resume("latest", run, tmp_path).checkpoint() == path
    assert resolve_resume(str(path), None, tmp_path) == ResumePoint(run, str(path))  # its run: <run>/checkpoints/
    assert resolve_resume("latest", None, tmp_path) == ResumePoint(run, "latest")  # the newest run under the root
    assert resolve_resume(str(path), None, tmp_path).checkpoint() == path
    (run / "checkpoints" / "latest").write_text("ckpt_999.pt\n")  # dangling pointer: fall back to newest
    assert mgr.latest() == path


def test_mark_best_rejects_foreign_files(tmp_path):
    mgr = CheckpointManager(tmp_path, keep_last=3)
    other = tmp_path / "elsewhere.pt"
    other.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="elsewhere.pt"):
        mgr.mark_best(other)


def test_listeners_get_path_and_meta_and_failures_are_counted(tmp_path, caplog):
    metrics = MetricsManager(tiny_config(), tmp_path)
    mgr = CheckpointManager(tmp_path, keep_last=3, metrics=metrics)
    seen = []
    mgr.add_listener(lambda path, meta: seen.append((path.name, meta["timesteps"], meta["model_version"])))

    def broken(path, meta):
        raise RuntimeError("listener broke")

    mgr.add_listener(broken)
    with caplog.at_level(logging.ERROR, logger="keisei"):
        mgr.save(payload(300), 300)
    assert seen == [("ckpt_300.pt", 300, 3)]
    assert metrics.counters["callbacks/errors"] == 1
    assert any("listener" in r.getMessage() and r.exc_info for r in caplog.records)
    metrics.close()
