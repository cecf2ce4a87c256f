"""StopControl: when training ends (timestep budget, wall-clock limit, or an external request such as SIGTERM)."""

from __future__ import annotations

import time


class StopControl:
    """Checked between updates; `request(reason)` may be called from a signal handler."""

    def __init__(self, total_timesteps: int, max_wall_seconds: float) -> None:
        self.total_timesteps = total_timesteps
        self.max_wall_seconds = max_wall_seconds
        self.requested: str | None = None
        self.started = time.monotonic()

    def start(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def request(self, reason: str = "stop requested") -> None:
        self.requested = reason

    def reason(self, timesteps: int) -> str | None:
        """Why training should stop now, or None to continue."""
        if self.requested:
            return self.requested
        if timesteps >= self.total_timesteps:
            return "training.total_timesteps reached"
        if self.max_wall_seconds > 0 and self.elapsed() >= self.max_wall_seconds:
            return "training.max_wall_seconds elapsed"
        return None
