"""Parallel self-play: actor processes streaming trajectories to the learner through shared memory.

``ParallelCollector`` (the Collector the Trainer builds when ``parallel.enabled``) over a ``ParallelManager``
(worker processes, shared WeightBoard and SegmentSlots, health checks and restarts). See docs/CONTRACTS.md.
Names are imported lazily, so the CLI (``keisei bench parallel``'s registration) and the spawned workers do
not pay for what they do not use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"ParallelCollector": "collector", "ParallelError": "manager", "ParallelManager": "manager",
            "split_envs": "manager"}

__all__ = ["ParallelCollector", "ParallelError", "ParallelManager", "split_envs"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
