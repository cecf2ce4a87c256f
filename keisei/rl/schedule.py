"""Learning-rate multipliers over a horizon counted in optimizer steps."""

from __future__ import annotations

import math
from collections.abc import Callable


def lr_lambda(schedule: str, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the base LR after `step` optimizer steps; linear/cosine reach 0 at total_steps and stay."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if schedule == "constant":
        return lambda step: 1.0
    if schedule == "linear":
        return lambda step: max(0.0, 1.0 - step / total_steps)
    if schedule == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    raise ValueError(f"unknown lr_schedule {schedule!r}; choose constant, linear or cosine")
