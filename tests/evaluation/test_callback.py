"""EvaluationCallback: interval crossings, background evaluation of frozen snapshots, skips, errors, pool."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import torch
from eval_helpers import ARCH, tiny_config, tiny_model

from keisei.evaluation.callback import EvaluationCallback, metric_name, periodic_evaluation
from keisei.evaluation.store import GameStore
from keisei.evaluation.weights import tensors_sha256
from keisei.run.callbacks import CallbackContext
from keisei.run.checkpoints import CheckpointManager

WAIT_S = 120.0


class RecordingMetrics:
    """The metrics sink boundary: records every scalar with its step, and counters."""

    def __init__(self) -> None:
        self.scalars: list[tuple[str, float, int]] = []
        self.counters: Counter[str] = Counter()

    def log_scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars.append((tag, float(value), int(step)))

    def increment(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def steps(self, tag: str) -> list[int]:
        return [s for t, _, s in self.scalars if t == tag]


class RecordingDisplay:
    def __init__(self) -> None:
        self.status: dict[str, str] = {}

    def set_status(self, key: str, text: str) -> None:
        self.status[key] = text


def make_ctx(tmp_path, config) -> CallbackContext:
    metrics = RecordingMetrics()
    return CallbackContext(
        config=config, run_dir=tmp_path, device=torch.device("cpu"), model=tiny_model(1), metrics=metrics,
        display=RecordingDisplay(), checkpoints=CheckpointManager(tmp_path, keep_last=3, metrics=metrics),
    )


def advance(cb: EvaluationCallback, ctx: CallbackContext, now: int) -> None:
    """What the Trainer does after each update: move the counters, call on_update_end."""
    ctx.prev_timesteps, ctx.timesteps = ctx.timesteps, now
    ctx.updates += 1
    ctx.model_version += 1
    cb.on_update_end(ctx)


def config(**evaluation):
    evaluation = {"interval_timesteps": 100, "num_games": 2, "max_plies": 16, **evaluation}
    return tiny_config(**evaluation)


@pytest.fixture
def started(tmp_path):
    cb = EvaluationCallback(config())
    ctx = make_ctx(tmp_path, cb.config)
    cb.on_training_start(ctx)
    yield cb, ctx
    cb.on_training_end(ctx)


def test_disabled_makes_no_callback_so_nothing_is_evaluated_or_written(tmp_path):
    assert periodic_evaluation(config(enable_periodic_evaluation=False)) == []
    (cb,) = periodic_evaluation(config())
    assert isinstance(cb, EvaluationCallback)
    assert not (tmp_path / "opponent_pool.json").exists() and not (tmp_path / "evaluation.sqlite").exists()


def test_fires_on_interval_crossings_only(started):
    cb, ctx = started
    for now in (40, 80, 99):
        advance(cb, ctx, now)
    assert cb.evaluator.submitted == 0
    advance(cb, ctx, 130)  # crosses 100
    assert cb.evaluator.submitted == 1
    assert cb.evaluator.wait(WAIT_S)
    for now in (160, 199):
        advance(cb, ctx, now)
    assert cb.evaluator.submitted == 1
    advance(cb, ctx, 450)  # crosses 200..400 in one update: one evaluation
    assert cb.evaluator.submitted == 2
    assert cb.evaluator.wait(WAIT_S)
    advance(cb, ctx, 460)
    assert ctx.metrics.steps("eval/random/score") == [130, 450]
    assert cb.skipped == 0 and cb.errors == 0


def start_long(tmp_path):
    """A callback whose evaluations take long enough to overlap the test's next steps."""
    cb = EvaluationCallback(config(num_games=4, max_plies=160))
    ctx = make_ctx(tmp_path, cb.config)
    cb.on_training_start(ctx)
    return cb, ctx


def test_snapshot_is_frozen_and_results_logged_at_its_timestep(tmp_path):
    cb, ctx = start_long(tmp_path)
    advance(cb, ctx, 100)
    live_before = tensors_sha256(ctx.model.state_dict())
    updates_in_flight = 0
    while cb.evaluator.in_flight:  # the learner keeps updating in place during the evaluation
        with torch.no_grad():
            for p in ctx.model.parameters():
                p.add_(0.01)
        updates_in_flight += 1
        cb.on_rollout_end(ctx)
        time.sleep(0.005)
    assert updates_in_flight > 0
    assert cb.evaluator.wait(WAIT_S)
    advance(cb, ctx, 190)  # not a crossing: only collects
    finished = cb.last
    assert finished is not None and finished.error is None
    assert finished.snapshot.timestep == 100 and finished.snapshot.model_version == 1
    assert finished.snapshot.sha256 == live_before
    assert finished.evaluated_sha256 == finished.snapshot.sha256
    assert tensors_sha256(ctx.model.state_dict()) != finished.snapshot.sha256
    for key in ("score", "wins", "games"):
        assert ctx.metrics.steps(f"eval/random/{key}") == [100]
    assert {t: v for t, v, _ in ctx.metrics.scalars}["eval/random/games"] == 4
    assert ctx.display.status["eval"].startswith("t=100: random ")
    assert ctx.metrics.steps("eval/agent_elo") == [100]
    with GameStore(ctx.run_dir / "evaluation.sqlite") as store:
        history = store.rating_history("agent")
        assert [(p.player, p.timestep) for p in history] == [("agent@v1", 100)]
        assert len(store.games()) == 4
    # the first rated version is the run's best: its snapshot's weights, not the live model's
    from keisei.checkpoint import load_checkpoint

    best = load_checkpoint(ctx.run_dir / "checkpoints" / "best.pt")
    assert best["best"]["model_version"] == 1 and tensors_sha256(best["model_state"]) == finished.snapshot.sha256
    assert "new best" in ctx.display.status["eval"]
    cb.on_training_end(ctx)


