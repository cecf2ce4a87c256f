"""Learners and the collectors that feed them: one registry entry per ``training.algorithm``.

An :class:`Algorithm` says how to build its Learner (keisei.rl.learner) and its in-process Collector, what its
actor processes play (a ``SegmentKind`` for keisei.training.parallel), which checkpoint keys hold its state and
how its schedule is re-planned when a resume changes the world size. The Trainer, the loop, the actor
transport and torchrun know nothing else of it. A new learner is new files plus one line in ``ALGORITHMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keisei.config import ConfigError, KeiseiConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

    from keisei.rl import GradientSync, Learner
    from keisei.run.counters import Counters
    from keisei.run.timing import Stopwatch
    from keisei.training.collector import Collector
    from keisei.training.parallel.segments import SegmentKind

#: training.algorithm -> "module:attribute" of its Algorithm (imported when chosen)
ALGORITHMS: dict[str, str] = {
    "ppo": "keisei.training.algorithms.ppo:PPO",
    "alphazero": "keisei.training.algorithms.alphazero:ALPHAZERO",
}


@dataclass(frozen=True)
class Algorithm:
    name: str
    #: checkpoint payload keys its learner owns (checked before a resume starts)
    checkpoint_keys: tuple[str, ...]
    #: (config, model, device, grad_sync) -> Learner; grad_sync joins data-parallel ranks (None: alone)
    build_learner: Callable[[KeiseiConfig, nn.Module, torch.device, GradientSync | None], Learner]
    #: (config, model, device, counters, net_time, env_seed, run_dir=) -> the in-process Collector
    in_process_collector: Callable[..., Collector]
    #: (config, run_dir) -> what actor processes play (parallel.enabled)
    segments: Callable[[KeiseiConfig, Path | None], SegmentKind]
    #: env steps one rank collects per update
    steps_per_update: Callable[[KeiseiConfig], int]
    #: (learner, config, counters, world_size): point the learner's schedule at the run's end from where it
    #: stands (a resume at another world size changes the global batch)
    replan: Callable[[Any, KeiseiConfig, dict[str, int], int], None]


def algorithm(config: KeiseiConfig) -> Algorithm:
    """The registered Algorithm of ``config.training.algorithm``."""
    name = config.training.algorithm
    if name not in ALGORITHMS:
        raise ConfigError(f"training.algorithm: unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    module, attr = ALGORITHMS[name].split(":")
    return getattr(import_module(module), attr)


def build_collector(config: KeiseiConfig, model: nn.Module, device: torch.device, counters: Counters,
                    net_time: Stopwatch, env_seed: int | None = None, run_dir: Path | None = None) -> Collector:
    """The algorithm's in-process Collector, or the actor processes' ParallelCollector when parallel.enabled.
    ``run_dir``: the run's directory (a collector that writes its experience to disk writes it there)."""
    algo = algorithm(config)
    if config.parallel.enabled:
        from keisei.training.parallel import ParallelCollector

        return ParallelCollector(config, model, device, counters, net_time, env_seed, kind=algo.segments(config, run_dir))
    return algo.in_process_collector(config, model, device, counters, net_time, env_seed, run_dir=run_dir)
