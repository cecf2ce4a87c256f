"""TrainingLoop: collect -> learn -> (publish) -> metrics -> callbacks, until StopControl says stop.

The loop knows a Collector and a Learner by their seams only (keisei.training.collector, keisei.rl.learner):
not which algorithm runs, nor in how many processes the experience is made. Progress lives in the one
Counters object, which callbacks (through CallbackContext) and metrics read at call time.
"""

from __future__ import annotations

import logging

from keisei.config import KeiseiConfig
from keisei.rl import Learner
from keisei.run.callbacks import CallbackContext, CallbackManager
from keisei.run.counters import Counters
from keisei.run.metrics import MetricsManager
from keisei.run.timing import Stopwatch
from keisei.training.collector import Collector
from keisei.training.display import DisplayManager, Progress
from keisei.training.distributed import World
from keisei.training.game_recorder import GameRecorder
from keisei.training.game_stats import GameStats
from keisei.training.publisher import WeightPublisher
from keisei.training.stop import StopControl

logger = logging.getLogger(__name__)


class TrainingLoop:
    """Runs iterations; one iteration = one batch from the collector and one learner update.

    ``publish_every`` > 0 publishes a weight snapshot after every that many updates (parallel runs: the
    collector sends it to its actors); 0 publishes only on demand (``publisher.current()``).
    ``world`` (torchrun): the counters advance by the steps and games of every rank.
    """

    def __init__(self, config: KeiseiConfig, *, collector: Collector, learner: Learner, publisher: WeightPublisher,
                 counters: Counters, stop: StopControl, callbacks: CallbackManager, ctx: CallbackContext,
                 metrics: MetricsManager, display: DisplayManager, recorder: GameRecorder, net_time: Stopwatch,
                 publish_every: int = 0, world: World | None = None) -> None:
        self.config = config
        self.collector = collector
        self.learner = learner
        self.publisher = publisher
        self.counters = counters
        self.stop = stop
        self.callbacks = callbacks
        self.ctx = ctx
        self.metrics = metrics
        self.display = display
        self.recorder = recorder
        self.net_time = net_time
        self.publish_every = publish_every
        self.world = world or World.single()
        self.stats = GameStats()
        self.session_steps = 0

    def run(self) -> str:
        """Loop until a stop condition; returns the reason. Callback hooks start/end bracket the loop."""
        self.stop.start()
        self.counters.prev_timesteps = self.counters.timesteps
        self.display.start(self.stop.total_timesteps)
        if self.publish_every:
            self.publisher.current()  # actors start from the run's starting version
        self.callbacks.on_training_start(self.ctx)
        while (reason := self.stop.reason(self.counters.timesteps)) is None:
            self.iteration()
        logger.info("training stopped: %s", reason)
        self.callbacks.on_training_end(self.ctx)
        return reason

    def sps(self) -> float:
        return self.session_steps / max(self.stop.elapsed(), 1e-9)

    def iteration(self) -> dict[str, float]:
        """One batch and one learner update; returns the metrics logged for it."""
        c = self.counters
        collected = self.collector.collect()
        self.recorder.record(collected.finished, c.games)
        for game in collected.finished:
            self.stats.add(game)
        steps, games = self.world.sum_counts(collected.steps, len(collected.finished))
        c.prev_timesteps = c.timesteps
        c.timesteps += steps
        c.games += games
        self.session_steps += steps
        self.callbacks.on_rollout_end(self.ctx)
        with self.net_time.time():
            losses = self.learner.learn(collected.batch)
        c.updates += 1
        c.model_version = c.updates
        if self.publish_every and c.updates % self.publish_every == 0:
            self.publisher.publish()
        logged = self._log({**losses, **collected.stats})
        self.callbacks.on_update_end(self.ctx)
        return logged

    def _log(self, losses: dict[str, float]) -> dict[str, float]:
        c = self.counters
        values = dict(losses)
        values["charts/SPS"] = self.sps()
        values["games/finished"] = c.games
        if c.updates % self.config.logging.log_interval_updates == 0:
            values.update(self.stats.summary())
            self.metrics.log_dict(values, c.timesteps)
        wall = self.stop.max_wall_seconds
        progress = Progress(timesteps=c.timesteps, total_timesteps=self.stop.total_timesteps, updates=c.updates,
                            games=c.games, sps=values["charts/SPS"],
                            wall_left=wall - self.stop.elapsed() if wall > 0 else None,
                            wall_total=wall if wall > 0 else None)
        self.display.update(progress, values)
        return values
