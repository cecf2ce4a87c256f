"""Trainer: composes session, model + learner, collector, weight publisher, loop, metrics, display, callbacks
and checkpoints. One Counters object is the run's progress; one WeightPublisher (over the run's one
ModelWeightManager) issues the weight snapshots that actors and evaluation use.

Under torchrun each rank builds a Trainer with its World (keisei.training.distributed): rank 0 is the
single-process trainer plus collectives; the other ranks write nothing, evaluate nothing and start from
rank 0's state."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from keisei.checkpoint import CheckpointError, capture_rng_state, load_checkpoint, restore_rng_state
from keisei.config import KeiseiConfig
from keisei.errors import DurableWriteError
from keisei.run.callbacks import Callback, CallbackContext, CallbackManager
from keisei.run.checkpoints import CheckpointManager
from keisei.run.counters import Counters
from keisei.run.metrics import MetricsManager
from keisei.run.session import SessionManager, seed_everything
from keisei.run.threads import effective_thread_settings
from keisei.run.timing import Stopwatch
from keisei.training.algorithms import build_collector
from keisei.training.checkpoint_callback import CheckpointCallback
from keisei.training.collector import Collector
from keisei.training.display import DisplayManager
from keisei.training.distributed import (
    AgreedStop,
    SilentDisplay,
    World,
    debug_dump,
    rank_config,
    threads_per_rank,
)
from keisei.training.game_recorder import GameRecorder
from keisei.training.live import LiveState, LiveStateCallback
from keisei.training.model_manager import ModelManager, check_resumable, resume_keys
from keisei.training.publisher import WeightPublisher
from keisei.training.resume import ResumePoint, resolve_resume
from keisei.training.stop import StopControl
from keisei.training.training_loop import TrainingLoop
from keisei.weights import ModelWeightManager, tensors_sha256

logger = logging.getLogger(__name__)


@dataclass
class TrainingSummary:
    """What `Trainer.run()` reports."""

    run_dir: Path
    timesteps: int
    updates: int
    games: int
    seconds: float
    sps: float
    network_seconds: float
    stop_reason: str
    last_checkpoint: Path | None

    def line(self) -> str:
        ckpt = self.last_checkpoint.name if self.last_checkpoint else "none"
        return (f"done: {self.timesteps:,} steps, {self.updates} updates, {self.games} games in "
                f"{self.seconds:.1f}s ({self.sps:,.0f} SPS); {self.stop_reason}; checkpoint {ckpt}; run {self.run_dir}")


class Trainer:
    """`Trainer(config, run_dir=None, resume=None, device=None, world=None, callbacks=()).run()`; resume is
    "latest", a checkpoint path or a resolved ``ResumePoint`` (read by rank 0 only under torchrun). ``callbacks`` run after the
    CheckpointCallback, e.g. ``keisei.evaluation.callback.periodic_evaluation(config)`` (what `keisei train`
    adds on rank 0)."""

    def __init__(self, config: KeiseiConfig, run_dir: str | Path | None = None, resume: ResumePoint | str | Path | None = None,
                 device: str | None = None, world: World | None = None, callbacks: Sequence[Callback] = ()) -> None:
        self.world = world = world or World.single()
        if device is not None:
            config = config.model_copy(deep=True)
            config.training.device = device
        config = rank_config(config, world.rank)
        if not world.is_main:
            resume = None  # rank 0 reads the checkpoint and shares its state when run() starts
        point = None if resume is None else resolve_resume(resume, run_dir, config.logging.run_root)
        if point is not None and point.run_dir is not None:
            run_dir = point.run_dir
        self.config = config
        self.session = SessionManager(
            config, run_dir, writes=world.is_main, local_rank=world.local_rank if world.is_distributed else None,
            rank_threads=threads_per_rank(world.local_world_size) if world.is_distributed else None)
        self.run_dir = self.session.run_dir
        self.device = self.session.device
        self.session.acquire()  # one trainer per run directory: before anything in it is read or written
        try:
            self.checkpoints = CheckpointManager(self.run_dir, config.training.keep_checkpoints)
            payload, self.resumed_from = self._load_resume(point)
            self._last_saved = -1  # timesteps of the last checkpoint this run has on disk
            self.session.setup()
            if world.is_distributed:
                self._warn_oversubscribed()
            self._build(callbacks)
            if payload is not None:
                self._restore(payload)
            threads = self.session.threads
            self.metrics.log_config(self.config, self.counters.timesteps, extra={
                "threads.torch": threads.torch_threads, "threads.interop": threads.interop_threads,
                "threads.omp_wait_policy": threads.wait_policy} if threads is not None else None)
            if not world.is_main:
                seed_everything(world.rank_seed(config.training.seed))  # its own rollouts after rank 0's weights
        except BaseException:
            self.close()
            raise

    def _load_resume(self, point: ResumePoint | None) -> tuple[dict[str, Any] | None, Path | None]:
        if point is None:
            return None, None
        path = point.checkpoint()
        payload = load_checkpoint(path, map_location="cpu")
        check_resumable(payload, self.config, path, needed=("env_state", *resume_keys(self.config)))
        return payload, path

    def _build(self, callbacks: Sequence[Callback]) -> None:
        cfg, t = self.config, self.config.training
        self.counters = Counters()
        self.metrics = MetricsManager(cfg, self.run_dir, self.counters)
        self.checkpoints.metrics = self.metrics
        self.display = DisplayManager(cfg.display) if self.world.is_main else SilentDisplay(cfg.display)
        self.models = ModelManager(cfg, self.device, self.world if self.world.is_distributed else None)
        self.net_time = Stopwatch()
        self.weights = ModelWeightManager(cfg.evaluation.weight_cache_entries, cfg.evaluation.weight_cache_bytes)
        self.publisher = WeightPublisher(self.models.model, cfg.model, self.counters, self.weights)
        self.collector: Collector = build_collector(cfg, self.models.model, self.device, self.counters,
                                                    self.net_time, env_seed=self.world.rank_seed(t.seed),
                                                    run_dir=self.run_dir)
        self.publisher.add_listener(self.collector.on_publish)
        self.publisher.sync_source = self.collector.sync_state
        if cfg.parallel.enabled:  # the collector set the learner's threads to what the workers leave
            self.session.threads = effective_thread_settings()
        self.stop = (AgreedStop(self.world, t.total_timesteps, t.max_wall_seconds) if self.world.is_distributed
                     else StopControl(t.total_timesteps, t.max_wall_seconds))
        self.callbacks = CallbackManager(self.metrics)
        if self.world.is_main:  # rank 0 alone writes checkpoints
            self.callbacks.add(CheckpointCallback(t.checkpoint_interval_timesteps, self.save_checkpoint))
        if self.world.is_main and cfg.logging.live_state:  # the dashboard's live view (rank 0 writes)
            self.live = LiveState(self.run_dir, every_s=cfg.logging.live_every_seconds, num_games=cfg.logging.live_games,
                                  algorithm=t.algorithm, model=self.models.model, device=self.device)
            if hasattr(self.collector, "attach_live"):
                self.collector.attach_live(self.live)
            self.callbacks.add(LiveStateCallback(self.live, t.total_timesteps, t.max_wall_seconds))
        for callback in callbacks:
            self.callbacks.add(callback)
        self.ctx = CallbackContext(config=cfg, run_dir=self.run_dir, device=self.device, model=self.models.model,
                                   metrics=self.metrics, display=self.display, checkpoints=self.checkpoints,
                                   counters=self.counters, publisher=self.publisher)
        self.loop = TrainingLoop(cfg, collector=self.collector, learner=self.models.learner,
                                 publisher=self.publisher, counters=self.counters, stop=self.stop,
                                 callbacks=self.callbacks, ctx=self.ctx, metrics=self.metrics, display=self.display,
                                 recorder=GameRecorder(cfg.logging, cfg.env, self.run_dir, self.metrics),
                                 net_time=self.net_time, world=self.world,
                                 publish_every=cfg.parallel.sync_interval_updates if cfg.parallel.enabled else 0)

    def _restore(self, payload: dict[str, Any]) -> None:
        path = self.resumed_from
        self.models.restore(payload, path)
        try:
            if payload["env_state"] is None:  # saved by a parallel run: the games restart (statistical resume)
                logger.info("the checkpoint holds no env games (actor processes or search self-play); "
                            "starting fresh games")
            else:
                self.collector.load_state_dict(payload["env_state"])
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(path, f"env_state cannot be restored: {exc}") from exc
        c = payload["counters"]
        self.counters.restore(c)
        if payload.get("world_size", 1) != self.world.world_size:
            self.models.replan(c, self.world.world_size)
        self._last_saved = c["timesteps"]
        restore_rng_state(payload["rng"])  # last: building the model and env above consumed randomness
        logger.info("resumed from %s at %d timesteps (%d updates)", path, c["timesteps"], c["updates"])

    def _warn_oversubscribed(self) -> None:
        """torchrun: an explicit training.torch_threads larger than this rank's share of the node's cores."""
        asked, fair = self.config.training.torch_threads, threads_per_rank(self.world.local_world_size)
        too_many = asked != "auto" and ((asked == 0 and self.world.local_world_size > 1) or asked > fair)
        if too_many and self.world.local_rank == 0:
            logger.warning("training.torch_threads=%s on each of %d ranks oversubscribes this node's cores "
                           "(%d per rank would fit; auto chooses that)", asked, self.world.local_world_size, fair)

    def _share_start_state(self) -> None:
        """torchrun: every rank continues from rank 0's weights, learner state and counters (whether rank 0
        starts fresh, resumed or --init-from), so all ranks are identical before the first rollout."""
        if self.world.is_distributed:
            state = self.models.payload(self.counters.as_dict(), {}) if self.world.is_main else None
            state = self.world.broadcast_object(state, "sharing rank 0's weights")
            if not self.world.is_main:
                self.models.restore(state, Path(f"<rank 0 state of {self.run_dir.name}>"))
                self.counters.restore(state["counters"])
            self.models.replan(self.counters.as_dict(), self.world.world_size)  # one LR horizon on every rank
        self._debug_dump("start")

    def _debug_dump(self, name: str, **extra: Any) -> None:
        def fields() -> dict[str, Any]:
            c = self.counters
            return {"sha256": tensors_sha256(self.models.payload(c.as_dict(), {})["model_state"]),
                    "torch_threads": torch.get_num_threads(), "env_seed": self.world.rank_seed(self.config.training.seed),
                    **c.as_dict(), **extra}
        debug_dump(self.world, name, fields)

    def request_stop(self, reason: str = "stop requested") -> None:
        """Finish the current update, save a checkpoint and return from run() (safe from signal handlers)."""
        self.stop.request(reason)

    def save_checkpoint(self) -> Path:
        """Write a full-resume checkpoint (weights, learner, env games, RNG, counters) for the current step."""
        extra = {"env_state": self.collector.state_dict(), "rng": capture_rng_state(),
                 "world_size": self.world.world_size}
        path = self.checkpoints.save(self.models.payload(self.counters.as_dict(), extra), self.counters.timesteps)
        self._last_saved = self.counters.timesteps
        return path

    def close(self) -> None:
        """Stop the display, close loggers, undo session settings (idempotent; run() calls it)."""
        if hasattr(self, "collector"):
            self.collector.close()
        if hasattr(self, "display"):
            self.display.stop()
        if hasattr(self, "metrics"):
            self.metrics.close()
        self.session.close()

    def run(self) -> TrainingSummary:
        """Train until a stop condition, save the final checkpoint, close loggers; returns a summary."""
        try:
            self._share_start_state()
            reason = self.loop.run()
            self.world.barrier("the final checkpoint")
            if self.world.is_main and self._last_saved != self.counters.timesteps:
                self.save_checkpoint()
            self._debug_dump("end", stop_reason=reason)
        except DurableWriteError as exc:  # fatal: training on would lose everything after the last good save
            latest = self.checkpoints.latest()
            fatal = exc.with_note(f"training stopped at {self.counters.timesteps:,} steps; latest checkpoint: "
                                  f"{latest.name if latest else 'none'}")
            logger.error("training stopped: %s", fatal, extra={"console": False})  # the CLI prints it once
            raise fatal from exc
        finally:
            self.close()
        c = self.counters
        return TrainingSummary(run_dir=self.run_dir, timesteps=c.timesteps, updates=c.updates, games=c.games,
                               seconds=self.stop.elapsed(), sps=self.loop.sps(), network_seconds=self.net_time.seconds,
                               stop_reason=reason, last_checkpoint=self.checkpoints.latest())
