"""The callback interface the Trainer exposes (see docs/CONTRACTS.md): hooks, context, interval crossing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from keisei.errors import DurableWriteError
from keisei.run.counters import Counters

if TYPE_CHECKING:
    import torch
    from torch import nn

    from keisei.config import KeiseiConfig
    from keisei.run.checkpoints import CheckpointManager

logger = logging.getLogger(__name__)

HOOKS = ("on_training_start", "on_rollout_end", "on_update_end", "on_training_end")


def crossed(prev: int, now: int, interval: int) -> bool:
    """True when the counter moved from `prev` to `now` across a multiple of `interval`."""
    if interval <= 0:
        raise ValueError(f"callback interval must be > 0, got {interval}")
    return prev // interval < now // interval


class MetricsSink(Protocol):
    def log_scalar(self, tag: str, value: float, step: int) -> None: ...

    def increment(self, name: str, n: int = 1) -> None: ...


class DisplaySink(Protocol):
    def set_status(self, key: str, text: str) -> None: ...


def _counter(name: str) -> property:
    """A context attribute that reads and writes the run's Counters (no copy to keep in step)."""

    def get(self: CallbackContext) -> int:
        return getattr(self.counters, name)

    def set_(self: CallbackContext, value: int) -> None:
        setattr(self.counters, name, int(value))

    return property(get, set_, doc=f"counters.{name}, read at call time")


@dataclass
class CallbackContext:
    """What callbacks may read and touch.

    ``timesteps``, ``prev_timesteps``, ``updates``, ``games`` and ``model_version`` are views of ``counters``
    (the Trainer's one Counters object). ``publisher`` (keisei.training.publisher.WeightPublisher, None outside a
    Trainer) hands out published weight snapshots: callbacks that need the agent's weights take one from it
    instead of reading the live model.
    """

    config: KeiseiConfig
    run_dir: Path
    device: torch.device
    model: nn.Module
    metrics: MetricsSink
    display: DisplaySink
    checkpoints: CheckpointManager
    counters: Counters = field(default_factory=Counters)
    publisher: Any = None

    timesteps = _counter("timesteps")
    prev_timesteps = _counter("prev_timesteps")
    updates = _counter("updates")
    games = _counter("games")
    model_version = _counter("model_version")


class Callback:
    """Base class: override the hooks you need; each is called with the shared CallbackContext."""

    def on_training_start(self, ctx: CallbackContext) -> None:
        """Called once before the first rollout."""

    def on_rollout_end(self, ctx: CallbackContext) -> None:
        """Called after each rollout, before the update."""

    def on_update_end(self, ctx: CallbackContext) -> None:
        """Called after each PPO update (counters already advanced)."""

    def on_training_end(self, ctx: CallbackContext) -> None:
        """Called once when training stops, before the final checkpoint."""


class CallbackManager:
    """Calls every registered callback's hook; failures are logged with traceback and counted, not raised
    (except DurableWriteError: a durable file that cannot be written stops training)."""

    def __init__(self, metrics: MetricsSink, callbacks: list[Callback] | None = None) -> None:
        self.metrics = metrics
        self.callbacks: list[Callback] = list(callbacks or [])
        self.errors = 0

    def add(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def call(self, hook: str, ctx: CallbackContext) -> None:
        if hook not in HOOKS:
            raise ValueError(f"unknown callback hook {hook!r}; expected one of {', '.join(HOOKS)}")
        for cb in self.callbacks:
            try:
                getattr(cb, hook)(ctx)
            except DurableWriteError:
                raise  # a checkpoint or another durable file could not be written: fatal, see Trainer.run
            except Exception:
                self.errors += 1
                logger.exception("callback %s.%s failed at timestep %d", type(cb).__name__, hook, ctx.timesteps)
                self.metrics.increment("callbacks/errors")

    def on_training_start(self, ctx: CallbackContext) -> None:
        self.call("on_training_start", ctx)

    def on_rollout_end(self, ctx: CallbackContext) -> None:
        self.call("on_rollout_end", ctx)

    def on_update_end(self, ctx: CallbackContext) -> None:
        self.call("on_update_end", ctx)

    def on_training_end(self, ctx: CallbackContext) -> None:
        self.call("on_training_end", ctx)

