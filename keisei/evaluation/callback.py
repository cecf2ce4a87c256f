"""Periodic evaluation during training: frozen snapshots evaluated in the background, results logged later.

Every time the timestep crosses a multiple of ``evaluation.interval_timesteps`` the callback pins one
published snapshot (``WeightPublisher.pin``: every actor plays that version and hash - trivially so in a
one-process run; in a parallel run it waits up to ``parallel.eval_sync_timeout_s`` for a version boundary,
else skips with the reason, counted in ``eval/skipped_sync``) and hands it to a BackgroundEvaluator; the
training loop never waits for games. The result, the store's rows and rating and the TensorBoard entries
(``eval/model_version``, text ``eval/weights``) carry that version and sha256. Finished evaluations are collected on later hooks, on the training
thread, and logged under ``eval/...`` at the snapshot's timestep; the last one is shown on the display.
When ``max_in_flight`` evaluations are running a due evaluation is skipped and counted (``eval/skipped``);
a failed evaluation is logged with its traceback and counted (``eval/errors``); one that could not write the
run's evaluation store raises its DurableWriteError on the training thread (training stops, exit 4).
``on_training_end`` waits (up to ``end_timeout_s``) for evaluations in flight and logs them.

Every checkpoint the CheckpointManager saves joins the run's OpponentPool; an opponent spec ``pool`` or
``pool:K`` in ``evaluation.opponents`` is replaced by K opponents sampled from it (``evaluation.pool_*``).
"""

from __future__ import annotations

import logging
import random
import re

from keisei.config import KeiseiConfig
from keisei.evaluation.background import BackgroundEvaluator, FinishedEvaluation
from keisei.evaluation.best import BestKeeper
from keisei.evaluation.calibration import scale_name
from keisei.evaluation.opponents import parse_opponent
from keisei.evaluation.pool import OpponentPool, parse_pool_spec
from keisei.run.callbacks import Callback, CallbackContext, crossed
from keisei.run.metrics import MetricsManager
from keisei.weights import ModelWeightManager

logger = logging.getLogger(__name__)

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def metric_name(name: str) -> str:
    """A player name made safe as a TensorBoard tag component (``ckpt:ckpt_100`` -> ``ckpt_ckpt_100``)."""
    return _TAG_UNSAFE.sub("_", name).strip("_") or "unnamed"


def periodic_evaluation(config: KeiseiConfig) -> list[Callback]:
    """The callbacks ``keisei train`` adds for ``evaluation.enable_periodic_evaluation``: one
    EvaluationCallback when it is set, none otherwise (``Trainer(config, callbacks=periodic_evaluation(config))``)."""
    return [EvaluationCallback(config)] if config.evaluation.enable_periodic_evaluation else []