def test_busy_evaluation_is_skipped_and_counted(tmp_path):
    cb, ctx = start_long(tmp_path)
    advance(cb, ctx, 100)
    assert cb.evaluator.in_flight == 1
    advance(cb, ctx, 200)  # due, but max_in_flight = 1 is still running
    assert cb.evaluator.submitted == 1
    assert ctx.metrics.counters["eval/skipped"] == 1 and cb.skipped == 1
    cb.on_training_end(ctx)  # waits for the one in flight and logs it
    assert ctx.metrics.steps("eval/random/score") == [100]
    assert cb.evaluator is None
    assert not [t for t in threading.enumerate() if t.name == "keisei-eval"]


def test_failed_evaluation_is_logged_and_counted(tmp_path, caplog):
    cb = EvaluationCallback(config(opponents=[f"checkpoint:{tmp_path / 'nope.pt'}"]))
    ctx = make_ctx(tmp_path, cb.config)
    cb.on_training_start(ctx)
    advance(cb, ctx, 100)
    assert cb.evaluator.wait(WAIT_S)
    advance(cb, ctx, 150)  # training goes on; the failure is collected here
    assert ctx.metrics.counters["eval/errors"] == 1 and cb.errors == 1
    assert "failed" in ctx.display.status["eval"]
    assert any("nope.pt" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)
    advance(cb, ctx, 200)  # the next evaluation is still attempted
    assert cb.evaluator.submitted == 2
    cb.on_training_end(ctx)
    assert ctx.metrics.counters["eval/errors"] == 2


def test_checkpoints_join_the_pool_and_pool_spec_is_sampled(tmp_path):
    cb = EvaluationCallback(config(opponents=["random", "pool:2"]))
    ctx = make_ctx(tmp_path, cb.config)
    cb.on_training_start(ctx)
    assert cb.resolve_opponents() == ["random"]  # empty pool: nothing to sample yet
    payload = {"model_name": "resnet", "model_arch": dict(ARCH), "model_state": tiny_model(2).state_dict(),
               "model_version": 1, "counters": {"timesteps": 50, "updates": 1, "games": 0}}
    ctx.checkpoints.save(payload, 50)  # CheckpointCallback's save: the listener adds it to the pool
    assert [e.name for e in cb.pool.entries()] == ["ckpt:ckpt_50"]
    opponents = cb.resolve_opponents()
    assert opponents[0] == "random" and len(opponents) == 2
    assert opponents[1].startswith("checkpoint:") and opponents[1].endswith("opponent_pool/ckpt_50.pt")
    advance(cb, ctx, 100)
    cb.on_training_end(ctx)
    assert ctx.metrics.steps(f"eval/{metric_name('ckpt:ckpt_50')}/score") == [100]
    rated = {e.name: e.elo for e in cb.pool.entries()}
    assert rated["ckpt:ckpt_50"] is not None  # ratings from the joint fit reach the pool
    assert (tmp_path / "opponent_pool.json").is_file()


def test_metric_name_is_tag_safe():
    assert metric_name("ckpt:ckpt_100") == "ckpt_ckpt_100"
    assert metric_name("fairy-stockfish?nodes=100") == "fairy-stockfish_nodes_100"


@pytest.mark.skipif("OpenMP" not in torch.__config__.parallel_info(), reason="per-thread torch threads need OpenMP")
def test_training_thread_keeps_its_torch_threads(tmp_path):
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cb, ctx = start_long(tmp_path)
        advance(cb, ctx, 100)
        assert cb.evaluator.wait(WAIT_S)
        assert torch.get_num_threads() == 2  # the evaluation thread's single thread did not leak here
        cb.on_training_end(ctx)
        seen = []
        worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        worker.start()
        worker.join()
        assert seen == [2]  # the default for new threads is restored after close
        assert ctx.metrics.steps("eval/random/score") == [100]
    finally:
        torch.set_num_threads(saved)
