"""Parallel self-play: actor processes streaming trajectories to the learner through shared memory.

``ParallelCollector`` (the Collector the Trainer builds when ``parallel.enabled``) over a ``ParallelManager``
(worker processes, shared WeightBoard and SegmentSlots, health checks and restarts). See docs/CONTRACTS.md.
"""

from keisei.training.parallel.collector import ParallelCollector
from keisei.training.parallel.manager import ParallelError, ParallelManager, split_envs

__all__ = ["ParallelCollector", "ParallelError", "ParallelManager", "split_envs"]
