"""crossed(), CallbackManager and CheckpointCallback interval semantics; failures are logged and counted."""

import logging
from pathlib import Path

import pytest
import torch
from training_helpers import tiny_config

from keisei.run.callbacks import Callback, CallbackContext, CallbackManager, crossed
from keisei.run.checkpoints import CheckpointManager
from keisei.run.metrics import MetricsManager
from keisei.training.checkpoint_callback import CheckpointCallback
from keisei.training.display import DisplayManager


def test_crossed_examples():
    assert not crossed(0, 384, 1000)
    assert not crossed(768, 999, 1000)
    assert crossed(768, 1152, 1000)
    assert crossed(999, 1000, 1000)
    assert not crossed(1000, 1999, 1000)
    assert crossed(0, 5000, 1000)  # one call even when several multiples are jumped
    with pytest.raises(ValueError, match="interval"):
        crossed(0, 1, 0)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_training_start(self, ctx):
        self.calls.append(("start", ctx.timesteps))

    def on_update_end(self, ctx):
        self.calls.append(("update", ctx.timesteps))

    def on_training_end(self, ctx):
        self.calls.append(("end", ctx.timesteps))


class Boom(Callback):
    def on_update_end(self, ctx):
        raise RuntimeError("boom from a test callback")


def make_ctx(tmp_path: Path) -> tuple[CallbackContext, MetricsManager]:
    cfg = tiny_config()
    metrics = MetricsManager(cfg, tmp_path)
    ctx = CallbackContext(config=cfg, run_dir=tmp_path, device=torch.device("cpu"), model=torch.nn.Linear(1, 1),
                          metrics=metrics, display=DisplayManager(cfg.display),
                          checkpoints=CheckpointManager(tmp_path, 3))
    return ctx, metrics


def drive(manager: CallbackManager, ctx: CallbackContext, rollout: int, updates: int) -> None:
    manager.on_training_start(ctx)
    for _ in range(updates):
        ctx.prev_timesteps, ctx.timesteps = ctx.timesteps, ctx.timesteps + rollout
        ctx.updates += 1
        manager.on_update_end(ctx)
    manager.on_training_end(ctx)


def test_checkpoint_interval_crossing_384_of_1000(tmp_path):
    ctx, metrics = make_ctx(tmp_path)
    saved_at = []

    def save():
        saved_at.append(ctx.timesteps)
        return tmp_path / f"ckpt_{ctx.timesteps}.pt"

    rec = Recorder()
    manager = CallbackManager(metrics, [rec, CheckpointCallback(1000, save)])
    drive(manager, ctx, rollout=384, updates=8)
    assert saved_at == [1152, 2304, 3072]
    assert [c for c in rec.calls if c[0] == "update"] == [("update", 384 * k) for k in range(1, 9)]
    assert rec.calls[0] == ("start", 0) and rec.calls[-1] == ("end", 3072)
    assert ctx.display.status["checkpoint"].startswith("ckpt_3072.pt")
    metrics.close()


def test_callback_failure_is_logged_counted_and_others_still_run(tmp_path, caplog):
    ctx, metrics = make_ctx(tmp_path)
    rec = Recorder()
    manager = CallbackManager(metrics, [Boom(), rec])
    with caplog.at_level(logging.ERROR, logger="keisei"):
        drive(manager, ctx, rollout=10, updates=3)
    assert manager.errors == 3
    assert metrics.counters["callbacks/errors"] == 3
    assert metrics.last["callbacks/errors"] == 3.0
    failures = [r for r in caplog.records if "Boom.on_update_end failed" in r.getMessage()]
    assert len(failures) == 3
    assert failures[0].exc_info is not None and "boom from a test callback" in str(failures[0].exc_info[1])
    assert len([c for c in rec.calls if c[0] == "update"]) == 3
    metrics.close()


def test_unknown_hook_is_an_error(tmp_path):
    ctx, metrics = make_ctx(tmp_path)
    with pytest.raises(ValueError, match="on_nothing"):
        CallbackManager(metrics).call("on_nothing", ctx)
    metrics.close()