class EvaluationCallback(Callback):
    """Evaluates the agent periodically in the background (``Trainer(config, callbacks=[EvaluationCallback(config)])``).

    ``weights``: the weight cache its evaluations load from; by default the one of the trainer's
    WeightPublisher (``ctx.publisher.weights``), so pinned snapshots are not copied twice."""

    def __init__(self, config: KeiseiConfig, end_timeout_s: float = 600.0,
                 weights: ModelWeightManager | None = None) -> None:
        self.config = config
        self.end_timeout_s = end_timeout_s
        self.weights = weights
        self.rng = random.Random(config.training.seed)
        self.pool: OpponentPool | None = None
        self.best: BestKeeper | None = None
        self.evaluator: BackgroundEvaluator | None = None
        self.last: FinishedEvaluation | None = None
        self.agent_elo: float | None = None
        self.skipped = 0
        self.skipped_sync = 0
        self.errors = 0
        self.reported: list[tuple[int, str, str | None]] = []  # (model_version, pinned sha256, played sha256)

    # -- hooks ---------------------------------------------------------------------------------------------
    def on_training_start(self, ctx: CallbackContext) -> None:
        """Open the run's opponent pool, subscribe it to checkpoint saves, prepare the background evaluator."""
        ecfg = self.config.evaluation
        if self.weights is None:
            self.weights = (ctx.publisher.weights if ctx.publisher is not None
                            else ModelWeightManager(ecfg.weight_cache_entries, ecfg.weight_cache_bytes))
        self.pool = OpponentPool(ctx.run_dir, ecfg.pool_size, ecfg.pool_keep_best, ecfg.pool_sampling)
        ctx.checkpoints.add_listener(self.pool.add_checkpoint)
        self.evaluator = BackgroundEvaluator(self.config, ctx.run_dir, self.weights)
        self.best = BestKeeper(ctx.run_dir, self.config) if ecfg.keep_best else None

    def on_rollout_end(self, ctx: CallbackContext) -> None:
        """Log evaluations that finished meanwhile."""
        self._collect(ctx)

    def on_update_end(self, ctx: CallbackContext) -> None:
        """Log finished evaluations; on an interval crossing, snapshot the model and start an evaluation."""
        if self.evaluator is None:
            self.on_training_start(ctx)
        self._collect(ctx)
        if crossed(ctx.prev_timesteps, ctx.timesteps, self.config.evaluation.interval_timesteps):
            self._start(ctx)

    def on_training_end(self, ctx: CallbackContext) -> None:
        """Wait (bounded) for evaluations in flight, log them, stop the background thread."""
        if self.evaluator is None:
            return
        for finished in self.evaluator.close(self.end_timeout_s):
            self._report(ctx, finished)
        self.evaluator = None

    # -- work ----------------------------------------------------------------------------------------------
    def _start(self, ctx: CallbackContext) -> None:
        assert self.evaluator is not None
        if self.evaluator.in_flight >= self.evaluator.max_in_flight:
            self._skip(ctx, "busy")
            return
        opponents = self.resolve_opponents()
        if not opponents:
            self._skip(ctx, "no opponents yet (the pool is empty)")
            return
        snapshot = self._snapshot(ctx)
        if snapshot is None:
            return
        if not self.evaluator.submit(snapshot, opponents):
            self._skip(ctx, "busy")
            return
        logger.info("evaluation of %s (sha256 %s) started against %s", snapshot.label, snapshot.sha256[:12],
                    ", ".join(opponents))

    def _snapshot(self, ctx: CallbackContext):
        """The pinned published snapshot (the Trainer's publisher; None: skipped), a private one otherwise."""
        if ctx.publisher is not None:
            snapshot, reason = ctx.publisher.pin(self.config.parallel.eval_sync_timeout_s)
            if snapshot is None:
                self.skipped_sync += 1
                ctx.metrics.increment("eval/skipped_sync")
                self._skip(ctx, f"no consistent weights within parallel.eval_sync_timeout_s="
                                f"{self.config.parallel.eval_sync_timeout_s:g}s ({reason})")
            return snapshot
        model_cfg = ctx.config.model
        return self.weights.snapshot(
            ctx.model, ctx.model_version, ctx.timesteps, model_cfg.name, model_cfg.model_dump(mode="json")
        )

    def _skip(self, ctx: CallbackContext, why: str) -> None:
        self.skipped += 1
        ctx.metrics.increment("eval/skipped")
        logger.info("evaluation at timestep %d skipped: %s", ctx.timesteps, why)

    def resolve_opponents(self) -> list[str]:
        """``evaluation.opponents`` with each ``pool``/``pool:K`` replaced by K specs sampled from the pool."""
        specs: list[str] = []
        names: list[str] = []
        for spec in self.config.evaluation.opponents:
            k = parse_pool_spec(spec)
            if k is None:
                name = parse_opponent(spec, self.config).name
                if name not in names:
                    specs.append(spec)
                    names.append(name)
                continue
            if self.pool is None:
                continue
            for sampled in self.pool.sample(k, self.rng, agent_elo=self.agent_elo, exclude=names):
                specs.append(sampled)
                names.append(parse_opponent(sampled, self.config).name)
        return specs

    def _collect(self, ctx: CallbackContext) -> None:
        if self.evaluator is not None:
            for finished in self.evaluator.poll():
                self._report(ctx, finished)

    def _keep_best(self, ctx: CallbackContext, finished: FinishedEvaluation, step: int) -> str:
        """Offer the evaluated version to the best keeper; -> the status text saying what the best is."""
        if self.best is None or finished.agent_elo is None or finished.agent_interval is None:
            return ""
        snap, (low, high) = finished.snapshot, finished.agent_interval
        if self.best.consider(snap, finished.agent_elo, low, high, scale_name(self.config.evaluation)):
            ctx.metrics.log_scalar("eval/best_model_version", snap.model_version, step)
            logger.info("best.pt: v%d (Elo %+.0f [%+.0f, %+.0f]) is the run's best", snap.model_version,
                        finished.agent_elo, low, high)
            return " | new best"
        best = self.best.best
        return "" if best is None else f" | best v{best['model_version']} ({best['elo']:+.0f})"

    def _report(self, ctx: CallbackContext, finished: FinishedEvaluation) -> None:
        """Log one finished evaluation at its snapshot's timestep and update display, pool ratings."""
        step = finished.snapshot.timestep
        if finished.fatal is not None:  # the store could not be written: stop training (see Trainer.run)
            if self.evaluator is not None:
                self.evaluator.close(0.0)
                self.evaluator = None
            raise finished.fatal
        if finished.error is not None:
            self.errors += 1
            ctx.metrics.increment("eval/errors")
            ctx.display.set_status("eval", f"t={step}: evaluation failed (see log)")
        result = finished.result
        if result is None:
            return
        self.last = finished
        snap = finished.snapshot
        self.reported.append((snap.model_version, snap.sha256, finished.evaluated_sha256))
        ctx.metrics.log_scalar("eval/model_version", snap.model_version, step)
        if isinstance(ctx.metrics, MetricsManager):
            ctx.metrics.log_text("eval/weights", f"v{snap.model_version} sha256 {snap.sha256}", step)
        parts = []
        for s in result.opponents:
            tag = f"eval/{metric_name(s.name)}"
            for key in ("score", "elo", "wins", "draws", "draws_rule", "draws_max_plies", "losses", "games", "errors"):
                value = getattr(s, key)
                if value is not None:
                    ctx.metrics.log_scalar(f"{tag}/{key}", value, step)
            if s.score is not None:  # scores here; the one Elo of the line is the agent's, on the named scale
                parts.append(f"{s.name} {s.score:.2f} ({s.played} g)")
        ctx.metrics.log_scalar("eval/seconds", finished.seconds, step)
        if finished.ratings and self.pool is not None:
            self.pool.set_ratings(finished.ratings)
        if finished.agent_elo is not None:
            self.agent_elo = finished.agent_elo
            ctx.metrics.log_scalar("eval/agent_elo", finished.agent_elo, step)
        rating = ("" if finished.agent_elo is None
                  else f" | agent Elo {finished.agent_elo:+.0f} ({scale_name(self.config.evaluation)})")
        rating += self._keep_best(ctx, finished, step)
        ctx.display.set_status("eval", f"t={step}: " + (", ".join(parts) or "no games") + rating
                               + f" | v{snap.model_version} {snap.sha256[:8]}")
