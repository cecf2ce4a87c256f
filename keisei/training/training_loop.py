"""TrainingLoopManager: rollout -> returns -> PPO update -> metrics -> callbacks, until StopControl says stop."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from keisei.config import KeiseiConfig
from keisei.rl import PPOLearner, RolloutBuffer
from keisei.training.callbacks import CallbackContext, CallbackManager
from keisei.training.display import DisplayManager, Progress
from keisei.training.game_recorder import GameRecorder
from keisei.training.game_stats import GameStats
from keisei.training.metrics import MetricsManager
from keisei.training.step_manager import StepManager, material_coef
from keisei.training.stop import StopControl
from keisei.training.timing import Stopwatch

logger = logging.getLogger(__name__)


@dataclass
class Counters:
    """Run-wide progress; model_version is the number of updates."""

    timesteps: int = 0
    updates: int = 0
    games: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class LoopParts:
    """The collaborators one training loop drives (built and owned by the Trainer)."""

    steps: StepManager
    buffer: RolloutBuffer
    learner: PPOLearner
    callbacks: CallbackManager
    ctx: CallbackContext
    metrics: MetricsManager
    display: DisplayManager
    recorder: GameRecorder
    net_time: Stopwatch


class TrainingLoopManager:
    """Runs iterations and keeps counters, game statistics and the callback context in step."""

    def __init__(self, config: KeiseiConfig, parts: LoopParts, counters: Counters, stop: StopControl) -> None:
        self.config = config
        self.p = parts
        self.counters = counters
        self.stop = stop
        self.stats = GameStats()
        self.session_steps = 0

    def run(self) -> str:
        """Loop until a stop condition; returns the reason. Callback hooks start/end bracket the loop."""
        self.stop.start()
        self._sync(self.counters.timesteps)
        self.p.display.start(self.stop.total_timesteps)
        self.p.callbacks.on_training_start(self.p.ctx)
        while (reason := self.stop.reason(self.counters.timesteps)) is None:
            self.iteration()
        logger.info("training stopped: %s", reason)
        self.p.callbacks.on_training_end(self.p.ctx)
        return reason

    def sps(self) -> float:
        return self.session_steps / max(self.stop.elapsed(), 1e-9)

    def iteration(self) -> dict[str, float]:
        """One rollout and one PPO update; returns the metrics logged for it."""
        p, c, t = self.p, self.counters, self.config.training
        prev = c.timesteps
        rollout = p.steps.collect(p.buffer, material_coef(t.material_reward_coef, t.material_anneal_timesteps, prev))
        p.recorder.record(rollout.finished, c.games)
        for game in rollout.finished:
            self.stats.add(game)
        c.timesteps += rollout.steps
        c.games += len(rollout.finished)
        self.session_steps += rollout.steps
        self._sync(prev)
        p.callbacks.on_rollout_end(p.ctx)
        p.buffer.compute_returns(rollout.next_values.clone(), t.gamma, t.gae_lambda)
        with p.net_time.time():
            losses = p.learner.update(p.buffer)
        c.updates += 1
        self._sync(prev)
        logged = self._log(losses)
        p.callbacks.on_update_end(p.ctx)
        return logged

    def _sync(self, prev: int) -> None:
        ctx, c = self.p.ctx, self.counters
        ctx.prev_timesteps, ctx.timesteps, ctx.updates, ctx.games = prev, c.timesteps, c.updates, c.games
        ctx.model_version = c.updates
        self.p.metrics.set_step(c.timesteps)

    def _log(self, losses: dict[str, float]) -> dict[str, float]:
        c = self.counters
        values = dict(losses)
        values["charts/SPS"] = self.sps()
        values["games/finished"] = c.games
        if c.updates % self.config.logging.log_interval_updates == 0:
            values.update(self.stats.summary())
            self.p.metrics.log_dict(values, c.timesteps)
        wall = self.stop.max_wall_seconds
        progress = Progress(timesteps=c.timesteps, total_timesteps=self.stop.total_timesteps, updates=c.updates,
                            games=c.games, sps=values["charts/SPS"],
                            wall_left=wall - self.stop.elapsed() if wall > 0 else None)
        self.p.display.update(progress, values)
        return values
